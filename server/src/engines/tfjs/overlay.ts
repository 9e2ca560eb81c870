/**
 * Preview overlays: one PNG per preview sample with three panels side by side —
 *
 *   image | human map (grayscale, white = salient) | model CAM over the image
 *
 * The CAM (normalised to [0, 1], cam.ts) is upsampled bilinearly to the image size, coloured
 * with THE overlay colour map (runs/colormap.ts: jet, dark blue = 0 → cyan → yellow → dark
 * red = 1, the map the dashboard's legend draws) and blended 50 % over the grayscale image. Each panel is upscaled with nearest neighbour to at least 112 px so small
 * images (28 px digits) stay visible; panels are separated by a 2 px dark gap. An image
 * without a human map shows a flat dark panel in the middle.
 */
import { resizeBilinear } from '../../data/resize';
import { colormap } from '../../runs/colormap';
import { blend, luminance, normalize01, rgbOf, RgbCanvas, type Rgb } from '../../runs/png';

export const MIN_PANEL_PX = 112;
const GAP = 2;
const GAP_RGB = [32, 32, 32] as const;
const NO_MAP_RGB = [48, 48, 48] as const;
export const CAM_ALPHA = 0.5;

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
  const canvas = new RgbCanvas(3 * panel + 2 * GAP, panel, GAP_RGB);
  const rgbAt = (i: number) => rgbOf(s.image, s.channels, i);
  const human = s.human ? normalize01(s.human) : undefined;
  const cam = s.camSize === s.size ? s.cam : resizeBilinear(s.cam, s.camSize, s.size);

  const panels: ((i: number) => Rgb)[] = [
    rgbAt,
    (i) => {
      if (!human) return NO_MAP_RGB;
      const v = Math.round(255 * human[i]);
      return [v, v, v];
    },
    (i) => {
      const g = luminance(rgbAt(i));
      return blend([g, g, g], colormap(cam[i]), CAM_ALPHA);
    },
  ];
  panels.forEach((pixel, p) => canvas.drawPanel(p * (panel + GAP), 0, s.size, panel, pixel));
  return canvas.toPng();
}
