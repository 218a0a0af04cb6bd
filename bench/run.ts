/**
 * Benchmark dispatcher: `npm run bench -- <name> [options]`.
 *
 * A benchmark lives in `bench/<name>.ts` and exports
 * `run(args: string[]): Promise<number | void>` (the exit code; nothing means
 * 0). Registering one is one entry in BENCHMARKS below; its module is loaded
 * only when it is run, so `--help` stays fast and one benchmark's
 * dependencies never burden another.
 */

/** What `run` needs from a benchmark module. */
export interface BenchmarkModule {
  run(args: string[]): Promise<number | void>;
}

export interface Benchmark {
  /** One line for `--help`. */
  description: string;
  load(): Promise<BenchmarkModule>;
}

export const BENCHMARKS: Readonly<Record<string, Benchmark>> = {
  fernet: {
    description:
      "Fernet encrypt/decrypt per op, 100 B to 1 MiB: ours (text and bytes) vs Python cryptography, npm fernet, bare node:crypto",
    load: () => import("./fernet.js"),
  },
  cache: {
    description:
      "EncryptedCache set+get on a local redis-server, 1 KiB to 1 MiB, concurrency 1 and 64: encrypted vs unencrypted, event-loop delay",
    load: () => import("./cache.js"),
  },
  codecs: {
    description:
      "Compression codecs on AI-response JSON, 512 B to 1 MiB: ratio, compress and decompress µs (none, gzip, brotli, zstd)",
    load: () => import("./codecs.js"),
  },
};

function usage(): string {
  const names = Object.keys(BENCHMARKS);
  const width = Math.max(...names.map((name) => name.length));
  const lines = [
    "usage: npm run bench -- <benchmark> [options]",
    "       npm run bench -- <benchmark> --help   (that benchmark's options)",
    "",
    "benchmarks:",
    ...names.map((name) => `  ${name.padEnd(width)}  ${BENCHMARKS[name]?.description ?? ""}`),
  ];
  return lines.join("\n") + "\n";
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  const benchmark = Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
  if (benchmark === undefined) {
    process.stderr.write(`unknown benchmark: ${name}\n\n${usage()}`);
    return 2;
  }
  const module = await benchmark.load();
  return (await module.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
