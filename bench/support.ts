/**
 * Helpers shared by the benchmarks (bench/fernet.ts, bench/cache.ts,
 * bench/codecs.ts): a seeded order of runs, the statistics they report,
 * the timing loop's sink, and the formatting of their reports.
 *
 * They live here so that every benchmark shuffles, summarises and prints
 * the same way: a number in one report means what it means in the others.
 * Nothing here knows a benchmark's result types; what differs between them
 * (the progress prefix, the noise line's wording) is a parameter.
 */

// -------------------------------------------------------------- run order

/**
 * A small deterministic PRNG (mulberry32). Rounds are shuffled so machine
 * noise lands on every contender alike; a fixed seed makes every run use
 * the same orders, so two runs differ by the machine, not by the shuffle.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** 0 … n-1 in a random order (Fisher–Yates), drawn from `random`. */
export function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] ?? j, order[i] ?? i];
  }
  return order;
}

// ------------------------------------------------------------- statistics

/** The median (the mean of the middle two for an even count); NaN when empty. The input is not changed. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const hi = sorted[mid] ?? NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? NaN) + hi) / 2;
}

/**
 * Nearest-rank percentile (p in 0 … 100) of an ascending array: always a
 * value that was observed, so a latency p99 over fewer than 100 samples is
 * the largest one rather than an interpolation.
 */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? NaN;
}

/**
 * The value at fraction p (0 … 1) of an ascending array, by the nearest
 * index on 0 … n-1. Used for the quartiles of a handful of rounds; it
 * differs from `percentile` on purpose (q(0.25) of 4 rounds is the 2nd,
 * not the 1st), so the reports' spreads stay comparable with earlier runs.
 */
export function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.round(p * (sorted.length - 1))] ?? NaN;
}

/** Two decimals, for numbers printed as they are (load averages). */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

// ----------------------------------------------------------------- timing

/**
 * Every timed call returns a length that is added here, so the optimiser
 * cannot drop a call whose result is unused. Reports print the total
 * (`sinkTotal`) to keep it observable.
 */
let sink = 0;

/** The sum of what every timed call so far returned. */
export function sinkTotal(): number {
  return sink;
}

/**
 * Runs fn for at least warmupNs (and at least twice); returns ns per call,
 * the first call excluded (it may compile or fill caches). fn gets the
 * call's index, for benchmarks that cycle through several inputs.
 */
export function warmUp(fn: (i: number) => number, warmupNs: number): number {
  sink += fn(0);
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (calls < 1 || elapsed < warmupNs) {
    sink += fn(calls);
    calls++;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  return elapsed / calls;
}

/** Calls fn(0) … fn(n-1) back to back; returns the total ns. */
export function batch(fn: (i: number) => number, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn(i);
  return Number(process.hrtime.bigint() - start);
}

// ------------------------------------------------------------------ noise

/** One cell of a report: its per-round samples and the median printed for it. */
export interface NoiseCell {
  samples: readonly number[];
  /** What the report prints for the cell (the median of the samples). */
  median: number;
  /** Names the cell in the summary, e.g. "ours text encrypt 4 KiB". */
  where: string;
}

export interface NoiseWording {
  /** What spread, e.g. "rounds'" or "the rounds' p50". */
  subject: string;
  /** Appended after a "; " when given: how to read the tables in its light. */
  advice?: string;
}

/**
 * One line on how far the rounds disagree: per cell, (p75 − p25) / median;
 * reported for the typical (median) cell and the worst. Cells with fewer
 * than 4 samples are skipped, as their quartiles mean nothing; so a quick
 * run says "too few rounds to tell".
 */
export function noiseSummary(cells: readonly NoiseCell[], wording: NoiseWording): string {
  const spreads: { spread: number; where: string }[] = [];
  for (const cell of cells) {
    const sorted = [...cell.samples].sort((a, b) => a - b);
    if (sorted.length < 4) continue;
    spreads.push({
      spread: (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / cell.median,
      where: cell.where,
    });
  }
  if (spreads.length === 0) return "too few rounds to tell";
  spreads.sort((a, b) => a.spread - b.spread);
  const typical = spreads[spreads.length >> 1]?.spread ?? NaN;
  const worst = spreads[spreads.length - 1];
  const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
  const advice = wording.advice === undefined ? "" : `; ${wording.advice}`;
  return `${wording.subject} interquartile spread is ${pct(typical)} of the median in a typical cell, worst ${pct(worst?.spread ?? NaN)} (${worst?.where ?? "?"})${advice}`;
}

// ------------------------------------------------------------- formatting

/** A payload size as the tables label it: whole MiB or KiB, else bytes. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Microseconds to three significant digits or so (2.31, 23.1, 231), so table columns stay narrow. */
export function formatMicros(us: number): string {
  if (us < 10) return us.toFixed(2);
  if (us < 100) return us.toFixed(1);
  return us.toFixed(0);
}

// --------------------------------------------------------------- progress

/**
 * A progress line writer for one benchmark: `[<name> bench] message` on
 * stderr, so stdout holds only the report (or its JSON). With `elapsed`,
 * the seconds since this call are added (`[cache bench 4.2 s] …`), for
 * benchmarks long enough that where the time goes matters.
 */
export function progressReporter(
  name: string,
  options: { elapsed?: boolean } = {},
): (message: string) => void {
  const start = performance.now();
  return (message) => {
    const seconds = options.elapsed === true ? ` ${((performance.now() - start) / 1000).toFixed(1)} s` : "";
    process.stderr.write(`[${name} bench${seconds}] ${message}\n`);
  };
}

/** `--quick` and `--json`, the options every benchmark takes. */
export interface BenchOptions {
  quick: boolean;
  json: boolean;
}

/**
 * Parses a benchmark's arguments. Returns the options, or the exit code when
 * the run should end here: 0 after `--help`, 2 after an unknown option.
 */
export function parseBenchOptions(
  name: string,
  args: readonly string[],
  usage: string,
): BenchOptions | number {
  const options: BenchOptions = { quick: false, json: false };
  for (const arg of args) {
    if (arg === "--quick") options.quick = true;
    else if (arg === "--json") options.json = true;
    else if (arg === "--help" || arg === "-h") {
      process.stdout.write(usage);
      return 0;
    } else {
      process.stderr.write(`${name} bench: unknown option ${arg}\n\n${usage}`);
      return 2;
    }
  }
  return options;
}
