/**
 * Loads modules other engineers are still writing (the language server's
 * completion, the formatter) when they exist, so the benchmark measures the
 * real code as soon as it lands and says what it measured otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

/** The module's exports, or undefined when the file does not exist yet. */
export async function loadOptional(rel: string): Promise<Record<string, unknown> | undefined> {
  const abs = path.join(root, rel);
  if (!fs.existsSync(abs)) return undefined;
  return (await import(abs)) as Record<string, unknown>;
}

/** The first exported function among `names`. */
export function pickFunction(mod: Record<string, unknown> | undefined, names: string[]): { name: string; fn: (...args: unknown[]) => unknown } | undefined {
  for (const name of names) {
    const fn = mod?.[name];
    if (typeof fn === 'function') return { name, fn: fn as (...args: unknown[]) => unknown };
  }
  return undefined;
}
