/**
 * The CAM probe: a fixed set of images on which every run of an experiment that asks for
 * the `consistency` metric records the CAMs of the checkpoint it keeps (runs/cam-file.ts),
 * so that runs with different seeds can be compared on the same images (runs/consistency.ts).
 *
 * The probe must not depend on the run's seed, but the splits do (built-in data sets and
 * folders without a split column are split by seed). So the probe is the first
 * CAM_PROBE_COUNT images of the test split *as data seed CAM_PROBE_SEED draws it*, with the
 * run's other data settings (source, size, caps). For a run with seed CAM_PROBE_SEED these
 * are its own first test images; a run with another seed may have trained on some of these
 * digits (for Decoy MNIST: with a training decoy, not the test one). That holds alike for
 * every setting compared, so settings stay comparable; docs/dsl.md says it.
 *
 * For the torch engine the launcher exports the probe as .npy files (format
 * `sgt-cam-probe/1`): built-in data in `<runs>/.cache/cam-probe/<key>/` (shared, renamed into
 * place), folder data in `<run>/cam-probe/` (the folder may change on disk), as data/export.ts.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataKey, dataSpec, publishExport } from './export';
import type { ImageSet } from './image-set';
import { CAM_PROBE_COUNT, CAM_PROBE_SEED, wantsConsistency } from '../runs/cam-file';
import { writeNpy } from './npy';
import { cappedCount, headOf, loadRunSamples, type DataSpec, type RunData } from './run-data';
import { loadFolderImages } from './folder-export';

export { CAM_PROBE_COUNT, CAM_PROBE_SEED, wantsConsistency };
export const CAM_PROBE_FORMAT = 'sgt-cam-probe/1';

/** The data settings that produce the probe: the run's, with the probe's data seed. */
export function camProbeSpec(spec: DataSpec): DataSpec {
  return { ...spec, seed: CAM_PROBE_SEED };
}

/**
 * The probe images; `runData` (the run's own samples) is reused when its seed is the probe's.
 * Folder data is scanned without holding the data set (data/folder-export.ts, a scratch file
 * under `scratchDir`): only the probe's images are kept.
 */
export function loadCamProbe(spec: DataSpec, runData?: RunData, scratchDir?: string): ImageSet {
  if (spec.seed === CAM_PROBE_SEED && runData) return headOf(runData.test, CAM_PROBE_COUNT);
  const probeSpec = camProbeSpec(spec);
  if (probeSpec.source.type === 'folder') return loadFolderImages(probeSpec, (run) => run.test.subarray(0, cappedCount(run.test.length, CAM_PROBE_COUNT)), scratchDir);
  return headOf(loadRunSamples(probeSpec).test, CAM_PROBE_COUNT);
}

/** sha256 (hex) of the probe's pixels as little-endian float32 N×S×S×C: the identity of "the same images". */
export function probeFingerprint(set: ImageSet): string {
  const n = set.count * set.size * set.size * set.channels;
  // Node runs little-endian on every platform it supports, so the bytes are <f4 as numpy writes them
  return crypto.createHash('sha256').update(Buffer.from(set.images.buffer, set.images.byteOffset, n * 4)).digest('hex');
}

/** Writes a probe export (`sgt-cam-probe/1`) into `dir` (created): images.npy, labels.npy, then meta.json. */
export function writeCamProbe(dir: string, probe: ImageSet, key: string): void {
  fs.mkdirSync(dir, { recursive: true });
  writeNpy(path.join(dir, 'images.npy'), probe.images, [probe.count, probe.size, probe.size, probe.channels]);
  writeNpy(path.join(dir, 'labels.npy'), probe.labels, [probe.count]);
  // meta.json last: its presence means the folder is complete
  const meta = { format: CAM_PROBE_FORMAT, key, dataSeed: CAM_PROBE_SEED, count: probe.count, size: probe.size, channels: probe.channels, sha256: probeFingerprint(probe) };
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
}

/**
 * Exports the probe of a run for the torch engine; returns its folder, or undefined when the
 * experiment does not ask for `consistency`. Throws DataError / DataSpecError.
 */
export function exportCamProbe(runDir: string, resolved: unknown, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!wantsConsistency(resolved)) return undefined;
  const spec = camProbeSpec(dataSpec(resolved, runDir, env));
  const key = dataKey(spec);
  const dir = spec.source.type === 'builtin' ? path.join(path.dirname(runDir), '.cache', 'cam-probe', key) : path.join(runDir, 'cam-probe');
  publishExport(dir, CAM_PROBE_FORMAT, key, (tmp) => writeCamProbe(tmp, loadCamProbe(spec, undefined, path.dirname(dir)), key));
  return dir;
}
