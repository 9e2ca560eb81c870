/**
 * The walkthrough's example copying, without VS Code: where the bundled Decoy MNIST example
 * goes in a workspace folder, and the copy itself. Kept free of `vscode` imports so mocha
 * tests load it directly (client/src/walkthrough.ts does the asking and opening).
 *
 * Rules: the example is copied, never linked (the extension folder is read-only and replaced
 * on update); nothing in the workspace is ever overwritten (an existing `decoy-mnist/` with
 * the same experiment file is reused, one that differs gets `decoy-mnist-2/` and so on).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const EXAMPLE = {
  /** Folder name under the extension's `examples/`, and the default folder name in the workspace. */
  name: 'decoy-mnist',
  /** The file the walkthrough opens. */
  entry: 'cyborg.sgt',
} as const;

const MAX_SUFFIX = 99;

export interface ExampleTarget {
  /** Absolute folder the example lives in after copying. */
  dir: string;
  /** True when `dir` already holds this example unchanged: nothing is copied, the file is just opened. */
  reuse: boolean;
}

/**
 * Where to put the example under `base`: `<base>/decoy-mnist`, or the first free
 * `<base>/decoy-mnist-N` when that exists and holds something else.
 */
export function exampleTarget(base: string, source: string): ExampleTarget {
  const entry = readOrUndefined(path.join(source, EXAMPLE.entry));
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const dir = path.join(base, n === 1 ? EXAMPLE.name : `${EXAMPLE.name}-${n}`);
    if (!fs.existsSync(dir)) return { dir, reuse: false };
    const existing = readOrUndefined(path.join(dir, EXAMPLE.entry));
    if (entry !== undefined && existing !== undefined && existing.equals(entry)) return { dir, reuse: true };
  }
  throw new Error(`${base} already has ${MAX_SUFFIX} ${EXAMPLE.name} folders; remove some or pick another folder`);
}

/**
 * Copies every file of `source` (recursively) into `dest`, creating folders, never
 * overwriting a file that exists. Returns the copied files relative to `dest`, sorted.
 */
export function copyExample(source: string, dest: string): string[] {
  const copied: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(source, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        const to = path.join(dest, r);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        // COPYFILE_EXCL: a file created since exampleTarget looked is kept, not replaced
        try {
          fs.copyFileSync(path.join(source, r), to, fs.constants.COPYFILE_EXCL);
          copied.push(r.split(path.sep).join('/'));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
    }
  };
  walk('');
  return copied.sort();
}

/**
 * Where the example's experiment file is in a set of workspace folders: the one remembered
 * from the last copy when it still exists, else `<folder>/decoy-mnist[-N]/cyborg.sgt` in the first
 * folder that has one (the most recently changed when there are several).
 */
export function findExampleFile(folders: readonly string[], remembered?: string): string | undefined {
  if (remembered && fs.existsSync(remembered)) return remembered;
  for (const folder of folders) {
    const candidates = safeReaddir(folder)
      .filter((e) => e.isDirectory() && (e.name === EXAMPLE.name || e.name.startsWith(`${EXAMPLE.name}-`)))
      .map((e) => path.join(folder, e.name, EXAMPLE.entry))
      .filter((f) => fs.existsSync(f))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    if (candidates.length) return candidates[0];
  }
  return undefined;
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
