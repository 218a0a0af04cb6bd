/**
 * A private build of the package for tests that run the real `secure-redis`
 * executable: `tsc -p tsconfig.build.json` into `dist/.cli-test-<pid>-<n>/`
 * with a package.json naming the same bin, so that `npx secure-redis` run
 * there resolves the project's own bin exactly as in the repository root.
 *
 * Why not `npm run build`: other test files build into dist/ at the same
 * time, and two compilers rewriting the same files can hand a half-written
 * module to a process importing it. Node still resolves dependencies (ioredis,
 * zod, ...) from the repository's node_modules, two levels up.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { onProcessEnd } from "./process-cleanup.js";

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
let counter = 0;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliBuild {
  /** The build's root (holds package.json and lib/). */
  dir: string;
  /** Path of the compiled lib/cli/main.js. */
  main: string;
  /** `node main.js ...args`. */
  node(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CliRun>;
  /** `npx --no-install secure-redis ...args`, from the build's root. */
  npx(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv }): Promise<CliRun>;
  remove(): void;
}

export function buildCli(): CliBuild {
  const dir = join(root, "dist", `.cli-test-${process.pid}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  onProcessEnd(remove);
  execFileSync(
    join(root, "node_modules", ".bin", "tsc"),
    ["-p", join(root, "tsconfig.build.json"), "--outDir", dir],
    {
      cwd: root,
      stdio: "pipe",
    },
  );
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    name: string;
    version: string;
    bin: Record<string, string>;
  };
  const bin = pkg.bin["secure-redis"];
  if (bin === undefined) throw new Error("package.json has no bin.secure-redis");
  // The same name and bin as the real package, relative to this build (dist/lib/... -> lib/...).
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: pkg.name,
      version: pkg.version,
      type: "module",
      bin: { "secure-redis": bin.replace("./dist/", "./") },
    }),
  );
  const main = join(dir, "lib", "cli", "main.js");
  const run = async (
    file: string,
    args: readonly string[],
    cwd: string,
    env: NodeJS.ProcessEnv | undefined,
  ): Promise<CliRun> => {
    try {
      const { stdout, stderr } = await execFileAsync(file, [...args], {
        cwd,
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number | string; stdout?: string; stderr?: string };
      if (typeof failed.code !== "number") throw error;
      return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  };
  return {
    dir,
    main,
    node: (args, opts = {}) => run(process.execPath, [main, ...args], opts.cwd ?? dir, opts.env),
    npx: (args, opts = {}) => run("npx", ["--no-install", "secure-redis", ...args], dir, opts.env),
    remove,
  };
}
