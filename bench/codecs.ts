/**
 * `npm run bench -- codecs [--quick] [--json]`
 *
 * The data behind the cache's default compression policy
 * (lib/cache/value-codec.ts: DEFAULT_COMPRESSION, brotli quality 1 from
 * 1 KiB): on AI-response-like JSON (test/helpers/cache-fixtures.ts
 * `aiResponse`) of 512 B … 1 MiB, for
 *
 *   none                 the baseline (100%)
 *   gzip level 1 and 6   (the cache's gzip codec uses 6)
 *   brotli q1, q4, q5    with SIZE_HINT, as the cache calls it (q1 is the default)
 *   zstd level 1 and 3   where this Node has zlib.zstdCompressSync (3 is zstd's and the cache's default)
 *
 * the compression ratio (compressed / original, over several distinct values
 * per size), and the synchronous compress and decompress time per value.
 * Per size, every (codec, operation) pair is warmed up, then every round runs
 * one batch of each, in an order shuffled from round to round, and the
 * median round is reported. Every compressed value is decompressed and
 * compared with the original before anything is timed.
 *
 * It ends with a recommendation computed from the data: among the codecs
 * whose compress time at 4 KiB and at 64 KiB is within 1.5x of the fastest
 * codec's, the best ratio (once among all, once among those stable in every
 * Node 22: zstd is experimental there and missing before 22.15); and, for
 * the threshold, where that codec's fixed per-call cost stops dominating.
 */
import { cpus, loadavg } from "node:os";
import zlib from "node:zlib";
import { aiResponse } from "../test/helpers/cache-fixtures.js";
import {
  batch,
  formatMicros,
  formatSize,
  median,
  noiseSummary,
  progressReporter,
  round2,
  seededRandom,
  shuffled,
  sinkTotal,
  warmUp,
  type NoiseCell,
  parseBenchOptions,
} from "./support.js";

const progress = progressReporter("codecs");

const SIZES = [512, 1024, 4096, 64 * 1024, 1024 * 1024] as const;
/** Sizes the recommendation weighs: typical AI responses. */
const RECOMMEND_SIZES = [4096, 64 * 1024] as const;
/** A codec qualifies when its compress time is within this factor of the fastest one's. */
const SPEED_SLACK = 1.5;
const VALUES_PER_SIZE = 8;
const DEFAULT_CODEC = "brotli-1";
const DEFAULT_THRESHOLD = 1024;
/** The threshold rule: compress where the codec at least halves the value. */
const HALVES = 50;

interface CodecSpec {
  name: string;
  family: "none" | "gzip" | "brotli" | "zstd";
  /** Part of zlib in every Node 22 (zstd is experimental and needs 22.15+). */
  stable: boolean;
  compress: (input: Buffer) => Buffer;
  decompress: (input: Buffer) => Buffer;
}

function codecs(): CodecSpec[] {
  const list: CodecSpec[] = [
    { name: "none", family: "none", stable: true, compress: (b) => b, decompress: (b) => b },
  ];
  for (const level of [1, 6]) {
    list.push({
      name: `gzip-${level}`,
      family: "gzip",
      stable: true,
      compress: (b) => zlib.gzipSync(b, { level }),
      decompress: (b) => zlib.gunzipSync(b),
    });
  }
  for (const quality of [1, 4, 5]) {
    list.push({
      name: `brotli-${quality}`,
      family: "brotli",
      stable: true,
      compress: (b) =>
        zlib.brotliCompressSync(b, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length,
          },
        }),
      decompress: (b) => zlib.brotliDecompressSync(b),
    });
  }
  // zstd exists from Node 22.15 (experimental); the typings declare it unconditionally.
  if (typeof zlib.zstdCompressSync === "function") {
    for (const level of [1, 3]) {
      list.push({
        name: `zstd-${level}`,
        family: "zstd",
        stable: false,
        compress: (b) =>
          zlib.zstdCompressSync(b, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } }),
        decompress: (b) => zlib.zstdDecompressSync(b),
      });
    }
  }
  return list;
}

interface Settings {
  /** Time per (codec, size, op) over all rounds, warm-up excluded. */
  budgetMs: number;
  warmupMs: number;
  rounds: number;
}

const FULL: Settings = { budgetMs: 250, warmupMs: 30, rounds: 11 };
const QUICK: Settings = { budgetMs: 40, warmupMs: 10, rounds: 3 };

const USAGE = `usage: npm run bench -- codecs [--quick] [--json]

  --quick   fewer, shorter rounds (${QUICK.rounds} rounds, ~${QUICK.budgetMs} ms per codec/size/op): a smoke run
  --json    print the results as JSON on stdout instead of the table
  --help    this text

Full runs take ${FULL.rounds} rounds, ~${FULL.budgetMs} ms per codec/size/op: about half a minute.
`;

