/**
 * Timing of a function over warm-up and measured iterations: wall-clock
 * (what a user waits) and the process's CPU time (steadier on a shared,
 * loaded machine, where wall-clock includes waiting for a core).
 */

export interface Timing {
  median: number;
  p95: number;
  min: number;
  mean: number;
  /** Median CPU time (user + system, all threads of the process, GC included). */
  cpu_median: number;
  iterations: number;
}

export function time(fn: (i: number) => unknown, options: { warmup: number; iterations: number }): Timing {
  let sink: unknown;
  for (let i = 0; i < options.warmup; i++) sink = fn(i);
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < options.iterations; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    sink = fn(i);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const cpu = process.cpuUsage(cpu0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
  }
  // keep the result alive so the work cannot be optimised away
  if (sink === Symbol.for('never')) console.log(sink);
  ms.sort((a, b) => a - b);
  cpuMs.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    median: round(quantile(ms, 0.5)),
    p95: round(quantile(ms, 0.95)),
    min: round(ms[0]),
    mean: round(ms.reduce((a, b) => a + b, 0) / ms.length),
    cpu_median: round(quantile(cpuMs, 0.5)),
    iterations: ms.length,
  };
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
