/**
 * Pearson correlation: one definition for the saliency agreement of a model's CAM with the
 * human map (engines' metrics) and the agreement of two runs' CAMs (runs/consistency.ts).
 */

/** Pearson correlation, or undefined when either input is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | undefined {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(saa > 0) || !(sbb > 0)) return undefined;
  return sab / Math.sqrt(saa * sbb);
}
