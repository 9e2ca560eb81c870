/**
 * File-system checks for data referenced by an experiment: does the folder
 * exist, where are the images, labels and human saliency maps, how many images
 * are annotated. Scans are cached per folder because the language server
 * validates on every keystroke; the cache is dropped when the editor reports a
 * file change (workspace/didChangeWatchedFiles) or after `maxAgeMs`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { matchBoxes, parseBoxes, type BoxProblem } from '../data/boxes';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Separates the labels of one image in labels.csv (`img.png,cat;dog`: a multi-label data set). */
export const LABEL_SEPARATOR = ';';

export interface BoxesScan {
  /** Problems of boxes.json, each with its line (capped: the first ones). */
  problems: BoxProblem[];
  /** How many problems there were in all. */
  problemCount: number;
  /** Images with at least one usable box. */
  boxedImages: number;
}

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

  /**
   * Distinct labels in a `file,label[,split]` CSV (header optional; several labels of one
   * image separated by LABEL_SEPARATOR) and whether some image has several; undefined when
   * unreadable.
   */
  csvLabels(file: string): { rows: number; labels: Set<string>; multiLabel: boolean } | undefined {
    return this.cached(`csv:${file}`, () => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
      const labels = new Set<string>();
      let rows = 0;
      let multiLabel = false;
      for (const [i, line] of text.split(/\r?\n/).entries()) {
        if (!line.trim()) continue;
        const cols = line.split(',');
        if (i === 0 && /^\s*(file|filename|image)\s*$/i.test(cols[0])) continue; // header
        rows++;
        if (cols[1] === undefined) continue;
        const own = [...new Set(cols[1].split(LABEL_SEPARATOR).map((l) => l.trim()).filter((l) => l))];
        if (own.length > 1) multiLabel = true;
        for (const l of own) labels.add(l);
      }
      return { rows, labels, multiLabel };
    });
  }

  /**
   * boxes.json checked against the images folder (data/boxes.ts: syntax, box shapes, unknown
   * images, labels that are no class, boxes outside their image by its PNG / JPEG header).
   */
  scanBoxes(file: string, imagesDir: string, labelsFile: string | undefined): BoxesScan | undefined {
    return this.cached(`boxes:${file}:${imagesDir}:${labelsFile ?? ''}`, () => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
      const parsed = parseBoxes(text);
      const csv = labelsFile ? this.csvLabels(labelsFile) : undefined;
      const scan = this.scanImages(imagesDir);
      const classes = csv ? [...csv.labels] : scan.classFolders.length ? scan.classFolders : undefined;
      const matched = matchBoxes(parsed.entries, { images: scan.images, classes, sizeOf: (f) => imageDimensions(path.join(imagesDir, f)) });
      const problems = [...parsed.problems, ...matched.problems].sort((a, b) => a.line - b.line);
      return { problems: problems.slice(0, 20), problemCount: problems.length, boxedImages: [...matched.byImage.values()].filter((b) => b.length > 0).length };
    });
  }
}

/** Width and height from a PNG's IHDR or a JPEG's SOF marker, reading only the file's start; undefined when neither. */
export function imageDimensions(file: string): { width: number; height: number } | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(65536);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n >= 24 && buf.readUInt32BE(0) === 0x89504e47 && buf.toString('latin1', 12, 16) === 'IHDR') return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
    if (n >= 4 && buf[0] === 0xff && buf[1] === 0xd8) {
      let at = 2;
      while (at + 9 < n) {
        if (buf[at] !== 0xff) return undefined;
        const marker = buf[at + 1];
        if (marker === 0xff) {
          at++;
          continue;
        }
        const len = buf.readUInt16BE(at + 2);
        // SOF0…SOF15 except DHT (C4), JPG (C8), DAC (CC)
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { width: buf.readUInt16BE(at + 7), height: buf.readUInt16BE(at + 5) };
        at += 2 + len;
      }
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
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
