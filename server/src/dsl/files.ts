/**
 * File-system checks for data referenced by an experiment: does the folder
 * exist, where are the images, labels and human saliency maps, how many images
 * are annotated. Scans are cached per folder because the language server
 * validates on every keystroke; the cache is dropped when the editor reports a
 * file change (workspace/didChangeWatchedFiles) or after `maxAgeMs`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface FolderScan {
  /** Image paths relative to the images folder. */
  images: string[];
  /** Class sub-folders of the images folder, when the layout uses them. */
  classFolders: string[];
}

export interface SaliencyScan {
  /** Base names (without extension) of the saliency maps present. */
  baseNames: Set<string>;
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

export function baseName(file: string): string {
  const b = path.basename(file);
  const ext = path.extname(b);
  return ext ? b.slice(0, -ext.length) : b;
}

/** Cached, synchronous scans of data folders. One instance per language server / CLI run. */
export class DataScanner {
  private readonly cache = new Map<string, { at: number; value: unknown }>();

  constructor(private readonly maxAgeMs = 5000) {}

  invalidate(): void {
    this.cache.clear();
  }

  private cached<T>(key: string, compute: () => T): T {
    const hit = this.cache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < this.maxAgeMs) return hit.value as T;
    const value = compute();
    this.cache.set(key, { at: now, value });
    return value;
  }

  kind(p: string): 'file' | 'dir' | 'missing' {
    return this.cached(`kind:${p}`, () => {
      try {
        const st = fs.statSync(p);
        return st.isDirectory() ? 'dir' : 'file';
      } catch {
        return 'missing';
      }
    });
  }

  /** Real path (symlinks resolved) when the path exists, else the path itself. */
  realPath(p: string): string {
    return this.cached(`real:${p}`, () => {
      try {
        return fs.realpathSync(p);
      } catch {
        return p;
      }
    });
  }

  /** Images directly in `dir` or one level down (one sub-folder per class). */
  scanImages(dir: string): FolderScan {
    return this.cached(`images:${dir}`, () => {
      const images: string[] = [];
      const classFolders: string[] = [];
      for (const e of safeReaddir(dir)) {
        if (e.isDirectory()) {
          const sub = safeReaddir(path.join(dir, e.name)).filter((f) => f.isFile() && isImageFile(f.name));
          if (sub.length > 0) classFolders.push(e.name);
          for (const f of sub) images.push(`${e.name}/${f.name}`);
        } else if (e.isFile() && isImageFile(e.name)) {
          images.push(e.name);
        }
      }
      images.sort();
      classFolders.sort();
      return { images, classFolders };
    });
  }

  /** Saliency maps in `dir` (and one level down, mirroring class folders). */
  scanSaliency(dir: string): SaliencyScan {
    return this.cached(`saliency:${dir}`, () => {
      const baseNames = new Set<string>();
      for (const e of safeReaddir(dir)) {
        if (e.isDirectory()) {
          for (const f of safeReaddir(path.join(dir, e.name))) if (f.isFile() && isImageFile(f.name)) baseNames.add(baseName(f.name));
        } else if (e.isFile() && isImageFile(e.name)) {
          baseNames.add(baseName(e.name));
        }
      }
      return { baseNames };
    });
  }

  /** Distinct labels in a `file,label[,split]` CSV (header optional), or undefined when unreadable. */
  csvLabels(file: string): { rows: number; labels: Set<string> } | undefined {
    return this.cached(`csv:${file}`, () => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
      const labels = new Set<string>();
      let rows = 0;
      for (const [i, line] of text.split(/\r?\n/).entries()) {
        if (!line.trim()) continue;
        const cols = line.split(',');
        if (i === 0 && /^\s*(file|filename|image)\s*$/i.test(cols[0])) continue; // header
        rows++;
        if (cols[1] !== undefined) labels.add(cols[1].trim());
      }
      return { rows, labels };
    });
  }
}

function safeReaddir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** True when `target` lies inside `root` (or is `root`). Both must be absolute. */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
