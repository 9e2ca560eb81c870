/**
 * THE colour map of CAM overlays, defined once: engines colour the model's CAM with it
 * when they write overlay PNGs (panel 3 of `image | human map | CAM overlay`), and the
 * dashboard draws its legend from it, so the legend cannot disagree with the pictures.
 *
 * Pure and dependency-free: the webview bundle (browser) imports it as well as the engines.
 */

export type Rgb = readonly [number, number, number];

/** Control points of the map (jet, as in most CAM figures): t in 0..1, colours in 0..255, linearly interpolated. */
export const CAM_COLORMAP: { readonly name: string; readonly stops: readonly { readonly t: number; readonly rgb: Rgb }[] } = {
  name: 'jet',
  stops: [
    { t: 0, rgb: [0, 0, 128] },
    { t: 0.125, rgb: [0, 0, 255] },
    { t: 0.375, rgb: [0, 255, 255] },
    { t: 0.625, rgb: [255, 255, 0] },
    { t: 0.875, rgb: [255, 0, 0] },
    { t: 1, rgb: [128, 0, 0] },
  ],
};

/** The colour of a normalised CAM value t (clamped to 0..1; NaN counts as 0), as integer [r, g, b]. */
export function colormap(t: number): [number, number, number] {
  const stops = CAM_COLORMAP.stops;
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  for (let i = 1; i < stops.length; i++) {
    const a = stops[i - 1];
    const b = stops[i];
    if (x <= b.t) {
      const u = b.t === a.t ? 0 : (x - a.t) / (b.t - a.t);
      return [0, 1, 2].map((k) => Math.round(a.rgb[k] + (b.rgb[k] - a.rgb[k]) * u)) as [number, number, number];
    }
  }
  const last = stops[stops.length - 1].rgb;
  return [last[0], last[1], last[2]];
}

/** A CSS `linear-gradient` of the map from low (left) to high (right), for legends. */
export function colormapCssGradient(direction = 'to right'): string {
  const parts = CAM_COLORMAP.stops.map((s) => `rgb(${s.rgb.join(', ')}) ${Math.round(s.t * 1000) / 10}%`);
  return `linear-gradient(${direction}, ${parts.join(', ')})`;
}
