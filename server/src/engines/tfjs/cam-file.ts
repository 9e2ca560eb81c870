/**
 * The tfjs engine's part of the CAM file (runs/cam-file.ts): the label-class CAMs of the
 * current weights on the CAM probe (data/cam-probe.ts), min-max normalised per image
 * (cam.ts normalizedCam), at the CAM's resolution, written atomically to `cams/probe.json`.
 * The training loop calls it for the epoch whose weights the run keeps.
 */
import { CAM_PROBE_SEED, probeFingerprint } from '../../data/cam-probe';
import type { ImageSet } from '../../data/image-set';
import { writeCamFile, type CamMaps } from '../../runs/cam-file';
import { normalizedCam } from './cam';
import type { Model } from './models';
import { tf } from './tf';

export class CamProbeRecorder {
  private readonly fingerprint: string;

  constructor(
    private readonly probe: ImageSet,
    private readonly model: Model,
    /** Images per forward pass (the training batch). */
    private readonly batch: number,
  ) {
    if (!model.headWeight || !model.featureSize) throw new Error(`${model.spec.arch} has no CAM`);
    this.fingerprint = probeFingerprint(probe);
  }

  /** The probe's normalised label-class CAMs, N×h×w. */
  cams(): Float32Array {
    const { probe, model } = this;
    const hw = model.featureSize! ** 2;
    const ipx = probe.size * probe.size * probe.channels;
    const out = new Float32Array(probe.count * hw);
    for (let from = 0; from < probe.count; from += this.batch) {
      const n = Math.min(this.batch, probe.count - from);
      const maps = tf.tidy(() => {
        const x = tf.tensor4d(probe.images.slice(from * ipx, (from + n) * ipx), [n, probe.size, probe.size, probe.channels]);
        const { features } = model.forward(x);
        return normalizedCam(features!, model.headWeight as tf.Tensor2D, tf.tensor1d(probe.labels.slice(from, from + n), 'int32')).dataSync() as Float32Array;
      });
      out.set(maps, from * hw);
    }
    return out;
  }

  /** Writes `cams/probe.json` for the weights of `epoch`. */
  write(runDir: string, epoch: number, step: number): void {
    const { probe } = this;
    const size = this.model.featureSize!;
    const file: CamMaps = {
      epoch,
      step,
      probe: { dataSeed: CAM_PROBE_SEED, split: 'test', count: probe.count, imageSize: probe.size, channels: probe.channels, sha256: this.fingerprint },
      labels: Array.from(probe.labels),
      count: probe.count,
      height: size,
      width: size,
      maps: this.cams(),
    };
    writeCamFile(runDir, file);
  }
}
