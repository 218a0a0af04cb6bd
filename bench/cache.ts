/**
 * `npm run bench -- cache [--quick] [--json]`
 *
 * What encryption costs an EncryptedCache user, end to end against a real
 * local redis-server (started here, on a free loopback port): one
 * operation is a `set(key, value)` followed by a `get(key)` of the same key,
 * timed as a pair, on a fresh key every time. Two caches share one ioredis
 * client (RESP2):
 *
 *   plain      no key ring, `environment: "development"`: the same envelope,
 *              unencrypted, with the same (default) compression policy
 *   encrypted  a KeyRing of one Fernet key, default compression
 *
 * The values are AI-response-like JSON objects (test/helpers/cache-fixtures.ts
 * `aiResponse`) of about 1 KiB, 4 KiB, 64 KiB and 1 MiB serialised, several
 * distinct ones per size, generated before anything is timed; `set` takes
 * the object, so JSON serialisation and parsing are part of every pair, as
 * they are for a user.
 *
 * Per size, four cells (plain and encrypted, at concurrency 1 and 64) run in
 * rounds: each cell is warmed up, then every round runs each cell once for a
 * time budget, in an order shuffled from round to round, and the median
 * round is reported, so machine noise lands on both variants alike.
 * Concurrency 1 is a sequential loop; concurrency 64 is 64 async workers
 * each looping set+get pairs until the round's budget is spent (each does at
 * least one pair). A round's p50 and p99 are over the pair latencies of that
 * round; throughput is pairs per second of wall time. The database is
 * flushed after every cell, outside the timing.
 *
 * Then the event loop: 16 workers do 1 MiB set+get pairs while
 * `monitorEventLoopDelay({ resolution: 1 })` records how late its 1 ms timer
 * fires, for plain and encrypted alternately.
 *
 * Before anything is timed, both caches' round trips are checked (the value
 * read equals the value written, the stored bytes are a plain resp. an
 * encrypted envelope, compressed with the same codec), so the benchmark
 * cannot time something broken. It reports; it exits 0 whether or not the
 * goals are met.
 */
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { Redis } from "ioredis";
import { EncryptedCache } from "../lib/cache/encrypted-cache.js";
import { CODECS, decodeOuter, INNER_HEADER_LENGTH, type CodecName } from "../lib/cache/envelope.js";
import { DEFAULT_COMPRESSION } from "../lib/cache/value-codec.js";
import { Fernet } from "../lib/crypto/fernet.js";
import { KeyRing } from "../lib/crypto/keyring.js";
import { aiResponse } from "../test/helpers/cache-fixtures.js";
import { startRedisServer } from "../test/helpers/redis-server.js";
import {
  formatMicros,
  formatSize,
  median,
  noiseSummary,
  percentile,
  progressReporter,
  quantile,
  round2,
  seededRandom,
  shuffled,
  type NoiseCell,
  parseBenchOptions,
} from "./support.js";

/** Progress lines carry the seconds since the module loaded: this run takes a while. */
const progress = progressReporter("cache", { elapsed: true });

const SIZES = [1024, 4096, 64 * 1024, 1024 * 1024] as const;
const CONCURRENCIES = [1, 64] as const;
type Concurrency = (typeof CONCURRENCIES)[number];
const VARIANTS = ["plain", "encrypted"] as const;
type Variant = (typeof VARIANTS)[number];

/** Distinct values per size (different seeds), used in turn. */
const VALUES_PER_SIZE = 8;
/** The event-loop test: this many workers doing set+get of values of this size. */
const LOOP_CONCURRENCY = 16;
const LOOP_SIZE = 1024 * 1024;
/** monitorEventLoopDelay's sampling period; an idle loop reads a little over this. */
const LOOP_RESOLUTION_MS = 1;

const GOAL_P50_4K = 10; // percent
const GOAL_P50_ANY = 15; // percent
const GOAL_LOOP_P99_MS = 10;

