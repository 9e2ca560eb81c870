// Bilinear resizing of square grayscale images.

/**
 * Resizes a `from`×`from` image to `to`×`to` with bilinear interpolation on pixel centres
 * (half-pixel convention, as PyTorch `align_corners=False` and `tf.image.resize`), so
 * resizing keeps an image centred. No antialiasing: fine for the modest factors used here.
 */
export function resizeBilinear(src: Float32Array, from: number, to: number, out = new Float32Array(to * to)): Float32Array {
  if (from === to) {
    out.set(src.subarray(0, from * from));
    return out;
  }
  const scale = from / to;
  for (let y = 0; y < to; y++) {
    const sy = Math.min(Math.max((y + 0.5) * scale - 0.5, 0), from - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, from - 1);
    const fy = sy - y0;
    for (let x = 0; x < to; x++) {
      const sx = Math.min(Math.max((x + 0.5) * scale - 0.5, 0), from - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, from - 1);
      const fx = sx - x0;
      const top = src[y0 * from + x0] * (1 - fx) + src[y0 * from + x1] * fx;
      const bottom = src[y1 * from + x0] * (1 - fx) + src[y1 * from + x1] * fx;
      out[y * to + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
