import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyExample, EXAMPLE, exampleTarget, findExampleFile } from '../../client/src/walkthrough-example';

const root = path.resolve(__dirname, '../..');
const bundled = path.join(root, 'examples', EXAMPLE.name);

describe('walkthrough: copying the Decoy MNIST example', () => {
  let ws: string;
  beforeEach(() => (ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-walk-'))));
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('copies the bundled example into <folder>/decoy-mnist and opens cyborg.sgt from there', () => {
    const t = exampleTarget(ws, bundled);
    assert.deepEqual(t, { dir: path.join(ws, 'decoy-mnist'), reuse: false });
    const copied = copyExample(bundled, t.dir);
    assert.ok(copied.includes('cyborg.sgt'));
    assert.equal(fs.readFileSync(path.join(t.dir, 'cyborg.sgt'), 'utf8'), fs.readFileSync(path.join(bundled, 'cyborg.sgt'), 'utf8'));
  });

  it('reuses an unchanged copy instead of copying again', () => {
    copyExample(bundled, path.join(ws, 'decoy-mnist'));
    assert.deepEqual(exampleTarget(ws, bundled), { dir: path.join(ws, 'decoy-mnist'), reuse: true });
  });

  it('never overwrites: an edited copy or an unrelated folder of that name gets the next free name', () => {
    copyExample(bundled, path.join(ws, 'decoy-mnist'));
    fs.appendFileSync(path.join(ws, 'decoy-mnist', 'cyborg.sgt'), '\n# my edit\n');
    fs.mkdirSync(path.join(ws, 'decoy-mnist-2'));
    fs.writeFileSync(path.join(ws, 'decoy-mnist-2', 'notes.txt'), 'mine');
    const t = exampleTarget(ws, bundled);
    assert.deepEqual(t, { dir: path.join(ws, 'decoy-mnist-3'), reuse: false });
    copyExample(bundled, t.dir);
    assert.match(fs.readFileSync(path.join(ws, 'decoy-mnist', 'cyborg.sgt'), 'utf8'), /# my edit/);
    assert.deepEqual(fs.readdirSync(path.join(ws, 'decoy-mnist-2')), ['notes.txt']);
  });

  it('copyExample keeps a file that appeared in the target meanwhile, and copies sub-folders', () => {
    const src = path.join(ws, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.sgt'), 'new');
    fs.writeFileSync(path.join(src, 'sub', 'b.png'), 'png');
    const dest = path.join(ws, 'dest');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'a.sgt'), 'old');
    assert.deepEqual(copyExample(src, dest), ['sub/b.png']);
    assert.equal(fs.readFileSync(path.join(dest, 'a.sgt'), 'utf8'), 'old');
  });

  it('findExampleFile: the remembered file first, else the newest copy in the first folder that has one', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-walk-'));
    try {
      assert.equal(findExampleFile([ws, other]), undefined);
      copyExample(bundled, path.join(other, 'decoy-mnist'));
      assert.equal(findExampleFile([ws, other]), path.join(other, 'decoy-mnist', 'cyborg.sgt'));
      copyExample(bundled, path.join(ws, 'decoy-mnist'));
      copyExample(bundled, path.join(ws, 'decoy-mnist-2'));
      const newer = path.join(ws, 'decoy-mnist-2', 'cyborg.sgt');
      fs.utimesSync(newer, new Date(), new Date(Date.now() + 60_000));
      assert.equal(findExampleFile([ws, other]), newer);
      assert.equal(findExampleFile([ws, other], path.join(other, 'decoy-mnist', 'cyborg.sgt')), path.join(other, 'decoy-mnist', 'cyborg.sgt'));
      assert.equal(findExampleFile([ws], path.join(ws, 'gone.sgt')), newer, 'a remembered file that is gone is ignored');
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('walkthrough: the manifest', () => {
  interface Step {
    id: string;
    description: string;
    media: { markdown?: string };
    completionEvents?: string[];
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    contributes: { commands: { command: string }[]; walkthroughs: { id: string; steps: Step[] }[] };
  };
  const steps = pkg.contributes.walkthroughs.flatMap((w) => w.steps);
  const contributed = new Set(pkg.contributes.commands.map((c) => c.command));
  /** Commands the extension registers (a registerCommand / reg call with a literal id somewhere in client/src). */
  const registered = new Set(
    fs
      .readdirSync(path.join(root, 'client/src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...fs.readFileSync(path.join(root, 'client/src', f), 'utf8').matchAll(/(?:registerCommand|reg)\(\s*'(saliencyStudio\.[\w.]+)'/g)].map((m) => m[1])),
  );

  it('walks through opening the example, the language, training, the dashboard and comparing', () => {
    assert.deepEqual(
      steps.map((s) => s.id),
      ['openExample', 'language', 'run', 'dashboard', 'compare'],
    );
  });

  it('every step has its markdown in the repository and a command link to a contributed, registered command', () => {
    for (const s of steps) {
      assert.ok(s.media.markdown && fs.existsSync(path.join(root, s.media.markdown)), `${s.id}: media ${s.media.markdown}`);
      const links = [...s.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]);
      assert.ok(links.length >= 1, `${s.id} has no command link`);
      for (const id of [...links, ...(s.completionEvents ?? []).map((e) => e.replace(/^onCommand:/, ''))]) {
        assert.ok(contributed.has(id), `${s.id}: ${id} is not in contributes.commands`);
        assert.ok(registered.has(id), `${s.id}: ${id} is never registered in client/src`);
      }
    }
  });

  it('the example the walkthrough copies is bundled', () => {
    assert.ok(fs.existsSync(path.join(bundled, EXAMPLE.entry)));
  });
});