interface Settings {
  rounds: number;
  /** Time per cell per round at concurrency 1… */
  c1BudgetMs: number;
  /** …but at least this many pairs (1 MiB pairs take milliseconds each). */
  c1MinPairs: number;
  /** Time per cell per round at concurrency 64 (each worker does at least one pair). */
  c64BudgetMs: number;
  /** Warm-up per cell (at most 8 workers), before the rounds. */
  warmupMs: number;
  /** Event-loop test: rounds per variant, and the measured window of each. */
  loopRounds: number;
  loopWindowMs: number;
  /** Workers run this long before the window opens, so that their start is not measured. */
  loopRampMs: number;
  /** How long the idle loop is sampled first, for the machine's baseline. */
  idleMs: number;
}

const FULL: Settings = {
  rounds: 7,
  c1BudgetMs: 300,
  c1MinPairs: 25,
  c64BudgetMs: 400,
  warmupMs: 150,
  loopRounds: 4,
  loopWindowMs: 1500,
  loopRampMs: 300,
  idleMs: 500,
};
const QUICK: Settings = {
  rounds: 3,
  c1BudgetMs: 60,
  c1MinPairs: 5,
  c64BudgetMs: 80,
  warmupMs: 30,
  loopRounds: 2,
  loopWindowMs: 400,
  loopRampMs: 150,
  idleMs: 200,
};

const USAGE = `usage: npm run bench -- cache [--quick] [--json]

  --quick   fewer, shorter rounds (${QUICK.rounds} rounds, ~${QUICK.c1BudgetMs} ms per cell): a smoke run, ~20 s
  --json    print the results as JSON on stdout instead of the table
  --help    this text

Full runs take ${FULL.rounds} rounds of ~${FULL.c1BudgetMs}-${FULL.c64BudgetMs} ms per cell, plus ${FULL.loopRounds} x ${FULL.loopWindowMs} ms
event-loop windows per variant: about a minute and a half in all. Needs redis-server on PATH.
`;

/** One cell's measurement in one round. */
interface RoundSample {
  pairs: number;
  elapsedMs: number;
  p50Us: number;
  p99Us: number;
  pairsPerSecond: number;
  /** CPU time (user + system) of this process per pair, libuv's threads included. */
  cpuUsPerPair: number;
}

/** One cell: median over rounds of each statistic. */
interface CellResult {
  p50Us: number;
  p99Us: number;
  pairsPerSecond: number;
  cpuUsPerPair: number;
  rounds: RoundSample[];
}

interface SizeResult {
  /** The nominal size (1 KiB …) and the values' actual serialised sizes (mean). */
  bytes: number;
  jsonBytes: number;
  /** Mean stored size in Redis (envelope, compressed, for encrypted the token too). */
  storedBytes: Record<Variant, number>;
  codec: CodecName;
  cells: Record<`c${Concurrency}`, Record<Variant, CellResult>>;
}

interface LoopRound {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  pairsPerSecond: number;
  /** Garbage-collection pauses in the window: how many, the longest, how many of 10 ms or more. */
  gcPauses: number;
  gcLongestMs: number;
  gcPausesOver10Ms: number;
}

interface LoopResult {
  /** Longest GC pause in any window, and the median count of pauses ≥ 10 ms per window. */
  gcLongestMs: number;
  gcPausesOver10Ms: number;
  p50Ms: number;
  /** Median over rounds of the round's p99. */
  p99Ms: number;
  /** Largest delay seen in any round. */
  maxMs: number;
  pairsPerSecond: number;
  rounds: LoopRound[];
}

interface Goal {
  description: string;
  /** Percent overhead, or milliseconds for the event loop. */
  value: number;
  threshold: number;
  unit: "%" | "ms";
  pass: boolean;
}

