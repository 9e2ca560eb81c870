/**
 * Training data for a tfjs run: the engine's configuration mapped onto the shared loader
 * (data/run-data.ts, which the torch engine's export uses too).
 */
import { envCap, loadRunSamples, type DataSpec, type RunData } from '../../data/run-data';
import type { EngineConfig } from './config';

export { ANNOTATED_STREAM, guidedImages, headOf, type RunData } from '../../data/run-data';

/** Loads the data set of a run (multi-label data: multi-label.ts trains it). Throws DataError (data/folder.ts) for unusable data. */
export function loadRunData(config: EngineConfig, env: NodeJS.ProcessEnv = process.env): RunData {
  return loadRunSamples(runDataSpec(config, env));
}

/** The data settings of a run (the CAM probe derives its own from them: data/cam-probe.ts). */
export function runDataSpec(config: EngineConfig, env: NodeJS.ProcessEnv = process.env): DataSpec {
  const { data } = config;
  return {
    seed: config.seed,
    baseDir: config.baseDir,
    source: data.source,
    imageSize: data.imageSize,
    annotated: data.annotated,
    valSplit: data.valSplit,
    testSplit: data.testSplit,
    images: data.images,
    labels: data.labels,
    saliency: data.saliency,
    ...(data.boxes !== undefined ? { boxes: data.boxes } : {}),
    missingSaliency: config.guidance.missingSaliency,
    maxTrain: envCap(env, 'SGT_MAX_TRAIN_IMAGES'),
    maxEval: envCap(env, 'SGT_MAX_EVAL_IMAGES'),
  };
}
