/**
 * The torch engine end to end, through its launcher (engines/torch/main.ts, run from source)
 * as the daemon and `sgt train --foreground` start it: the run directory it writes reads like
 * a tfjs run's (events, overlays + index, checkpoints, summary), its metrics match the tfjs
 * engine's on the same tiny experiment, `--resume` after kill -9 ends where an uninterrupted
 * run ends, SIGTERM cancels, and a missing PyTorch is reported with how to install it.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { findTorch, clearTorchProbeCache } from '../../../server/src/engines/torch/python';
import type { RunEvent } from '../../../server/src/protocol';
import { readEvents, readOverlayIndex, runInfo, timeline } from '../../../server/src/runs/run-dir';
import { ensureEngineBuilt, makeRunDir, startEngine as startTfjs, watchEngine, type EngineRun } from '../engine-process';
import { requireTorch, root, runPython, scratch } from './helpers';

const CAPS = { SGT_MAX_TRAIN_IMAGES: '192', SGT_MAX_EVAL_IMAGES: '64' };

const SGT = `experiment tiny_ce {
  seed = 3
  data { source = builtin("decoy-mnist")  image_size = 28  annotated = 50%  normalize = dataset }
  model { arch = small_cnn  width = 4 }
  guidance { loss = none }
  train { epochs = 2  batch = 32  optimizer = adam { lr = 0.003 }  engine = torch }
  preview { every = 4 steps  samples = 3 }
}
experiment tiny_cyborg extends tiny_ce {
  guidance { loss = cyborg  alpha = 0.5 }
}
`;

function ofType<T extends RunEvent['type']>(events: RunEvent[], type: T): Extract<RunEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

/** Starts the launcher from source (tsx), in its own process group like the daemon does. */
function startTorch(runDir: string, python: string, options: { resume?: boolean; env?: NodeJS.ProcessEnv } = {}): EngineRun {
  const args = ['--require', 'tsx/cjs', path.join(root, 'server/src/engines/torch/main.ts'), '--python', python, '--run-dir', runDir, ...(options.resume ? ['--resume'] : [])];
  return watchEngine(spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...CAPS, PYTHONDONTWRITEBYTECODE: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('torch engine process', function () {
  this.timeout(300_000);
  let python = '';
  let tmp = '';
  let sgt = '';
  const runs = () => path.join(tmp, 'runs');

  before(function () {
    python = requireTorch(this).python;
    tmp = scratch('engine');
    sgt = path.join(tmp, 'tiny.sgt');
    fs.writeFileSync(sgt, SGT);
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('trains a tiny CYBORG job into a run directory that reads like a tfjs run, with the tfjs engine’s metrics', async () => {
    const dir = makeRunDir(runs(), sgt, 'tiny_cyborg');
    const run = startTorch(dir, python);
    assert.equal(await run.done, 0, run.stderr);
    const events = readEvents(dir);
    assert.deepEqual(events.map((e) => e.type), run.events.map((e) => e.type), 'stdout and events.jsonl carry the same events');
    const started = ofType(events, 'started')[0];
    assert.equal(started.engine, 'torch');
    assert.equal(started.stepsPerEpoch, 6);
    assert.equal(ofType(events, 'step').at(-1)?.step, 12);
    assert.deepEqual(ofType(events, 'epoch').map((e) => `${e.epoch}:${e.split}`), ['1:train', '1:val', '1:test', '2:train', '2:val', '2:test']);
    assert.equal(ofType(events, 'finished').length, 1);
    const val = ofType(events, 'epoch').find((e) => e.epoch === 2 && e.split === 'val')!.metrics;
    for (const k of ['accuracy', 'loss', 'saliency_mse', 'saliency_corr']) assert.equal(typeof val[k], 'number', k);

    // overlays: 12 steps / every 4 → 3 previews of 3 PNGs, indexed like the tfjs engine's
    const index = readOverlayIndex(dir);
    assert.deepEqual(index.map((e) => e.step), [4, 8, 12]);
    assert.deepEqual(index[0].files, ['overlays/0000004/0.png', 'overlays/0000004/1.png', 'overlays/0000004/2.png']);
    const png = PNG.sync.read(fs.readFileSync(path.join(dir, index[2].files[0])));
    assert.deepEqual([png.width, png.height], [3 * 112 + 4, 112]);

    // checkpoints: pointers name complete files; the summary has the tfjs engine's shape
    const last = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints/last.json'), 'utf8'));
    assert.equal(last.epoch, 2);
    assert.ok(fs.existsSync(path.join(dir, 'checkpoints', last.manifest)));
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.engine, 'torch');
    assert.deepEqual(summary.data, { train: 192, val: 64, test: 64, guided: 96, imageSize: 28, channels: 1, classes: 10 });
    assert.equal(runInfo(dir).status, 'finished');

    // the tfjs engine on the same experiment: same samples, same init, same updates → the same numbers within float noise
    await ensureEngineBuilt();
    const tfDir = makeRunDir(runs(), sgt, 'tiny_cyborg', { train: { engine: 'tfjs', backend: 'cpu' } });
    const tf = startTfjs(tfDir, { env: CAPS });
    assert.equal(await tf.done, 0, tf.stderr);
    const tfSummary = JSON.parse(fs.readFileSync(path.join(tfDir, 'summary.json'), 'utf8'));
    assert.deepEqual(tfSummary.data, summary.data);
    for (let e = 0; e < 2; e++) {
      const a = summary.history[e].metrics;
      const b = tfSummary.history[e].metrics;
      for (const k of ['loss', 'ce', 'guidance']) assert.ok(Math.abs(a.train[k] - b.train[k]) < 2e-3, `epoch ${e + 1} train ${k}: torch ${a.train[k]} vs tfjs ${b.train[k]}`);
      for (const split of ['val', 'test']) {
        assert.ok(Math.abs(a[split].loss - b[split].loss) < 2e-3, `epoch ${e + 1} ${split} loss: ${a[split].loss} vs ${b[split].loss}`);
        assert.ok(Math.abs(a[split].accuracy - b[split].accuracy) <= 2 / 64 + 1e-9, `epoch ${e + 1} ${split} accuracy: ${a[split].accuracy} vs ${b[split].accuracy}`);
        assert.ok(Math.abs(a[split].saliency_corr - b[split].saliency_corr) < 0.01, `epoch ${e + 1} ${split} saliency_corr: ${a[split].saliency_corr} vs ${b[split].saliency_corr}`);
      }
    }
  });

  it('--resume after kill -9 ends with the metrics of an uninterrupted run', async () => {
    const patch = { train: { epochs: 3, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, weight_decay: 0.0001 }, schedule: { type: 'cosine' } } };
    const straightDir = makeRunDir(runs(), sgt, 'tiny_cyborg', patch);
    const crashDir = makeRunDir(runs(), sgt, 'tiny_cyborg', patch);
    const straight = startTorch(straightDir, python);
    assert.equal(await straight.done, 0, straight.stderr);

    const crashing = startTorch(crashDir, python);
    await crashing.waitFor((e) => e.type === 'checkpoint' && e.epoch === 1);
    const pids = fs.readFileSync(`/proc/${crashing.child.pid}/task/${crashing.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    crashing.child.kill('SIGKILL'); // the launcher alone: its Python must die with it
    await crashing.done;
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!pids.some(alive), 'the Python engine died with its launcher');
    assert.ok(!readEvents(crashDir).some((e) => e.type === 'finished'), 'the crash came too late to test anything');

    const resumed = startTorch(crashDir, python, { resume: true });
    assert.equal(await resumed.done, 0, resumed.stderr);
    const started = ofType(resumed.events, 'started')[0];
    assert.ok(started.resumedFrom && started.resumedFrom.epoch >= 1);
    const a = JSON.parse(fs.readFileSync(path.join(straightDir, 'summary.json'), 'utf8'));
    const b = JSON.parse(fs.readFileSync(path.join(crashDir, 'summary.json'), 'utf8'));
    assert.equal(b.resumed, true);
    assert.deepEqual(b.history, a.history);
    const epochsOf = (dir: string) => ofType(timeline(readEvents(dir)), 'epoch').map((e) => [e.epoch, e.split, e.metrics]);
    assert.deepEqual(epochsOf(crashDir), epochsOf(straightDir));
  });

  it('devices = 2 (DistributedDataParallel over gloo) trains what one process trains; SIGTERM stops every rank', async () => {
    const one = makeRunDir(runs(), sgt, 'tiny_cyborg', { train: { epochs: 1 } });
    const two = makeRunDir(runs(), sgt, 'tiny_cyborg', { train: { epochs: 1, devices: 2 } });
    const a = startTorch(one, python);
    assert.equal(await a.done, 0, a.stderr);
    const b = startTorch(two, python);
    assert.equal(await b.done, 0, b.stderr);
    assert.match(ofType(readEvents(two), 'started')[0].backendReason, /2 data-parallel ranks \(DistributedDataParallel, gloo\)/);
    const ha = JSON.parse(fs.readFileSync(path.join(one, 'summary.json'), 'utf8')).history[0].metrics;
    const hb = JSON.parse(fs.readFileSync(path.join(two, 'summary.json'), 'utf8')).history[0].metrics;
    for (const split of ['train', 'val', 'test']) {
      for (const [k, v] of Object.entries(ha[split] as Record<string, number>)) assert.ok(Math.abs(hb[split][k] - v) < 1e-4, `${split} ${k}: 2 ranks ${hb[split][k]}, 1 process ${v}`);
    }
    assert.equal(readOverlayIndex(two).length, readOverlayIndex(one).length, 'rank 0 alone writes previews');

    const long = makeRunDir(runs(), sgt, 'tiny_ce', { train: { epochs: 50, devices: 2 } });
    const run = startTorch(long, python);
    await run.waitFor((e) => e.type === 'step');
    process.kill(-run.child.pid!, 'SIGTERM');
    assert.equal(await run.done, 130, run.stderr);
    assert.equal(readEvents(long).at(-1)?.type, 'cancelled');
    assert.equal(ofType(readEvents(long), 'cancelled').length, 1, 'the group signal and the launcher\'s forwarded copy count once');

    // a signal to the launcher alone reaches the ranks through it, and still stops at a step
    const alone = makeRunDir(runs(), sgt, 'tiny_ce', { train: { epochs: 50, devices: 2 } });
    const launcher = startTorch(alone, python);
    await launcher.waitFor((e) => e.type === 'step');
    launcher.child.kill('SIGTERM');
    assert.equal(await launcher.done, 130, launcher.stderr);
    assert.deepEqual(ofType(readEvents(alone), 'cancelled').length, 1);
    assert.equal(readEvents(alone).at(-1)?.type, 'cancelled');
  });

  it('nodes = 2: one engine per node (NODE_RANK, MASTER_ADDR, MASTER_PORT) trains what one process trains; node 0 alone writes', async () => {
    const one = makeRunDir(runs(), sgt, 'tiny_ce', { train: { epochs: 1 } });
    const a = startTorch(one, python);
    assert.equal(await a.done, 0, a.stderr);
    const dir = makeRunDir(runs(), sgt, 'tiny_ce', { train: { epochs: 1, nodes: 2 } });
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const node = (rank: number) => startTorch(dir, python, { env: { NODE_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: port } });
    const [n0, n1] = [node(0), node(1)];
    assert.deepEqual([await n0.done, await n1.done], [0, 0], n0.stderr + n1.stderr);
    assert.equal(n1.events.length, 0, 'node 1 prints no events');
    assert.equal(ofType(readEvents(dir), 'started').length, 1);
    assert.match(ofType(readEvents(dir), 'started')[0].backendReason, /2 data-parallel ranks/);
    const ha = JSON.parse(fs.readFileSync(path.join(one, 'summary.json'), 'utf8')).history[0].metrics;
    const hb = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).history[0].metrics;
    for (const split of ['train', 'val', 'test']) {
      for (const [k, v] of Object.entries(ha[split] as Record<string, number>)) assert.ok(Math.abs(hb[split][k] - v) < 1e-4, `${split} ${k}: 2 nodes ${hb[split][k]}, 1 process ${v}`);
    }

    const unset = makeRunDir(runs(), sgt, 'tiny_ce', { train: { epochs: 1, nodes: 2 } });
    const bad = startTorch(unset, python);
    assert.equal(await bad.done, 1);
    assert.match(ofType(readEvents(unset), 'failed')[0].error, /^train\.nodes = 2: each node's engine needs NODE_RANK, MASTER_ADDR and MASTER_PORT from the scheduler \(NODE_RANK, MASTER_ADDR, MASTER_PORT not set/);
  });

  it('mixed precision (autocast; on the CPU through the SGT_TORCH_AMP=cpu test hook) trains close to float32', async () => {
    const fp32 = makeRunDir(runs(), sgt, 'tiny_cyborg', { train: { epochs: 1 } });
    const amp = makeRunDir(runs(), sgt, 'tiny_cyborg', { train: { epochs: 1 } });
    const a = startTorch(fp32, python, { env: { SGT_TORCH_AMP: 'off' } });
    assert.equal(await a.done, 0, a.stderr);
    const b = startTorch(amp, python, { env: { SGT_TORCH_AMP: 'cpu' } });
    assert.equal(await b.done, 0, b.stderr);
    assert.match(ofType(readEvents(amp), 'started')[0].backendReason, /mixed precision \(bfloat16 autocast\)/);
    assert.doesNotMatch(ofType(readEvents(fp32), 'started')[0].backendReason, /mixed precision/);
    const ma = JSON.parse(fs.readFileSync(path.join(fp32, 'summary.json'), 'utf8')).history[0].metrics;
    const mb = JSON.parse(fs.readFileSync(path.join(amp, 'summary.json'), 'utf8')).history[0].metrics;
    // bfloat16 keeps 8 bits of mantissa: the same training, not the same digits
    for (const k of ['loss', 'ce', 'guidance']) assert.ok(Math.abs(mb.train[k] - ma.train[k]) < 0.05, `train ${k}: amp ${mb.train[k]}, fp32 ${ma.train[k]}`);
    assert.ok(Math.abs(mb.val.loss - ma.val.loss) < 0.05, `val loss: amp ${mb.val.loss}, fp32 ${ma.val.loss}`);
  });

  it('SIGTERM cancels at the next step: `cancelled` event, exit 130', async () => {
    const dir = makeRunDir(runs(), sgt, 'tiny_ce', { train: { epochs: 50 } });
    const run = startTorch(dir, python);
    await run.waitFor((e) => e.type === 'step');
    process.kill(-run.child.pid!, 'SIGTERM'); // the process group, as the daemon and the CLI do
    assert.equal(await run.done, 130, run.stderr);
    assert.equal(readEvents(dir).at(-1)?.type, 'cancelled');
    assert.equal(runInfo(dir).status, 'cancelled');
  });

  it('an experiment the engine cannot train fails with the key to change; usage errors exit 2', async () => {
    const dir = makeRunDir(runs(), sgt, 'tiny_ce', { guidance: { loss: 'energy', attribution: 'cam', layer: 'mid' } });
    const run = startTorch(dir, python);
    assert.equal(await run.done, 1);
    assert.match(ofType(readEvents(dir), 'failed')[0].error, /guidance\.attribution = cam is defined at layer = final only \(got layer = mid\): use gradcam or ixg at mid/);
    const usage = startTorch(path.join(tmp, 'nowhere'), python);
    assert.equal(await usage.done, 2);
  });

  it('a full disk fails the run cleanly: exit 1, a `failed` event on stdout that says so, no traceback', async function () {
    if (!fs.existsSync('/dev/full')) this.skip();
    const dir = makeRunDir(runs(), sgt, 'tiny_ce', {});
    // every write to the events file answers ENOSPC, as on a full disk
    fs.rmSync(path.join(dir, 'events.jsonl'), { force: true });
    fs.symlinkSync('/dev/full', path.join(dir, 'events.jsonl'));
    const run = startTorch(dir, python);
    assert.equal(await run.done, 1, run.stderr);
    const failed = ofType(run.events, 'failed');
    assert.equal(failed.length, 1, run.stderr);
    assert.match(failed[0].error, /disk full while writing the run/);
    assert.doesNotMatch(run.stderr, /Traceback/);
  });

  it('without PyTorch: every interpreter tried is named, with how to install it', () => {
    clearTorchProbeCache();
    const probe = (py: string) => ({ ok: false as const, problem: py.includes('nope') ? 'not found' : "ModuleNotFoundError: No module named 'torch'" });
    const r = findTorch({ SGT_PYTHON: '/opt/nope/python' }, probe);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.tried.map((t) => t.python), ['SGT_PYTHON=/opt/nope/python', 'python3', '/usr/bin/python3']);
    assert.match(r.message, /^PyTorch is not importable \(tried SGT_PYTHON=\/opt\/nope\/python: not found; python3: ModuleNotFoundError/);
    assert.match(r.message, /apt-get install python3-torch/);
    assert.match(r.message, /sgt train --python/);
    clearTorchProbeCache();
    assert.equal(findTorch({ SGT_PYTHON: python }).ok, true, 'SGT_PYTHON is tried first');
    const off = findTorch({ SGT_TORCH: 'off' }, () => assert.fail('SGT_TORCH=off must not probe'));
    assert.ok(!off.ok && /SGT_TORCH=off/.test(off.message));
  });
});

describe('torch engine process: torchvision backbones', function () {
  this.timeout(300_000);
  let python = '';
  let tmp = '';

  before(function () {
    const found = requireTorch(this);
    if (!found.torchvision) {
      if (process.env.CI) throw new Error('CI must install torchvision for the torch engine tests (Debian: apt-get install -y python3-torchvision)');
      this.skip();
    }
    python = found.python;
    tmp = scratch('tv');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('trains resnet18 with CYBORG from a local pretrained state dict (a new classifier for the task), CAM at layer4', async () => {
    // a 1000-class state dict, as torchvision's ImageNet checkpoints are
    const weights = path.join(tmp, 'r18.pt');
    runPythonInline(python, `import torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet18(weights=None).state_dict(), ${JSON.stringify(weights)})`);
    const sgt = path.join(tmp, 'tv.sgt');
    fs.writeFileSync(
      sgt,
      `experiment tv {
  seed = 2
  data { source = builtin("decoy-mnist")  image_size = 64 }
  model { arch = resnet18  pretrained = "r18.pt" }
  guidance { loss = cyborg  alpha = 0.5 }
  train { epochs = 1  batch = 16  optimizer = sgd { lr = 0.01 }  engine = torch }
  preview { every = 2 steps  samples = 2 }
}
`,
    );
    const dir = makeRunDir(path.join(tmp, 'runs'), sgt, 'tv');
    const run = startTorch(dir, python, { env: { SGT_MAX_TRAIN_IMAGES: '32', SGT_MAX_EVAL_IMAGES: '16' } });
    assert.equal(await run.done, 0, run.stderr);
    const events = readEvents(dir);
    assert.ok(ofType(events, 'log').some((e) => e.message === `pretrained weights from ${weights}: all but the classifier (fc: a new one for this task's classes)`));
    const train = ofType(events, 'epoch').find((e) => e.split === 'train')!.metrics;
    assert.ok(train.guidance > 0, 'a 2×2 CAM at 64 px: the CYBORG term is live');
    assert.equal(readOverlayIndex(dir).length, 1);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.deepEqual([summary.model.arch, summary.model.parameters], ['resnet18', 11181642]);

    const bad = makeRunDir(path.join(tmp, 'runs'), sgt, 'tv', { model: { arch: 'densenet121' } });
    const failed = startTorch(bad, python, { env: { SGT_MAX_TRAIN_IMAGES: '32', SGT_MAX_EVAL_IMAGES: '16' } });
    assert.equal(await failed.done, 1);
    assert.match(ofType(readEvents(bad), 'failed')[0].error, /^model\.pretrained: .*r18\.pt does not fit densenet121: no features\.conv0\.weight/);
  });
});

describe('torchvision backbones (sgt_torch/tv_models.py)', function () {
  this.timeout(120_000);
  it('build, run a batch and give a CAM at layer4 / the final dense features / Mixed_7c', function () {
    const found = requireTorch(this);
    if (!found.torchvision) this.skip();
    const r = JSON.parse(runPython(found.python, [path.join(__dirname, 'tv_shapes.py')]));
    assert.deepEqual(r.resnet18, { logits: [2, 3], features: [2, 512, 2, 2], cam: [2, 2, 2], camSize: 2, head: [3, 512] });
    assert.deepEqual(r.resnet50, { logits: [2, 3], features: [2, 2048, 1, 1], cam: [2, 1, 1], camSize: 1, head: [3, 2048] });
    assert.deepEqual(r.densenet121, { logits: [2, 3], features: [2, 1024, 1, 1], cam: [2, 1, 1], camSize: 1, head: [3, 1024] });
    assert.deepEqual(r.inception_v3, { logits: [2, 3], features: [2, 2048, 1, 1], cam: [2, 1, 1], camSize: 1, head: [3, 2048] });
  });
});

function runPythonInline(python: string, code: string): void {
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}