export async function run(args: string[]): Promise<number> {
  const options = parseBenchOptions("cache", args, USAGE);
  if (typeof options === "number") return options;
  const { quick, json } = options;
  const settings = quick ? QUICK : FULL;
  const started = performance.now();
  const loadBefore = loadavg();

  progress("generating values…");
  const values = new Map(SIZES.map((size) => [size, makeValues(size)]));
  progress("starting redis-server…");
  const server = await startRedisServer({});
  const redis = new Redis({ host: server.host, port: server.port, protocol: 2, lazyConnect: true });
  try {
    await redis.connect();
    const keyRing = new KeyRing([Fernet.generateKey()]);
    const caches: Record<Variant, EncryptedCache> = {
      plain: new EncryptedCache(redis, {
        namespace: "bench-plain",
        environment: "development",
        compression: DEFAULT_COMPRESSION,
      }),
      encrypted: new EncryptedCache(redis, {
        namespace: "bench-encrypted",
        environment: "development",
        keyRing,
        compression: DEFAULT_COMPRESSION,
      }),
    };

    progress(`checking both caches' round trips (${SIZES.length} sizes)…`);
    const checks = new Map<number, Check>();
    for (const size of SIZES) checks.set(size, await checkRoundTrips(redis, caches, keyRing, values, size));
    await redis.flushdb();

    progress(`sampling the idle event loop for ${settings.idleMs} ms…`);
    const idle = await idleLoop(settings.idleMs);

    const random = seededRandom(0x5eed);
    const results: SizeResult[] = [];
    for (const size of SIZES) {
      progress(`timing set+get at ${formatSize(size)} (concurrency 1 and 64)…`);
      const check = checks.get(size)!;
      results.push({
        bytes: size,
        jsonBytes: check.jsonBytes,
        storedBytes: check.storedBytes,
        codec: check.codec,
        cells: await measureSize(redis, caches, values.get(size)!, settings, random),
      });
    }

    progress(
      `event-loop delay, ${LOOP_CONCURRENCY} workers of ${formatSize(LOOP_SIZE)} set+get, plain vs encrypted…`,
    );
    const loop = await measureLoop(redis, caches, values.get(LOOP_SIZE)!, settings, random);

    const goals = evaluateGoals(results, loop);
    const meta: Meta = {
      node: process.version,
      redis: await redisVersion(redis),
      cpu: `${cpus()[0]?.model ?? "unknown"} (${cpus().length} CPUs)`,
      loadBefore: loadBefore.map((x) => round2(x)),
      loadAfter: loadavg().map((x) => round2(x)),
      idleLoop: idle,
      settings,
      quick,
      compression: `${DEFAULT_COMPRESSION.codec} ≥ ${formatSize(DEFAULT_COMPRESSION.thresholdBytes)}`,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    if (json) {
      const sizes = results.map((r) => ({ ...r, overheads: overheads(r) }));
      process.stdout.write(
        JSON.stringify({ benchmark: "cache", ...meta, sizes, eventLoop: loop, goals }, null, 2) + "\n",
      );
    } else {
      process.stdout.write(renderReport(meta, results, loop, goals));
    }
    return 0;
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

// ------------------------------------------------------------------ values

function makeValues(size: number): Record<string, unknown>[] {
  return Array.from({ length: VALUES_PER_SIZE }, (_, i) => aiResponse(size, size + i + 1));
}

// ------------------------------------------------------------- correctness

interface Check {
  jsonBytes: number;
  storedBytes: Record<Variant, number>;
  codec: CodecName;
}

async function checkRoundTrips(
  redis: Redis,
  caches: Record<Variant, EncryptedCache>,
  keyRing: KeyRing,
  values: Map<number, Record<string, unknown>[]>,
  size: number,
): Promise<Check> {
  const fail = (what: string): never => {
    throw new Error(`correctness check failed at ${formatSize(size)}: ${what}; refusing to time it`);
  };
  const list = values.get(size) ?? fail("no values");
  const stored: Record<Variant, number> = { plain: 0, encrypted: 0 };
  const codecs = new Set<CodecName>();
  let jsonBytes = 0;
  for (const [i, value] of list.entries()) {
    jsonBytes += Buffer.byteLength(JSON.stringify(value));
    for (const variant of VARIANTS) {
      const cache = caches[variant];
      const key = `check:${size}:${i}`;
      await cache.set(key, value);
      if (!isDeepStrictEqual(await cache.get(key), value)) fail(`${variant} round trip`);
      const raw = (await redis.getBuffer(cache.redisKey(key))) ?? fail(`${variant} value not in Redis`);
      stored[variant] += raw.length;
      const outer = decodeOuter(raw);
      let inner: Buffer;
      if (variant === "plain") {
        if (outer.kind !== "plain") return fail(`plain cache stored a ${outer.kind} envelope`);
        inner = outer.body;
      } else {
        if (outer.kind !== "encrypted") return fail(`encrypted cache stored a ${outer.kind} envelope`);
        inner = keyRing.decrypt(outer.token);
      }
      if (inner.length < INNER_HEADER_LENGTH) fail(`${variant} inner body too short`);
      const codec = codecName(inner[1]);
      codecs.add(codec ?? fail(`${variant} stored an unknown codec`));
    }
  }
  if (codecs.size !== 1) fail(`plain and encrypted used different codecs (${[...codecs].join(", ")})`);
  const codec = [...codecs][0] ?? fail("no codec");
  if (codec === "none") fail("values were stored uncompressed");
  const n = list.length;
  return {
    jsonBytes: jsonBytes / n,
    storedBytes: { plain: stored.plain / n, encrypted: stored.encrypted / n },
    codec,
  };
}

function codecName(id: number | undefined): CodecName | undefined {
  return (Object.keys(CODECS) as CodecName[]).find((name) => CODECS[name] === id);
}

// -------------------------------------------------------------- measuring

/** Fresh key names for every pair, across the whole run. */
let keyCounter = 0;

interface Cell {
  variant: Variant;
  concurrency: Concurrency;
  samples: RoundSample[];
}

async function measureSize(
  redis: Redis,
  caches: Record<Variant, EncryptedCache>,
  values: Record<string, unknown>[],
  settings: Settings,
  random: () => number,
): Promise<SizeResult["cells"]> {
  const cells: Cell[] = CONCURRENCIES.flatMap((concurrency) =>
    VARIANTS.map((variant) => ({ variant, concurrency, samples: [] as RoundSample[] })),
  );
  const runCell = (
    cell: Cell,
    budgetMs: number,
    minPairs: number,
    concurrency: number,
  ): Promise<RoundSample> => timePairs(caches[cell.variant], values, { concurrency, budgetMs, minPairs });

  for (const cell of cells) {
    await runCell(cell, settings.warmupMs, 2, Math.min(cell.concurrency, 8));
    await redis.flushdb();
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (const index of shuffled(cells.length, random)) {
      const cell = cells[index]!;
      const isSequential = cell.concurrency === 1;
      cell.samples.push(
        await runCell(
          cell,
          isSequential ? settings.c1BudgetMs : settings.c64BudgetMs,
          isSequential ? settings.c1MinPairs : 1,
          cell.concurrency,
        ),
      );
      await redis.flushdb();
    }
  }
  const summarise = (variant: Variant, concurrency: Concurrency): CellResult => {
    const cell = cells.find((c) => c.variant === variant && c.concurrency === concurrency)!;
    return {
      p50Us: median(cell.samples.map((s) => s.p50Us)),
      p99Us: median(cell.samples.map((s) => s.p99Us)),
      pairsPerSecond: median(cell.samples.map((s) => s.pairsPerSecond)),
      cpuUsPerPair: median(cell.samples.map((s) => s.cpuUsPerPair)),
      rounds: cell.samples,
    };
  };
  return {
    c1: { plain: summarise("plain", 1), encrypted: summarise("encrypted", 1) },
    c64: { plain: summarise("plain", 64), encrypted: summarise("encrypted", 64) },
  };
}

interface PairOptions {
  concurrency: number;
  /** Workers start new pairs until this much time has passed… */
  budgetMs: number;
  /** …or, with one worker, until this many pairs are done (whichever is later). */
  minPairs: number;
}

/** Runs set+get pairs on fresh keys; each worker loops until the budget is spent. */
async function timePairs(
  cache: EncryptedCache,
  values: Record<string, unknown>[],
  options: PairOptions,
): Promise<RoundSample> {
  const latenciesMs: number[] = [];
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = start + options.budgetMs;
  const worker = async (): Promise<void> => {
    do {
      const n = keyCounter++;
      const key = `k${n}`;
      const value = values[n % values.length];
      const t0 = performance.now();
      await cache.set(key, value);
      const read = await cache.get(key);
      latenciesMs.push(performance.now() - t0);
      if (read === undefined) throw new Error(`cache miss right after set (${key})`);
    } while (
      performance.now() < deadline ||
      (options.concurrency === 1 && latenciesMs.length < options.minPairs)
    );
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const sorted = latenciesMs.sort((a, b) => a - b);
  return {
    pairs: sorted.length,
    elapsedMs,
    p50Us: percentile(sorted, 50) * 1000,
    p99Us: percentile(sorted, 99) * 1000,
    pairsPerSecond: (sorted.length * 1000) / elapsedMs,
    cpuUsPerPair: (cpu.user + cpu.system) / sorted.length,
  };
}

// -------------------------------------------------------------- event loop

interface IdleLoop {
  p99Ms: number;
  maxMs: number;
}

async function idleLoop(ms: number): Promise<IdleLoop> {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, ms));
  histogram.disable();
  return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
}

async function measureLoop(
  redis: Redis,
  caches: Record<Variant, EncryptedCache>,
  values: Record<string, unknown>[],
  settings: Settings,
  random: () => number,
): Promise<Record<Variant, LoopResult>> {
  const rounds: Record<Variant, LoopRound[]> = { plain: [], encrypted: [] };
  for (let round = 0; round < settings.loopRounds; round++) {
    for (const index of shuffled(VARIANTS.length, random)) {
      const variant = VARIANTS[index]!;
      rounds[variant].push(await loopRound(caches[variant], values, settings));
      await redis.flushdb();
    }
  }
  const summarise = (list: LoopRound[]): LoopResult => ({
    p50Ms: median(list.map((r) => r.p50Ms)),
    p99Ms: median(list.map((r) => r.p99Ms)),
    maxMs: Math.max(...list.map((r) => r.maxMs)),
    pairsPerSecond: median(list.map((r) => r.pairsPerSecond)),
    gcLongestMs: Math.max(...list.map((r) => r.gcLongestMs)),
    gcPausesOver10Ms: median(list.map((r) => r.gcPausesOver10Ms)),
    rounds: list,
  });
  return { plain: summarise(rounds.plain), encrypted: summarise(rounds.encrypted) };
}

/**
 * LOOP_CONCURRENCY workers loop 1 MiB set+get pairs; after a ramp-up (so
 * that 16 workers serialising their first value in the same tick is not
 * measured) the delay histogram records for the window, then the workers
 * finish their pair in flight.
 */
async function loopRound(
  cache: EncryptedCache,
  values: Record<string, unknown>[],
  settings: Settings,
): Promise<LoopRound> {
  let stop = false;
  let pairsInWindow = 0;
  let counting = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const n = keyCounter++;
      const key = `k${n}`;
      await cache.set(key, values[n % values.length]);
      if ((await cache.get(key)) === undefined) throw new Error(`cache miss right after set (${key})`);
      if (counting) pairsInWindow++;
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < LOOP_CONCURRENCY; i++) {
    workers.push(worker());
    await yieldToLoop(); // staggered starts
  }
  await new Promise((resolve) => setTimeout(resolve, settings.loopRampMs));
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const gc: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gc.push(entry.duration);
  });
  observer.observe({ entryTypes: ["gc"] });
  histogram.enable();
  counting = true;
  const windowStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, settings.loopWindowMs));
  histogram.disable();
  observer.disconnect();
  counting = false;
  const windowMs = performance.now() - windowStart;
  stop = true;
  await Promise.all(workers);
  return {
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    maxMs: histogram.max / 1e6,
    samples: histogram.count,
    pairsPerSecond: (pairsInWindow * 1000) / windowMs,
    gcPauses: gc.length,
    gcLongestMs: Math.max(0, ...gc),
    gcPausesOver10Ms: gc.filter((ms) => ms >= 10).length,
  };
}

