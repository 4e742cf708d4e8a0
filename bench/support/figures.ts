/** Timing loops and the number formats benchmarks print. */
import { performance } from 'node:perf_hooks';

/** Runs operations 0…count-1 on `concurrency` workers (each told its index); answers operations per second. */
export async function perSecond(
  count: number,
  concurrency: number,
  op: (i: number, worker: number) => Promise<unknown> | unknown,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = next++; i < count; i = next++) await op(i, worker);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** A rounded count with thousands separators, right-aligned: `  5,123`. */
export function thousands(n: number, width: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(width);
}

/** A whole rate right-aligned with its unit: `   812/s`. */
export function rate(n: number, width: number): string {
  return `${n.toFixed(0).padStart(width)}/s`;
}

/** Latency percentiles as printed beside a load figure: `p50   3 ms  p99  12 ms`. */
export function latencies(r: { p50: number; p99: number }, p99Width = 3): string {
  return `p50 ${String(r.p50).padStart(3)} ms  p99 ${String(r.p99).padStart(p99Width)} ms`;
}