interface OpMeasurement {
  /** Median over rounds of µs per value. */
  us: number;
  samplesUs: number[];
  iterationsPerRound: number;
}

interface CodecResult {
  codec: string;
  /** Sum of compressed sizes / sum of original sizes, in percent. */
  ratioPct: number;
  compressedBytes: number;
  compress: OpMeasurement;
  decompress: OpMeasurement;
}

interface SizeResult {
  bytes: number;
  /** Mean actual serialised size of the values. */
  jsonBytes: number;
  codecs: CodecResult[];
}

export async function run(args: string[]): Promise<number> {
  const options = parseBenchOptions("codecs", args, USAGE);
  if (typeof options === "number") return options;
  const { quick, json } = options;
  const settings = quick ? QUICK : FULL;
  const started = performance.now();
  const loadBefore = loadavg();
  const specs = codecs();
  const random = seededRandom(0xc0dec);

  const results: SizeResult[] = [];
  for (const size of SIZES) {
    progress(`timing ${specs.length} codecs at ${formatSize(size)}…`);
    const inputs = Array.from({ length: VALUES_PER_SIZE }, (_, i) =>
      Buffer.from(JSON.stringify(aiResponse(size, size + i + 1)), "utf8"),
    );
    results.push(await measureSize(size, inputs, specs, settings, random));
  }

  const recommendation = recommend(results, specs);
  const meta: Meta = {
    node: process.version,
    zlib: process.versions.zlib ?? "unknown",
    brotli: process.versions.brotli ?? "unknown",
    zstd: process.versions.zstd ?? "absent",
    cpu: `${cpus()[0]?.model ?? "unknown"} (${cpus().length} CPUs)`,
    loadBefore: loadBefore.map(round2),
    loadAfter: loadavg().map(round2),
    settings,
    quick,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    sink: sinkTotal(),
  };
  if (json) {
    process.stdout.write(
      JSON.stringify({ benchmark: "codecs", ...meta, sizes: results, recommendation }, null, 2) + "\n",
    );
  } else {
    process.stdout.write(renderReport(meta, results, specs, recommendation));
  }
  return 0;
}

// -------------------------------------------------------------- measuring

interface Contender {
  codec: number;
  op: "compress" | "decompress";
  /** One call on the i-th value (cycling); returns a length. */
  fn: (i: number) => number;
}

async function measureSize(
  size: number,
  inputs: Buffer[],
  specs: CodecSpec[],
  settings: Settings,
  random: () => number,
): Promise<SizeResult> {
  const compressed = specs.map((spec) => inputs.map((input) => spec.compress(input)));
  // Correctness: every codec round-trips every value.
  specs.forEach((spec, c) => {
    compressed[c]!.forEach((packed, i) => {
      if (!spec.decompress(packed).equals(inputs[i]!)) {
        throw new Error(`${spec.name} does not round-trip value ${i} at ${formatSize(size)}`);
      }
    });
  });

  const contenders: Contender[] = [];
  specs.forEach((spec, c) => {
    if (spec.family === "none") return; // nothing to time
    const packed = compressed[c]!;
    contenders.push(
      { codec: c, op: "compress", fn: (i) => spec.compress(inputs[i % inputs.length]!).length },
      { codec: c, op: "decompress", fn: (i) => spec.decompress(packed[i % packed.length]!).length },
    );
  });
  const measured = await interleave(contenders, settings, random);

  const total = (buffers: Buffer[]): number => buffers.reduce((sum, b) => sum + b.length, 0);
  const original = total(inputs);
  const zero: OpMeasurement = { us: 0, samplesUs: [], iterationsPerRound: 0 };
  return {
    bytes: size,
    jsonBytes: original / inputs.length,
    codecs: specs.map((spec, c) => {
      const find = (op: Contender["op"]): OpMeasurement =>
        measured[contenders.findIndex((x) => x.codec === c && x.op === op)] ?? zero;
      return {
        codec: spec.name,
        ratioPct: (total(compressed[c]!) / original) * 100,
        compressedBytes: total(compressed[c]!) / inputs.length,
        compress: find("compress"),
        decompress: find("decompress"),
      };
    }),
  };
}