// ------------------------------------------------------ overheads, goals

/**
 * Overheads are medians over rounds of the paired per-round ratios (each
 * round runs both variants, close in time), so drift in the machine's load
 * between rounds cancels; the absolute numbers are medians over rounds.
 */
interface Overhead {
  /** encrypted / plain − 1, in percent (latency: positive is slower). */
  p50: number;
  p99: number;
  /** plain / encrypted − 1 of pairs per second, in percent: the extra time per pair. */
  throughput: number;
  /** encrypted / plain − 1 of this process's CPU time per pair, in percent. */
  cpu: number;
  /** The middle half of the per-round paired p50 overheads (same round, both variants), percent. */
  p50RoundsIqr: [number, number];
}

function overheads(result: SizeResult): Record<`c${Concurrency}`, Overhead> {
  const of = (cells: Record<Variant, CellResult>): Overhead => {
    const { plain, encrypted } = cells;
    // Round r of each variant ran in the same shuffled round, close in time: pair them.
    const paired = (stat: (e: RoundSample, p: RoundSample) => number): number[] =>
      plain.rounds.map((p, i) => {
        const e = encrypted.rounds[i];
        return e === undefined ? NaN : (stat(e, p) - 1) * 100;
      });
    const p50s = paired((e, p) => e.p50Us / p.p50Us).sort((a, b) => a - b);
    return {
      p50: median(p50s),
      p99: median(paired((e, p) => e.p99Us / p.p99Us)),
      throughput: median(paired((e, p) => p.pairsPerSecond / e.pairsPerSecond)),
      cpu: median(paired((e, p) => e.cpuUsPerPair / p.cpuUsPerPair)),
      p50RoundsIqr: [quantile(p50s, 0.25), quantile(p50s, 0.75)],
    };
  };
  return { c1: of(result.cells.c1), c64: of(result.cells.c64) };
}

