/**
 * Preview overlays: one PNG per preview sample with three panels side by side —
 *
 *   image | human map (grayscale, white = salient) | model CAM over the image
 *
 * The CAM (normalised to [0, 1], cam.ts) is upsampled bilinearly to the image size, coloured
 * with Turbo (Google's perceptual rainbow map, 2019: blue = 0 → green → yellow → red = 1,
 * through its published degree-5 polynomial approximation) and blended 50 % over the
 * grayscale image. Each panel is upscaled with nearest neighbour to at least 112 px so small
 * images (28 px digits) stay visible; panels are separated by a 2 px dark gap. An image
 * without a human map shows a flat dark panel in the middle.
 */
import { PNG } from 'pngjs';
import { resizeBilinear } from '../../data/resize';

export const MIN_PANEL_PX = 112;
const GAP = 2;
const GAP_RGB = [32, 32, 32] as const;
const NO_MAP_RGB = [48, 48, 48] as const;
export const CAM_ALPHA = 0.5;

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Turbo colour of x ∈ [0, 1] as 0–255 RGB. */
export function turbo(x: number): [number, number, number] {
  const t = clamp01(x);
  const r = 0.13572138 + t * (4.6153926 + t * (-42.66032258 + t * (132.13108234 + t * (-152.94239396 + t * 59.28637943))));
  const g = 0.09140261 + t * (2.19418839 + t * (4.84296658 + t * (-14.18503333 + t * (4.27729857 + t * 2.82956604))));
  const b = 0.1066733 + t * (12.64194608 + t * (-60.58204836 + t * (110.36276771 + t * (-89.90310912 + t * 27.34824973))));
  return [Math.round(255 * clamp01(r)), Math.round(255 * clamp01(g)), Math.round(255 * clamp01(b))];
}

export interface OverlaySample {
  /** size × size × channels, channels last, in [0, 1]. */
  image: Float32Array;
  channels: number;
  size: number;
  /** size × size human map (any range; min-max normalised here), or undefined when the image has none. */
  human?: Float32Array;
  /** camSize × camSize normalised CAM. */
  cam: Float32Array;
  camSize: number;
}

/** Renders one sample's three panels as PNG bytes. */
export function renderOverlay(s: OverlaySample): Uint8Array {
  const scale = Math.max(1, Math.ceil(MIN_PANEL_PX / s.size));
  const panel = s.size * scale;
  const width = 3 * panel + 2 * GAP;
  const png = new PNG({ width, height: panel });
  const px = s.size * s.size;

  const rgbAt = (i: number): [number, number, number] => {
    if (s.channels === 1) {
      const v = Math.round(255 * clamp01(s.image[i]));
      return [v, v, v];
    }
    return [0, 1, 2].map((c) => Math.round(255 * clamp01(s.image[i * s.channels + c]))) as [number, number, number];
  };
  const grayAt = (i: number) => {
    const [r, g, b] = rgbAt(i);
    return 0.299 * r + 0.587 * g + 0.114 * b;
  };

  let human: Float32Array | undefined;
  if (s.human) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of s.human) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    human = Float32Array.from(s.human, (v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
  }
  const cam = s.camSize === s.size ? s.cam : resizeBilinear(s.cam, s.camSize, s.size);

  const panels: ((i: number) => readonly [number, number, number])[] = [
    rgbAt,
    (i) => {
      if (!human) return NO_MAP_RGB;
      const v = Math.round(255 * human[i]);
      return [v, v, v];
    },
    (i) => {
      const g = grayAt(i);
      const c = turbo(cam[i]);
      return c.map((ch) => Math.round((1 - CAM_ALPHA) * g + CAM_ALPHA * ch)) as [number, number, number];
    },
  ];

  for (let y = 0; y < panel; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < width; x++) {
      const p = Math.floor(x / (panel + GAP));
      const within = x - p * (panel + GAP);
      const rgb = within >= panel ? GAP_RGB : panels[p]((sy * s.size + Math.floor(within / scale)) % px);
      const o = (y * width + x) * 4;
      png.data[o] = rgb[0];
      png.data[o + 1] = rgb[1];
      png.data[o + 2] = rgb[2];
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
