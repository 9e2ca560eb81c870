/**
 * The torch export of a `folder(…)` data set on the Node side (data/export.ts exportRunData):
 * seconds and peak resident memory, each export in a fresh process. Prints one JSON object;
 * nothing is asserted.
 *
 *   npx tsx bench/export-folder.ts [--images 2000] [--width 160] [--height 128] [--size 112]
 *                                  [--before DIR] [--dir FOLDER]
 *
 * The data set (generated once into FOLDER, default a folder under the OS temp dir): RGB PNGs
 * of width × height with smooth colour patterns and a little noise, two classes, a saliency
 * map for every other image. Modes:
 *   streamed   exportRunData of this tree: folder data streamed image by image
 *              (data/folder-export.ts)
 *   in-memory  writeExport(loadRunSamples(spec)) of this tree: the float32 data set in memory,
 *              as the tfjs engine loads it
 *   before     exportRunData of the tree at DIR (e.g. a `git archive` of an older commit with
 *              node_modules linked in), for a before / after comparison
 * and whether every mode's files are byte-identical (meta.json compared without
 * `trainStatistics`, which older trees do not write).
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

interface ChildResult {
  mode: string;
  seconds: number;
  peak_rss_mb: number;
  written_mb: number;
  files: Record<string, string>;
}

/** In a child: one export, then its time, peak RSS and file hashes on stdout. */
function child(mode: string, src: string, folder: string, size: number): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exp = require(path.join(src, 'server/src/data/export')) as typeof import('../server/src/data/export');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const rd = require(path.join(src, 'server/src/data/run-data')) as typeof import('../server/src/data/run-data');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-export-bench-'));
  const runDir = path.join(tmp, 'run');
  fs.mkdirSync(runDir);
  const resolved = { seed: 1, baseDir: folder, data: { source: { type: 'folder', path: '.' }, image_size: size } };
  const t0 = performance.now();
  let dir: string;
  if (mode === 'in-memory') {
    const spec = exp.dataSpec(resolved, runDir, {});
    dir = path.join(tmp, 'export');
    exp.writeExport(dir, rd.loadRunSamples(spec), exp.dataKey(spec));
  } else dir = exp.exportRunData(runDir, resolved, {}).dir;
  const seconds = (performance.now() - t0) / 1000;
  // before the files are read back for hashing, which costs memory of its own
  const peakRss = process.resourceUsage().maxRSS / 1024;
  const files: Record<string, string> = {};
  let written = 0;
  for (const f of fs.readdirSync(dir).sort()) {
    let bytes = fs.readFileSync(path.join(dir, f));
    written += bytes.length;
    if (f === 'meta.json') {
      const meta = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      delete meta.trainStatistics;
      bytes = Buffer.from(JSON.stringify(meta, null, 2) + '\n');
    }
    files[f] = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const result: ChildResult = { mode, seconds: +seconds.toFixed(2), peak_rss_mb: +peakRss.toFixed(0), written_mb: +(written / 2 ** 20).toFixed(1), files };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function generate(folder: string, n: number, width: number, height: number): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PNG } = require('pngjs') as typeof import('pngjs');
  fs.mkdirSync(path.join(folder, 'images'), { recursive: true });
  fs.mkdirSync(path.join(folder, 'saliency'), { recursive: true });
  const lines = ['file,label'];
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) % 16;
  for (let i = 0; i < n; i++) {
    const img = new PNG({ width, height });
    const map = new PNG({ width, height });
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 4;
        img.data[o] = (x * 3 + i * 7 + noise()) & 255;
        img.data[o + 1] = (y * 2 + i * 13 + noise()) & 255;
        img.data[o + 2] = ((x + y) * (1 + (i % 3)) + noise()) & 255;
        img.data[o + 3] = 255;
        const v = Math.max(0, 255 - Math.hypot(x - width / 2, y - height / 2) * 4) | 0;
        map.data.set([v, v, v, 255], o);
      }
    fs.writeFileSync(path.join(folder, 'images', `img${i}.png`), PNG.sync.write(img));
    if (i % 2) fs.writeFileSync(path.join(folder, 'saliency', `img${i}.png`), PNG.sync.write(map));
    lines.push(`img${i}.png,${i % 2 ? 'a' : 'b'}`);
  }
  // labels.csv last: its presence means the folder is complete
  fs.writeFileSync(path.join(folder, 'labels.csv'), lines.join('\n') + '\n');
}

function main(): void {
  if (args[0] === '--child') return child(args[1], args[2], args[3], Number(args[4]));
  if (args[0] === '--generate') return generate(args[1], Number(args[2]), Number(args[3]), Number(args[4]));
  const n = Number(opt('images', '2000'));
  const width = Number(opt('width', '160'));
  const height = Number(opt('height', '128'));
  const size = Number(opt('size', '112'));
  const before = args.includes('--before') ? path.resolve(opt('before', '')) : undefined;
  const folder = path.resolve(opt('dir', path.join(os.tmpdir(), `sgt-export-bench-${n}-${width}x${height}`)));
  // generated in a process of its own: Linux carries a process's peak RSS (ru_maxrss) over
  // fork + exec into its children, so a parent that had grown generating PNGs would inflate
  // every child's figure
  const self = (...rest: string[]) => spawnSync(process.execPath, [...process.execArgv, __filename, ...rest], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (!fs.existsSync(path.join(folder, 'labels.csv'))) {
    const g = self('--generate', folder, String(n), String(width), String(height));
    if (g.status !== 0) throw new Error(`generating ${folder}: ${g.stderr}`);
  }
  const here = path.resolve(__dirname, '..');
  const modes: [string, string][] = [['streamed', here], ['in-memory', here], ...(before ? ([['before', before]] as [string, string][]) : [])];
  const results: ChildResult[] = [];
  for (const [mode, src] of modes) {
    const r = self('--child', mode, src, folder, String(size));
    if (r.status !== 0) throw new Error(`${mode}: ${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult);
  }
  const identical = results.every((r) => JSON.stringify(r.files) === JSON.stringify(results[0].files));
  const report = {
    bench: 'export-folder',
    images: n,
    source: `${width}x${height} RGB PNG, a map for every other image`,
    size,
    node: process.version,
    cpus: os.cpus().length,
    loadAverage1m: +os.loadavg()[0].toFixed(2),
    identical,
    results: results.map(({ files: _files, ...r }) => r),
  };
  process.stdout.write(JSON.stringify(report, null, 1) + '\n');
}

main();