function evaluateGoals(results: SizeResult[], loop: Record<Variant, LoopResult>): Goal[] {
  const goals: Goal[] = [];
  const overhead = (description: string, value: number, threshold: number): void => {
    goals.push({ description, value, threshold, unit: "%", pass: value <= threshold });
  };
  const four = results.find((r) => r.bytes === 4096);
  if (four === undefined) throw new Error("no result for 4 KiB");
  for (const c of CONCURRENCIES) {
    overhead(`4 KiB p50 overhead, concurrency ${c}`, overheads(four)[`c${c}`].p50, GOAL_P50_4K);
  }
  for (const c of CONCURRENCIES) {
    for (const r of results) {
      overhead(
        `${formatSize(r.bytes)} p50 overhead, concurrency ${c}`,
        overheads(r)[`c${c}`].p50,
        GOAL_P50_ANY,
      );
    }
  }
  goals.push({
    description: `event-loop delay p99, encrypted, ${LOOP_CONCURRENCY} x ${formatSize(LOOP_SIZE)} in flight`,
    value: loop.encrypted.p99Ms,
    threshold: GOAL_LOOP_P99_MS,
    unit: "ms",
    pass: loop.encrypted.p99Ms < GOAL_LOOP_P99_MS,
  });
  return goals;
}

