/**
 * Real `redis-server` processes for integration tests, one per call, each on
 * free loopback port(s) with its own temp dir (config files, ACL file, any
 * dump) that is removed on stop. Nothing is ever written into the repo:
 * `--dir` is the temp dir, `--save ""`, `--appendonly no`.
 *
 *   const tls = await createTlsFixtures();
 *   const server = await startRedisServer({ tls: serverTls(tls), aclFile: "user default off\n..." });
 *   try { ... server.port ... } finally { await server.stop(); }
 *
 * or, in a describe block, `const redis = useRedisServer(() => ({ ... }))` and
 * `redis()` inside the tests (started in beforeAll, stopped in afterAll).
 *
 * Servers still running when the test process ends are killed and their dirs
 * removed (exit/SIGTERM hook, plus PDEATHSIG via `setpriv` for a SIGKILLed
 * test process), so a failing test cannot leak a process.
 */
import { onProcessEnd, sweepStaleTempDirs } from "./process-cleanup.js";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { MissingComponentError, requireExecutable } from "./components.js";
import type { TlsFixtures } from "./tls-fixtures.js";

export type TlsAuthClients = "yes" | "no" | "optional";

export interface RedisServerTlsOptions {
  /** Path of the server certificate (PEM). */
  cert: string;
  /** Path of the server private key (PEM). */
  key: string;
  /** Path of the CA bundle used to verify client certificates (PEM); redis requires one. */
  ca: string;
  /**
   * Mutual TLS (`tls-auth-clients`). Default here: `"no"` (redis's own default
   * is `"yes"`), so the common server-auth-only case needs no client cert.
   */
  authClients?: TlsAuthClients;
}

export interface RedisServerOptions {
  /** Serve TLS. Without `plaintextPortToo` the plaintext port is disabled (`--port 0`). */
  tls?: RedisServerTlsOptions;
  /** With `tls`: also listen on a plaintext port (`plainPort`). */
  plaintextPortToo?: boolean;
  /** Content of an ACL file, written to `<dir>/users.acl` and passed as `--aclfile`. */
  aclFile?: string;
  /** `--requirepass` (the default user's password). */
  requirePass?: string;
  /** `--protected-mode yes|no`; unset leaves redis's default (yes). */
  protectedMode?: boolean;
  /**
   * Verbatim extra redis arguments appended last, e.g. `["--maxmemory", "64mb"]`
   * or the args rendered from a config. They must not set `port`, `tls-port`,
   * `bind` or `dir`, which this helper owns.
   */
  extraArgs?: readonly string[];
  /** Listen address (default 127.0.0.1); also the `host` clients use. */
  bind?: string;
  /** How long to wait for "Ready to accept connections" (default 15 s). */
  readyTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop (default 5 s). */
  stopTimeoutMs?: number;
}

export interface RedisServer {
  /** Address clients connect to (the bind address). */
  readonly host: string;
  /** The port clients use: the TLS port when `tls` is set, else the plaintext port. */
  readonly port: number;
  /** TLS port, when `tls` is set. */
  readonly tlsPort: number | undefined;
  /** Plaintext port, when one is open (no `tls`, or `plaintextPortToo`). */
  readonly plainPort: number | undefined;
  /** Whether `port` speaks TLS. */
  readonly tls: boolean;
  /** The server's temp dir (its `--dir`); removed by `stop()`. */
  readonly dir: string;
  /** Path of the ACL file when `aclFile` was given (redis `ACL SAVE` writes here). */
  readonly aclFilePath: string | undefined;
  /** The full redis-server argument list. */
  readonly args: readonly string[];
  /** PID of the current process (changes on `restart()`). */
  readonly pid: number;
  /** Whether the process is running. */
  readonly running: boolean;
  /** Everything the server wrote to stdout/stderr so far, across restarts. */
  logs(): string;
  /** SIGTERM, then SIGKILL after `stopTimeoutMs`; removes `dir`. Idempotent. */
  stop(): Promise<void>;
  /** Stops the process (keeping `dir`) and starts it again with the same args and ports. */
  restart(): Promise<void>;
}

const READY = "Ready to accept connections";
const OWNED_ARGS = new Set(["--port", "--tls-port", "--bind", "--dir"]);
const MAX_LOG_CHARS = 1_000_000;

/** Servers started by this module and not yet stopped; killed by the teardown hook. */
const live = new Set<{ child: () => ChildProcess | undefined; dir: string }>();
const DIR_PREFIX = "secure-redis-server-";