async function interleave(
  contenders: Contender[],
  settings: Settings,
  random: () => number,
): Promise<OpMeasurement[]> {
  const roundNs = (settings.budgetMs * 1e6) / settings.rounds;
  const plans = contenders.map((c) => {
    const estimate = warmUp(c.fn, settings.warmupMs * 1e6);
    return { perRound: Math.max(1, Math.floor(roundNs / estimate)), samples: [] as number[] };
  });
  for (let round = 0; round < settings.rounds; round++) {
    for (const index of shuffled(contenders.length, random)) {
      const plan = plans[index]!;
      plan.samples.push(batch(contenders[index]!.fn, plan.perRound) / plan.perRound);
    }
    // Let the loop breathe between rounds (progress output, a shared machine's timers).
    await new Promise((resolve) => setImmediate(resolve));
  }
  return plans.map((plan) => ({
    us: median(plan.samples) / 1000,
    samplesUs: plan.samples.map((ns) => Math.round(ns) / 1000),
    iterationsPerRound: plan.perRound,
  }));
}

// --------------------------------------------------------- recommendation

interface Pick {
  codec: string;
  /** Mean ratio over RECOMMEND_SIZES, percent. */
  ratioPct: number;
  /** Compress time over the fastest codec's, worst of RECOMMEND_SIZES. */
  slowdown: number;
}

interface Recommendation {
  rule: string;
  /** Every compressor, best ratio first. */
  candidates: (Pick & { qualifies: boolean })[];
  best: Pick | undefined;
  bestStable: Pick | undefined;
  thresholdRule: string;
  /** Per size, for the stable pick (the default when none qualifies): bytes saved and CPU spent. */
  costs: { bytes: number; ratioPct: number; savedBytes: number; us: number }[];
  /** Smallest size from which the pick at least halves every larger size too. */
  threshold: number | undefined;
}

function recommend(results: SizeResult[], specs: CodecSpec[]): Recommendation {
  const at = (bytes: number): SizeResult => {
    const found = results.find((r) => r.bytes === bytes);
    if (found === undefined) throw new Error(`no result for ${bytes} bytes`);
    return found;
  };
  const compressors = specs.filter((s) => s.family !== "none");
  const picks: Pick[] = compressors.map((spec) => {
    let slowdown = 0;
    let ratio = 0;
    for (const bytes of RECOMMEND_SIZES) {
      const r = at(bytes);
      const fastest = Math.min(...r.codecs.filter((c) => c.codec !== "none").map((c) => c.compress.us));
      const mine = r.codecs.find((c) => c.codec === spec.name)!;
      slowdown = Math.max(slowdown, mine.compress.us / fastest);
      ratio += mine.ratioPct / RECOMMEND_SIZES.length;
    }
    return { codec: spec.name, ratioPct: ratio, slowdown };
  });
  const candidates = picks
    .map((p) => ({ ...p, qualifies: p.slowdown <= SPEED_SLACK }))
    .sort((a, b) => a.ratioPct - b.ratioPct);
  const qualifying = candidates.filter((p) => p.qualifies);
  const stableNames = new Set(compressors.filter((s) => s.stable).map((s) => s.name));
  const strip = (p: (typeof candidates)[number] | undefined): Pick | undefined =>
    p === undefined ? undefined : { codec: p.codec, ratioPct: p.ratioPct, slowdown: p.slowdown };
  const best = strip(qualifying[0]);
  const bestStable = strip(qualifying.find((p) => stableNames.has(p.codec)));

  const costCodec = bestStable?.codec ?? DEFAULT_CODEC;
  const costs = results.map((r) => {
    const c = r.codecs.find((x) => x.codec === costCodec)!;
    return {
      bytes: r.bytes,
      ratioPct: c.ratioPct,
      savedBytes: r.jsonBytes - c.compressedBytes,
      us: c.compress.us + c.decompress.us,
    };
  });
  let threshold: number | undefined;
  for (let i = costs.length - 1; i >= 0; i--) {
    if (costs[i]!.ratioPct > HALVES) break;
    threshold = costs[i]!.bytes;
  }
  return {
    rule:
      `best mean ratio at ${RECOMMEND_SIZES.map(formatSize).join(" and ")} among codecs whose compress time ` +
      `is within ${SPEED_SLACK}x of the fastest codec's at each of those sizes`,
    candidates,
    best,
    bestStable,
    thresholdRule: `the smallest size from which ${costCodec} at least halves the value (ratio ≤ ${HALVES}%) at every larger size`,
    costs,
    threshold,
  };
}

// --------------------------------------------------------------- reporting

interface Meta {
  node: string;
  zlib: string;
  brotli: string;
  zstd: string;
  cpu: string;
  loadBefore: number[];
  loadAfter: number[];
  settings: Settings;
  quick: boolean;
  seconds: number;
  /** Sum of the output lengths of every timed call (it keeps the results live). */
  sink: number;
}

