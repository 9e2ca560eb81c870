/**
 * RGB rasters and PNG bytes, shared by the engines' CAM overlay PNGs
 * (engines/tfjs/overlay.ts) and the language server's saliency thumbnails in hovers
 * (language-server/saliency-preview.ts), so both draw panels, blend colour maps and encode
 * the same way. Pure JavaScript (pngjs): nothing native.
 */
import { PNG } from 'pngjs';

export type Rgb = readonly [number, number, number];

export const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Min-max normalisation to [0, 1]; a flat input (no contrast) becomes all zeros. */
export function normalize01(values: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  return Float32Array.from(values, (v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
}

/** Perceived brightness (ITU-R BT.601 weights) of an RGB colour, unrounded. */
export function luminance(rgb: Rgb): number {
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
}

/** `over` blended onto `base` with opacity `alpha`, rounded to integers. */
export function blend(base: Rgb, over: Rgb, alpha: number): [number, number, number] {
  return [0, 1, 2].map((c) => Math.round((1 - alpha) * base[c] + alpha * over[c])) as [number, number, number];
}

/** Pixel i (row-major) of a size×size×channels image in [0, 1] as 0–255 RGB (grey when channels = 1). */
export function rgbOf(image: ArrayLike<number>, channels: number, i: number): [number, number, number] {
  if (channels === 1) {
    const v = Math.round(255 * clamp01(image[i]));
    return [v, v, v];
  }
  return [0, 1, 2].map((c) => Math.round(255 * clamp01(image[i * channels + c]))) as [number, number, number];
}

/** An opaque RGB canvas (stored RGBA, as PNG wants it). */
export class RgbCanvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [0, 0, 0],
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      this.data[4 * i] = background[0];
      this.data[4 * i + 1] = background[1];
      this.data[4 * i + 2] = background[2];
      this.data[4 * i + 3] = 255;
    }
  }

  set(x: number, y: number, rgb: Rgb): void {
    const o = (y * this.width + x) * 4;
    this.data[o] = rgb[0];
    this.data[o + 1] = rgb[1];
    this.data[o + 2] = rgb[2];
  }

  get(x: number, y: number): [number, number, number] {
    const o = (y * this.width + x) * 4;
    return [this.data[o], this.data[o + 1], this.data[o + 2]];
  }

  /**
   * Draws a src×src image, given pixel by pixel (`pixel(i)`, i row-major), into the out×out
   * square at (x0, y0), scaled with nearest neighbour (exact for integer upscaling).
   */
  drawPanel(x0: number, y0: number, src: number, out: number, pixel: (i: number) => Rgb): void {
    for (let y = 0; y < out; y++) {
      const sy = Math.floor((y * src) / out);
      for (let x = 0; x < out; x++) this.set(x0 + x, y0 + y, pixel(sy * src + Math.floor((x * src) / out)));
    }
  }

  toPng(): Uint8Array {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png);
  }
}

/** Decodes PNG bytes to RGBA. */
export function decodePng(bytes: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, rgba: png.data };
}