function killLiveServersSync(): void {
  for (const entry of live) {
    const child = entry.child();
    if (child?.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(entry.dir, { recursive: true, force: true });
  }
  live.clear();
}

/** `setpriv --pdeathsig KILL` when util-linux has it: redis dies with the test process, even on SIGKILL. */
let setprivPath: string | null | undefined;
function deathSignalWrapper(): string | null {
  if (setprivPath === undefined) {
    try {
      execFileSync("setpriv", ["--pdeathsig", "KILL", "true"], { stdio: "ignore", timeout: 10_000 });
      setprivPath = "setpriv";
    } catch {
      setprivPath = null;
    }
  }
  return setprivPath;
}

/**
 * A TCP port that was free a moment ago on `host` (bind port 0, read it,
 * close). Another process can take it before you bind it; `startRedisServer`
 * retries with a new port when that happens.
 */
export async function getFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const address = srv.address();
      if (address === null || typeof address === "string") {
        srv.close();
        reject(new Error("getFreePort: no TCP address"));
        return;
      }
      srv.close(() => resolve(address.port));
    });
  });
}

/**
 * The TCP ports process `pid` listens on (IPv4 and IPv6), from /proc: its
 * socket inodes matched against LISTEN entries of /proc/net/tcp{,6}. Linux only.
 */
export async function listeningTcpPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1] !== undefined) inodes.add(match[1]);
  }
  const ports = new Set<number>();
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const local = cols[1];
      if (cols[3] !== "0A" || local === undefined || !inodes.has(cols[9] ?? "")) continue;
      ports.add(Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** `tls` options for `startRedisServer` from fixtures (the valid server cert unless another pair is given). */
export function serverTls(
  fixtures: TlsFixtures,
  opts: { authClients?: TlsAuthClients; pair?: "server" | "expiredServer" | "untrustedServer" } = {},
): RedisServerTlsOptions {
  const pair = fixtures[opts.pair ?? "server"];
  return {
    cert: pair.certPath,
    key: pair.keyPath,
    ca: fixtures.ca.certPath,
    ...(opts.authClients === undefined ? {} : { authClients: opts.authClients }),
  };
}

class AddressInUseError extends Error {}

function buildArgs(
  options: RedisServerOptions,
  dir: string,
  aclFilePath: string | undefined,
  ports: { plain: number | undefined; tls: number | undefined },
): string[] {
  const args = ["--bind", options.bind ?? "127.0.0.1", "--port", String(ports.plain ?? 0)];
  if (options.tls !== undefined && ports.tls !== undefined) {
    args.push(
      "--tls-port",
      String(ports.tls),
      "--tls-cert-file",
      options.tls.cert,
      "--tls-key-file",
      options.tls.key,
      "--tls-ca-cert-file",
      options.tls.ca,
      "--tls-auth-clients",
      options.tls.authClients ?? "no",
    );
  }
  args.push("--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice");
  if (aclFilePath !== undefined) args.push("--aclfile", aclFilePath);
  if (options.requirePass !== undefined) args.push("--requirepass", options.requirePass);
  if (options.protectedMode !== undefined) {
    args.push("--protected-mode", options.protectedMode ? "yes" : "no");
  }
  args.push(...(options.extraArgs ?? []));
  return args;
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Spawns redis-server and resolves when it logs READY; rejects (child dead) otherwise. */
function spawnUntilReady(
  executable: string,
  args: string[],
  timeoutMs: number,
  appendLog: (chunk: string) => void,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // setpriv execs redis-server in place (same pid) after setting PR_SET_PDEATHSIG.
    const wrapper = deathSignalWrapper();
    const child =
      wrapper === null
        ? spawn(executable, args, { stdio: ["ignore", "pipe", "pipe"] })
        : spawn(wrapper, ["--pdeathsig", "KILL", executable, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let settled = false;
    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) resolve(child);
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      appendLog(text);
      output += text;
      if (output.includes(READY)) settle(undefined);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", (error: NodeJS.ErrnoException) => {
      settle(error.code === "ENOENT" ? new MissingComponentError("redis-server") : error);
    });
    child.once("exit", (code, signal) => {
      if (/Address already in use/i.test(output)) {
        settle(new AddressInUseError(tail(output)));
        return;
      }
      settle(
        new Error(
          `redis-server exited (${signal ?? `code ${String(code)}`}) before it was ready.\n` +
            `args: ${JSON.stringify(args)}\nlog tail:\n${tail(output)}`,
        ),
      );
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      settle(
        new Error(
          `redis-server did not log "${READY}" within ${timeoutMs} ms.\n` +
            `args: ${JSON.stringify(args)}\nlog tail:\n${tail(output)}`,
        ),
      );
    }, timeoutMs);
  });
}

