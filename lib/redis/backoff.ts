/**
 * Reconnect delays: exponential, capped, with "equal jitter" (half the delay
 * fixed, half random). The fixed half keeps a fleet of clients from
 * reconnecting in a tight loop; the random half keeps them from reconnecting
 * in lockstep after an outage.
 */

export interface BackoffOptions {
  /** Delay of the first retry before jitter, in ms. */
  baseMs: number;
  /** Largest delay, in ms. */
  capMs: number;
  /** Uniform [0, 1) source (tests); jitter needs no cryptographic randomness. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, capMs: 10_000 };

/** Delay before retry number `attempt` (1-based), in whole ms, within [ceiling/2, ceiling]. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30)); // 2^30 ms is far above any cap; avoids Infinity
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** exponent);
  const random = opts.random ?? Math.random;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
