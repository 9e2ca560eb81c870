/**
 * Regenerates the parts of docs/dsl.md that are derived from code: the key
 * reference (from the schema) and the table of diagnostic codes. Hand-written
 * text lives outside the markers and is kept as is.
 *
 *   npx tsx scripts/gen-dsl-docs.ts          rewrite docs/dsl.md
 *   npx tsx scripts/gen-dsl-docs.ts --check  exit 1 when it is out of date
 *
 * test/dsl/docs.test.ts fails when the committed file is out of date.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIAGNOSTIC_CODES } from '../server/src/dsl/diagnostics';
import { DIMENSION_KEYS } from '../server/src/dsl/validate';
import { ARCHITECTURES, EXPERIMENT_SCHEMA, type Applicability, type BlockSchema, type CallVariant, type KeySchema, type ValueType, describeType } from '../server/src/dsl/schema';

export const DOC_PATH = path.resolve(__dirname, '..', 'docs', 'dsl.md');

const REGIONS = {
  schema: schemaReference,
  codes: diagnosticCodeTable,
} as const;

/** Returns `doc` with every generated region replaced by freshly generated text. */
export function updateDocs(doc: string): string {
  for (const [name, generate] of Object.entries(REGIONS)) {
    const begin = `<!-- ${name}:begin -->`;
    const end = `<!-- ${name}:end -->`;
    const i = doc.indexOf(begin);
    const j = doc.indexOf(end);
    if (i < 0 || j < i) throw new Error(`docs/dsl.md lacks the markers ${begin} … ${end}`);
    doc = doc.slice(0, i + begin.length) + '\n' + generate() + '\n' + doc.slice(j);
  }
  return doc;
}

// ---- the key reference -------------------------------------------------------------------


export function schemaReference(): string {
  const out: string[] = [];
  out.push('### Experiment', '', EXPERIMENT_SCHEMA.doc, '');
  out.push(...keyList(EXPERIMENT_SCHEMA, ''));
  for (const [name, block] of Object.entries(EXPERIMENT_SCHEMA.blocks ?? {})) {
    out.push('', `### \`${name} { … }\``, '', block.doc, '');
    out.push(...keyList(block, ''));
  }
  out.push('', '### Architectures', '', '| `arch` | Engines | Smallest `image_size` | CAM (global pool + linear head) | `layer = mid` | `layer = final` |', '|---|---|---|---|---|---|');
  for (const [name, a] of Object.entries(ARCHITECTURES)) {
    out.push(`| \`${name}\` | ${a.engines.join(', ')} | ${a.minImageSize} px | ${a.gapLinearHead ? 'yes' : 'no'} | ${a.layers.mid} | ${a.layers.final} |`);
  }
  return out.join('\n');
}

function keyList(block: BlockSchema, indent: string): string[] {
  const out: string[] = [];
  for (const [key, k] of Object.entries(block.keys)) out.push(...keyItem(key, k, indent));
  return out;
}

function keyItem(key: string, k: KeySchema, indent: string): string[] {
  const facts = [typeText(k.type)];
  if (k.required) facts.push('**required**');
  const def = defaultText(k);
  if (def) facts.push(`default ${def}`);
  const out = [`${indent}- **\`${key}\`** — ${facts.join(', ')}.${k.appliesTo ? ' ' + appliesText(k.appliesTo) : ''}`];
  out.push(`${indent}  ${k.doc}`);
  out.push(...valueList(k.type, indent + '  '));
  return out;
}

function defaultText(k: KeySchema): string | undefined {
  if (typeof k.default === 'string') return '`' + k.default + '`';
  if (k.default) return k.defaultDoc ?? 'depends on other settings';
  return undefined;
}

function appliesText(a: Applicability): string {
  const parts = (Object.entries(a) as [keyof Applicability, readonly string[]][]).map(([dim, values]) => {
    const shown = values.map((v) => '`' + (dim === 'source' ? `${v}(…)` : v) + '`').join(', ');
    return `\`${DIMENSION_KEYS[dim]}\` is ${values.length > 1 ? 'one of ' : ''}${shown}`;
  });
  return `Only applies when ${parts.join(' and ')}.`;
}

function typeText(t: ValueType): string {
  switch (t.type) {
    case 'enum':
      return 'one of the values below';
    case 'call':
      return 'one of ' + Object.entries(t.variants).map(([n, v]) => '`' + shortSignature(n, v) + '`').join(', ');
    case 'list':
      return t.item.type === 'enum' ? `list of the values below (\`[a, b]\`${t.unique ? ', no repeats' : ''})` : describeType(t);
    default:
      return describeType(t);
  }
}

function shortSignature(name: string, v: CallVariant): string {
  return name + (v.args ? `(${v.args.map((a) => a.name).join(', ')})` : '') + (v.options ? ' { … }' : '');
}

/** Allowed values (enums, enum lists) or call variants with their arguments and options. */
function valueList(t: ValueType, indent: string): string[] {
  const out: string[] = [];
  if (t.type === 'enum' || (t.type === 'list' && t.item.type === 'enum')) {
    const values = t.type === 'enum' ? t.values : (t.item as Extract<ValueType, { type: 'enum' }>).values;
    for (const [v, doc] of Object.entries(values)) out.push(`${indent}- \`${v}\` — ${doc}`);
  }
  if (t.type === 'call') {
    for (const [name, v] of Object.entries(t.variants)) {
      out.push(`${indent}- \`${shortSignature(name, v)}\` — ${v.doc}`);
      for (const a of v.args ?? []) {
        out.push(`${indent}  - argument \`${a.name}\`: ${typeText(a.type)}. ${a.doc}`);
        out.push(...valueList(a.type, indent + '    '));
      }
      if (v.options) {
        out.push(`${indent}  - options:`);
        for (const [key, k] of Object.entries(v.options.keys)) out.push(...keyItem(key, k, indent + '    '));
      }
    }
  }
  return out;
}

// ---- diagnostic codes -------------------------------------------------------------------

export function diagnosticCodeTable(): string {
  const rows = Object.entries(DIAGNOSTIC_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning.replace(/\|/g, '\\|')} |`);
  return ['| Code | Meaning |', '|---|---|', ...rows].join('\n');
}

// ---- command line ---------------------------------------------------------------------------

if (require.main === module) {
  const current = fs.readFileSync(DOC_PATH, 'utf8');
  const next = updateDocs(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('docs/dsl.md is out of date: run `npx tsx scripts/gen-dsl-docs.ts`.');
      process.exit(1);
    }
  } else if (next !== current) {
    fs.writeFileSync(DOC_PATH, next);
    console.log('docs/dsl.md updated.');
  } else {
    console.log('docs/dsl.md is up to date.');
  }
}