async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts a redis-server and waits until it accepts connections. See `RedisServerOptions`. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const executable = requireExecutable("redis-server");
  for (const arg of options.extraArgs ?? []) {
    if (OWNED_ARGS.has(arg)) {
      throw new Error(`startRedisServer: extraArgs must not set ${arg} (the helper owns it)`);
    }
  }
  if (options.plaintextPortToo === true && options.tls === undefined) {
    throw new Error("startRedisServer: plaintextPortToo needs tls");
  }
  const host = options.bind ?? "127.0.0.1";
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  onProcessEnd(killLiveServersSync);
  sweepStaleTempDirs(DIR_PREFIX);
  const dir = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  let log = "";
  const appendLog = (chunk: string): void => {
    log += chunk;
    if (log.length > MAX_LOG_CHARS) log = log.slice(-MAX_LOG_CHARS);
  };
  let child: ChildProcess | undefined;
  const entry = { child: () => child, dir };
  live.add(entry);

  try {
    const aclFilePath = options.aclFile === undefined ? undefined : join(dir, "users.acl");
    if (aclFilePath !== undefined) await writeFile(aclFilePath, options.aclFile ?? "", { mode: 0o600 });

    const wantTls = options.tls !== undefined;
    const wantPlain = !wantTls || options.plaintextPortToo === true;
    let ports: { plain: number | undefined; tls: number | undefined } = { plain: undefined, tls: undefined };
    let args: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const tlsPort = wantTls ? await getFreePort(host) : undefined;
      let plainPort = wantPlain ? await getFreePort(host) : undefined;
      while (plainPort !== undefined && plainPort === tlsPort) plainPort = await getFreePort(host);
      ports = { plain: plainPort, tls: tlsPort };
      args = buildArgs(options, dir, aclFilePath, ports);
      try {
        child = await spawnUntilReady(executable, args, readyTimeoutMs, appendLog);
        break;
      } catch (error) {
        if (!(error instanceof AddressInUseError) || attempt >= 5) throw error;
      }
    }

    const port = (wantTls ? ports.tls : ports.plain)!;
    let stopped = false;
    const server: RedisServer = {
      host,
      port,
      tlsPort: ports.tls,
      plainPort: ports.plain,
      tls: wantTls,
      dir,
      aclFilePath,
      args,
      get pid(): number {
        return child?.pid ?? -1;
      },
      get running(): boolean {
        return child !== undefined && child.exitCode === null && child.signalCode === null;
      },
      logs: () => log,
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        if (child !== undefined) await terminate(child, stopTimeoutMs);
        live.delete(entry);
        await rm(dir, { recursive: true, force: true });
      },
      async restart(): Promise<void> {
        if (stopped) throw new Error("restart: the server was stopped");
        if (child !== undefined) await terminate(child, stopTimeoutMs);
        child = undefined;
        // Same ports: clients keep their endpoint. A port grabbed in between is a test error.
        for (let attempt = 1; ; attempt++) {
          try {
            child = await spawnUntilReady(executable, args, readyTimeoutMs, appendLog);
            return;
          } catch (error) {
            if (!(error instanceof AddressInUseError) || attempt >= 10) throw error;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
      },
    };
    return server;
  } catch (error) {
    if (child !== undefined) await terminate(child, stopTimeoutMs);
    live.delete(entry);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Runs `fn` against a fresh server and stops it afterwards, whatever happens. */
export async function withRedisServer<T>(
  options: RedisServerOptions,
  fn: (server: RedisServer) => Promise<T>,
): Promise<T> {
  const server = await startRedisServer(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/**
 * Vitest helper: starts a server in `beforeAll` (options may be computed
 * there, e.g. after creating TLS fixtures) and stops it in `afterAll`, also
 * when tests fail. Call at describe/file level; use the returned accessor
 * inside tests.
 */
export function useRedisServer(
  options: RedisServerOptions | (() => RedisServerOptions | Promise<RedisServerOptions>),
): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer(typeof options === "function" ? await options() : options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined)
      throw new Error("useRedisServer: the server is not running (beforeAll failed?)");
    return server;
  };
}