// --------------------------------------------------------------- reporting

interface Meta {
  node: string;
  redis: string;
  cpu: string;
  loadBefore: number[];
  loadAfter: number[];
  idleLoop: IdleLoop;
  settings: Settings;
  quick: boolean;
  compression: string;
  seconds: number;
}

function renderReport(
  meta: Meta,
  results: SizeResult[],
  loop: Record<Variant, LoopResult>,
  goals: Goal[],
): string {
  const s = meta.settings;
  const out: string[] = [
    "",
    `EncryptedCache set+get benchmark${meta.quick ? " (--quick: smoke run, numbers are rough)" : ""}`,
    `  node ${meta.node} · redis-server ${meta.redis} on loopback · ioredis, one connection, RESP2`,
    `  ${meta.cpu} · load average ${meta.loadBefore.join(" ")} before, ${meta.loadAfter.join(" ")} after` +
      ` · idle event loop p99 ${meta.idleLoop.p99Ms.toFixed(2)} ms, max ${meta.idleLoop.maxMs.toFixed(2)} ms`,
    `  plain = no key ring (unencrypted envelope), encrypted = Fernet key ring; both compress with ${meta.compression}`,
    `  one pair = set(key, value) + get(key) on a fresh key; values: aiResponse JSON objects, ${VALUES_PER_SIZE} distinct per size`,
    `  median of ${s.rounds} rounds (4 cells per size, shuffled each round); per cell and round ~${s.c1BudgetMs} ms` +
      ` (at least ${s.c1MinPairs} pairs) at concurrency 1, ~${s.c64BudgetMs} ms at 64 (every worker at least 1 pair)`,
    "  overhead = median over rounds of encrypted / plain − 1, each round's two runs paired (throughput:",
    "  plain / encrypted − 1, the extra time per pair); [a…b] = middle half of those per-round overheads",
    `  noise: ${noise(results)}`,
  ];

  const sizeRows = results.map((r) => {
    const stored = `${formatBytes(r.storedBytes.plain)} / ${formatBytes(r.storedBytes.encrypted)}`;
    return { r, label: formatSize(r.bytes).padEnd(7), json: formatBytes(r.jsonBytes).padStart(9), stored };
  });
  const storedWidth = Math.max(17, ...sizeRows.map((x) => x.stored.length));
  out.push(
    "",
    `size       JSON   ${"stored plain/enc".padStart(storedWidth)}   (${results[0]?.codec ?? "?"}; encrypted adds a 4 B key id, 57 B of Fernet framing, 1-16 B of padding)`,
  );
  for (const x of sizeRows) out.push(`${x.label}${x.json}   ${x.stored.padStart(storedWidth)}`);
  out.push(
    "  (aiResponse draws its text from a 14-word list, so its large values compress far better than prose does:",
    "  at 64 KiB and 1 MiB, encryption works on a few KB, and the JSON, UTF-8 and compression work dominates)",
  );

  for (const c of CONCURRENCIES) {
    out.push(
      "",
      c === 1
        ? "concurrency 1 (one pair at a time)"
        : `concurrency ${c} (${c} workers, set+get pairs back to back)`,
    );
    out.push(
      "size   │  p50 µs plain  encrypted  overhead [middle half] │  p99 µs plain  encrypted  overhead │ pairs/s plain  encrypted  overhead",
    );
    for (const r of results) {
      const cells = r.cells[`c${c}`];
      const o = overheads(r)[`c${c}`];
      const iqr = `[${formatPct(o.p50RoundsIqr[0])}…${formatPct(o.p50RoundsIqr[1])}]`;
      out.push(
        formatSize(r.bytes).padEnd(7) +
          "│" +
          formatMicros(cells.plain.p50Us).padStart(14) +
          formatMicros(cells.encrypted.p50Us).padStart(11) +
          formatPct(o.p50).padStart(10) +
          ` ${iqr}`.padEnd(16) +
          "│" +
          formatMicros(cells.plain.p99Us).padStart(14) +
          formatMicros(cells.encrypted.p99Us).padStart(11) +
          formatPct(o.p99).padStart(10) +
          " │" +
          formatRate(cells.plain.pairsPerSecond).padStart(14) +
          formatRate(cells.encrypted.pairsPerSecond).padStart(11) +
          formatPct(o.throughput).padStart(10),
      );
    }
    const pairs = results.map((r) => {
      const rounds = r.cells[`c${c}`].encrypted.rounds;
      return `${formatSize(r.bytes)} ${median(rounds.map((x) => x.pairs)).toFixed(0)}`;
    });
    out.push(
      `  pairs per round (median, encrypted): ${pairs.join(", ")}; fewer than 100 makes p99 the round's max`,
    );
  }

  out.push(
    "",
    "process CPU per pair (µs, user + system of this process, libuv threads included: less sensitive to other jobs",
    "on the machine than wall time; Redis's own CPU is not in it)",
    "size   │    c1 plain  encrypted  overhead │   c64 plain  encrypted  overhead",
  );
  for (const r of results) {
    const o = overheads(r);
    out.push(
      formatSize(r.bytes).padEnd(7) +
        "│" +
        CONCURRENCIES.map(
          (c) =>
            formatMicros(r.cells[`c${c}`].plain.cpuUsPerPair).padStart(12) +
            formatMicros(r.cells[`c${c}`].encrypted.cpuUsPerPair).padStart(11) +
            formatPct(o[`c${c}`].cpu).padStart(10),
        ).join(" │"),
    );
  }

  out.push(
    "",
    `event-loop delay while ${LOOP_CONCURRENCY} workers set+get ${formatSize(LOOP_SIZE)} values ` +
      `(monitorEventLoopDelay, resolution ${LOOP_RESOLUTION_MS} ms: values include the 1 ms tick;`,
    `  median of ${s.loopRounds} windows of ${s.loopWindowMs} ms per variant, after ${s.loopRampMs} ms of ramp-up; max over all windows)`,
    "variant      p50 ms   p99 ms   max ms   pairs/s │ GC pauses ≥ 10 ms per window, longest GC pause",
  );
  for (const variant of VARIANTS) {
    const l = loop[variant];
    out.push(
      variant.padEnd(10) +
        l.p50Ms.toFixed(2).padStart(9) +
        l.p99Ms.toFixed(2).padStart(9) +
        l.maxMs.toFixed(2).padStart(9) +
        formatRate(l.pairsPerSecond).padStart(10) +
        " │ " +
        `${l.gcPausesOver10Ms.toFixed(0)}, ${l.gcLongestMs.toFixed(1)} ms`,
    );
  }
  out.push(
    `  per window p99 (ms): plain ${loop.plain.rounds.map((r) => r.p99Ms.toFixed(1)).join(" ")}; ` +
      `encrypted ${loop.encrypted.rounds.map((r) => r.p99Ms.toFixed(1)).join(" ")}`,
  );

  out.push("", "goals (reported, not enforced: the benchmark exits 0 either way)");
  for (const g of goals) {
    const value = g.unit === "%" ? formatPct(g.value) : `${g.value.toFixed(2)} ms`;
    const rule = g.unit === "%" ? `need ≤ ${g.threshold}%` : `need < ${g.threshold} ms`;
    out.push(`  ${g.pass ? "PASS" : "MISS"}  ${g.description.padEnd(58)} ${value.padStart(9)}  (${rule})`);
  }
  const tails = results.flatMap((r) =>
    CONCURRENCIES.flatMap((c) => {
      const o = overheads(r)[`c${c}`];
      return [
        { where: `${formatSize(r.bytes)} c${c} p99`, value: o.p99 },
        { where: `${formatSize(r.bytes)} c${c} throughput`, value: o.throughput },
      ];
    }),
  );
  const within = tails.filter((t) => t.value <= GOAL_P50_ANY).length;
  const worst = tails.reduce((a, b) => (b.value > a.value ? b : a));
  out.push(
    `  info  p99 and throughput overheads ≤ ${GOAL_P50_ANY}%: ${within} of ${tails.length} cells; ` +
      `worst ${worst.where} ${formatPct(worst.value)}`,
    `  info  event-loop delay p99, plain (same workload unencrypted): ${loop.plain.p99Ms.toFixed(2)} ms`,
  );
  const passed = goals.filter((g) => g.pass).length;
  out.push("", `${passed}/${goals.length} goals PASS · ${meta.seconds} s`, "");
  return out.join("\n");
}

/** The spread of the rounds' p50 over every cell (each size, concurrency and variant). */
function noise(results: SizeResult[]): string {
  const cells: NoiseCell[] = results.flatMap((r) =>
    CONCURRENCIES.flatMap((c) =>
      VARIANTS.map((variant) => {
        const cell = r.cells[`c${c}`][variant];
        return {
          samples: cell.rounds.map((x) => x.p50Us),
          median: cell.p50Us,
          where: `${variant} ${formatSize(r.bytes)} c${c}`,
        };
      }),
    ),
  );
  return noiseSummary(cells, { subject: "the rounds' p50" });
}

async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info("server");
  return /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
}

function formatBytes(bytes: number): string {
  return `${Math.round(bytes)} B`;
}

function formatPct(x: number): string {
  if (!Number.isFinite(x)) return "?";
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)}%`;
}

function formatRate(x: number): string {
  return x < 100 ? x.toFixed(1) : x.toFixed(0);
}
