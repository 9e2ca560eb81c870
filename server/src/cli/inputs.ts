/**
 * Turns the command line's file and directory arguments into the `.sgt` files
 * to check, read into memory. Every input is read before any is analysed, so an
 * unreadable argument fails the run (exit 2) instead of producing a partial report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, describeFsError } from './errors';

export interface SourceFile {
  /** The path as shown to the user: as given, or joined onto the directory argument it was found in. */
  display: string;
  absPath: string;
  text: string;
}

/** Directories never searched: dependencies and version-control internals. */
const SKIPPED_DIRS = new Set(['node_modules', '.git']);

export function isSgtFile(name: string): boolean {
  return name.toLowerCase().endsWith('.sgt');
}

/** Reads every file named, and every `*.sgt` file below every directory named, in a stable order. */
export function collectSources(args: readonly string[], cwd: string): SourceFile[] {
  const problems: string[] = [];
  const files: SourceFile[] = [];
  const seen = new Set<string>();
  const add = (display: string, absPath: string) => {
    if (seen.has(absPath)) return;
    seen.add(absPath);
    try {
      files.push({ display, absPath, text: stripBom(fs.readFileSync(absPath, 'utf8')) });
    } catch (err) {
      problems.push(`cannot read '${display}': ${describeFsError(err)}`);
    }
  };

  for (const arg of args) {
    const absPath = path.resolve(cwd, arg);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(absPath);
    } catch (err) {
      problems.push(`cannot read '${arg}': ${describeFsError(err)}`);
      continue;
    }
    if (!stat.isDirectory()) {
      // a file named explicitly is checked whatever its extension
      add(arg, absPath);
      continue;
    }
    const before = problems.length;
    const found = findSgtFiles(absPath, problems, arg);
    // checking nothing and passing would hide a mistyped directory in CI
    if (found.length === 0 && problems.length === before) problems.push(`no .sgt files in '${arg}'`);
    for (const rel of found) add(path.join(arg, rel), path.join(absPath, rel));
  }
  if (problems.length) throw new UsageError(problems.join('\n'));
  return files;
}

/**
 * Paths (relative to `root`, sorted) of the `*.sgt` files below it. Symbolic
 * links to files are followed; links to directories are not, so a link cycle
 * cannot make the walk endless.
 */
function findSgtFiles(root: string, problems: string[], displayRoot: string): string[] {
  const out: string[] = [];
  const pending = [''];
  while (pending.length) {
    const rel = pending.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch (err) {
      problems.push(`cannot read directory '${path.join(displayRoot, rel)}': ${describeFsError(err)}`);
      continue;
    }
    for (const e of entries) {
      const childRel = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        if (!SKIPPED_DIRS.has(e.name)) pending.push(childRel);
      } else if (isSgtFile(e.name) && (e.isFile() || (e.isSymbolicLink() && isFile(path.join(root, childRel))))) {
        out.push(childRel);
      }
    }
  }
  return out.sort();
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Editors do not show a byte-order mark, so columns are counted without it. */
function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
