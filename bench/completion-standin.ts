/**
 * What completion has to do, for when the language server's own completion
 * handler is not available to the benchmark: work out what the cursor is on
 * (with `contextAt` from server/src/dsl/cursor.ts when it exists, else a
 * minimal block-path walk), then list the schema's candidates there — unset
 * keys of the block, or the allowed values of the key — with type and docs.
 */
import type { Block, SgtFile } from '../server/src/dsl/ast';
import { blockSchemaAt, describeType, keySchemaAt } from '../server/src/dsl/schema';

export interface Item {
  label: string;
  detail: string;
  documentation: string;
}

/** The parts of `contextAt`'s answer that completion uses. */
export type ContextAt = (
  file: SgtFile,
  text: string,
  offset: number,
) => { kind: string; blockPath?: string[]; block?: Block; keyPath?: string };

export function complete(file: SgtFile, text: string, offset: number, contextAt?: ContextAt): Item[] {
  const ctx = contextAt ? contextAt(file, text, offset) : { kind: 'key', ...blockPathAt(file, offset) };
  // no filtering by the typed prefix: the editor does that on its side
  if (ctx.kind === 'key' && ctx.blockPath && ctx.block) return keyItems(ctx.blockPath, ctx.block, offset);
  if (ctx.kind === 'value' && ctx.keyPath) return valueItems(ctx.keyPath);
  return [];
}

/** The block's keys and sub-blocks, except those already written elsewhere in it. */
function keyItems(blockPath: string[], block: Block, offset: number): Item[] {
  const schema = blockSchemaAt(blockPath);
  if (!schema) return [];
  const set = new Set(block.entries.filter((e) => offset < e.key.start || offset > e.key.end).map((e) => e.key.name));
  const items: Item[] = [];
  for (const [label, key] of Object.entries(schema.keys)) {
    if (!set.has(label)) items.push({ label, detail: describeType(key.type), documentation: key.doc });
  }
  for (const [label, sub] of Object.entries(schema.blocks ?? {})) {
    if (!set.has(label)) items.push({ label, detail: 'block', documentation: sub.doc });
  }
  return items;
}

function valueItems(keyPath: string): Item[] {
  const t = keySchemaAt(keyPath)?.type;
  if (t?.type === 'enum') return Object.entries(t.values).map(([label, doc]) => ({ label, detail: keyPath, documentation: doc }));
  if (t?.type === 'call') return Object.entries(t.variants).map(([label, v]) => ({ label, detail: keyPath, documentation: v.doc }));
  if (t?.type === 'bool') return ['true', 'false'].map((label) => ({ label, detail: keyPath, documentation: '' }));
  return [];
}

/** The schema path of the innermost block containing `offset` (`['train', 'optimizer', 'adam']`). */
function blockPathAt(file: SgtFile, offset: number): { blockPath?: string[]; block?: Block } {
  const exp = file.experiments.find((e) => e.body.start < offset && offset <= e.body.end);
  if (!exp) return {};
  const blockPath: string[] = [];
  let block = exp.body;
  for (;;) {
    let inner: Block | undefined;
    for (const entry of block.entries) {
      if (entry.kind === 'blockEntry' && entry.block.start < offset && offset <= entry.block.end) {
        blockPath.push(entry.key.name);
        inner = entry.block;
      } else if (entry.kind === 'assignment' && entry.value?.kind === 'call' && entry.value.options && entry.value.options.start < offset && offset <= entry.value.options.end) {
        blockPath.push(entry.key.name, entry.value.callee.name);
        inner = entry.value.options;
      }
      if (inner) break;
    }
    if (!inner) return { blockPath, block };
    block = inner;
  }
}
