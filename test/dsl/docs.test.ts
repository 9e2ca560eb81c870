import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { DOC_PATH, updateDocs } from '../../scripts/gen-dsl-docs';
import { DIAGNOSTIC_CODES } from '../../server/src/dsl/diagnostics';
import { format } from '../../server/src/dsl/format';
import { allKeyPaths } from '../../server/src/dsl/schema';
import { analyze } from '../../server/src/dsl/validate';

describe('docs/dsl.md', () => {
  const doc = fs.readFileSync(DOC_PATH, 'utf8');

  it('is up to date with the schema and the diagnostic codes', () => {
    assert.ok(updateDocs(doc) === doc, 'docs/dsl.md is out of date with the schema or DIAGNOSTIC_CODES: run `npx tsx scripts/gen-dsl-docs.ts` and commit the result.');
  });

  it('documents every key and every diagnostic code', () => {
    for (const p of allKeyPaths()) assert.ok(doc.includes('`' + p.split('.').pop() + '`'), p);
    for (const code of Object.keys(DIAGNOSTIC_CODES)) assert.ok(doc.includes('`' + code + '`'), code);
  });

  it('shows complete examples that are valid and formatted', () => {
    const files = [...doc.matchAll(/^```sgt\n([\s\S]*?)^```/gm)].map((m) => m[1]).filter((text) => /^experiment /m.test(text));
    assert.ok(files.length >= 2);
    for (const text of files) {
      assert.deepEqual(
        analyze(text).diagnostics.map((d) => d.message),
        [],
        text,
      );
      assert.equal(format(text), text);
    }
  });
});