function renderReport(
  meta: Meta,
  results: SizeResult[],
  specs: CodecSpec[],
  recommendation: Recommendation,
): string {
  const s = meta.settings;
  const out: string[] = [
    "",
    `Compression codecs on AI-response JSON${meta.quick ? " (--quick: smoke run, numbers are rough)" : ""}`,
    `  node ${meta.node} · zlib ${meta.zlib} · brotli ${meta.brotli} · zstd ${meta.zstd}${specs.some((x) => x.family === "zstd") ? "" : " (zstd rows skipped)"}`,
    `  ${meta.cpu} · load average ${meta.loadBefore.join(" ")} before, ${meta.loadAfter.join(" ")} after`,
    `  ${VALUES_PER_SIZE} distinct aiResponse values per size; ratio = compressed / original over all of them`,
    `  sync calls, median of ${s.rounds} rounds (codecs and ops interleaved, shuffled each round), ~${s.budgetMs} ms per codec/size/op`,
    `  cache default: ${DEFAULT_CODEC.replace("-", " q")} from ${formatSize(DEFAULT_THRESHOLD)} (lib/cache/value-codec.ts)`,
    `  noise: ${noise(results)}`,
  ];
  const names = specs.map((x) => x.name);
  const col = 10;
  const header = "size".padEnd(9) + names.map((n) => n.padStart(col)).join("");
  const table = (title: string, cell: (c: CodecResult) => string): void => {
    out.push("", title, header);
    for (const r of results) {
      out.push(
        formatSize(r.bytes).padEnd(9) +
          names
            .map((name) => {
              const c = r.codecs.find((x) => x.codec === name);
              return (c === undefined ? "?" : cell(c)).padStart(col);
            })
            .join(""),
      );
    }
  };
  table("ratio (compressed / original, %; lower is better)", (c) => c.ratioPct.toFixed(1));
  table("compress (µs per value, sync)", (c) => (c.codec === "none" ? "—" : formatMicros(c.compress.us)));
  table("decompress (µs per value, sync)", (c) => (c.codec === "none" ? "—" : formatMicros(c.decompress.us)));
  out.push(
    "",
    `actual sizes: ${results.map((r) => `${formatSize(r.bytes)} ≈ ${Math.round(r.jsonBytes)} B`).join(", ")}`,
  );

  const rec = recommendation;
  out.push("", `recommendation rule: ${rec.rule}`);
  out.push(
    "  mean ratio, worst compress time over the fastest's (✓ within the slack):",
    "  " +
      rec.candidates
        .map(
          (p) => `${p.codec} ${p.ratioPct.toFixed(1)}% ${p.slowdown.toFixed(2)}x${p.qualifies ? " ✓" : ""}`,
        )
        .join(" · "),
    `threshold rule: ${rec.thresholdRule}`,
    "  " +
      rec.costs
        .map(
          (x) =>
            `${formatSize(x.bytes)}: ${x.ratioPct.toFixed(0)}%, saves ${Math.round(x.savedBytes)} B for ${formatMicros(x.us)} µs`,
        )
        .join(" · "),
    "  (µs = compress + decompress of one value)",
  );
  const verdict = (pick: Pick | undefined): string => (pick === undefined ? "none qualifies" : pick.codec);
  const same = rec.bestStable?.codec === DEFAULT_CODEC;
  const thresholdText =
    rec.threshold === undefined
      ? "no size qualifies"
      : `${formatSize(rec.threshold)}${rec.threshold === DEFAULT_THRESHOLD ? " (= the default)" : ` (default ${formatSize(DEFAULT_THRESHOLD)})`}`;
  out.push(
    "",
    `RECOMMENDATION: ${verdict(rec.bestStable)} among codecs stable in every Node 22` +
      `${same ? " (= the default)" : ` (default ${DEFAULT_CODEC})`}; ` +
      `${verdict(rec.best)} among all; threshold ${thresholdText}`,
    `${meta.seconds} s`,
    "",
  );
  return out.join("\n");
}

/** The spread of the rounds over every timed cell (each size, codec and op; "none" is not timed). */
function noise(results: SizeResult[]): string {
  const cells: NoiseCell[] = results.flatMap((r) =>
    r.codecs.flatMap((c) =>
      (["compress", "decompress"] as const)
        .filter((op) => c[op].us !== 0)
        .map((op) => ({
          samples: c[op].samplesUs,
          median: c[op].us,
          where: `${c.codec} ${op} ${formatSize(r.bytes)}`,
        })),
    ),
  );
  return noiseSummary(cells, { subject: "rounds'" });
}
