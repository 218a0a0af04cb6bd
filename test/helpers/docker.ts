/**
 * Docker for e2e tests: the locally built test images, a hardened
 * testcontainers container class, networks (incl. `internal`), in-container
 * probes, and a scope that removes everything a test file started.
 *
 * Importing this module sets, for testcontainers on this machine (see
 * /work/shared/ENVIRONMENT.md, no image can be pulled):
 *   TESTCONTAINERS_RYUK_DISABLED=true       ryuk's image cannot be pulled
 *   TESTCONTAINERS_HOST_OVERRIDE=localhost  skips a host probe that pulls alpine
 * testcontainers reads both lazily (when a container or network starts), so
 * importing this module anywhere before the first `.start()` is enough.
 * Without ryuk nothing reaps leaked containers: use `DockerScope`.
 *
 *   const docker = useDockerScope();               // file level: disposed in afterAll
 *   beforeAll(async () => {
 *     const { redis } = await ensureTestImages();
 *     const net = await docker.network({ internal: true });
 *     const c = await docker.start(new HardenedContainer(redis).withNetworkOnly(net.name, "redis")...);
 *   });
 */
import { onProcessEnd, processAlive } from "./process-cleanup.js";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { afterAll } from "vitest";
import { MissingComponentError, requireExecutable } from "./components.js";

process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";

const execFileAsync = promisify(execFile);

export const REDIS_TEST_IMAGE = "secure-redis/redis:test";
export const NODE_TEST_IMAGE = "secure-redis/node:test";
/** UID/GID of the non-root `redis` user in REDIS_TEST_IMAGE. */
export const REDIS_UID = 999;
/** UID/GID of the non-root `node` user in NODE_TEST_IMAGE. */
export const NODE_UID = 1000;
/** Label put on every network and container this module creates. */
export const TEST_LABEL = "org.secure-redis.test";
/** Label carrying the id of the DockerScope that started a container. */
export const SCOPE_LABEL = "org.secure-redis.test.scope";
/** Label carrying the PID of the test process that created a container or network. */
export const PID_LABEL = "org.secure-redis.test.pid";

const BUILD_SCRIPT = fileURLToPath(new URL("../../scripts/build-test-images.sh", import.meta.url));

/** Runs the docker CLI (argument array, no shell); rejects with stderr in the message. */
export async function docker(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync("docker", [...args], {
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new MissingComponentError("docker");
    const stderr = ((error as { stderr?: string }).stderr ?? "").trim();
    throw new Error(`docker ${args.join(" ")} failed: ${stderr || String(error)}`, { cause: error });
  }
}

let dockerChecked: Promise<void> | undefined;

/** Throws MissingComponentError unless the docker client exists and the engine answers. */
export async function requireDocker(): Promise<void> {
  dockerChecked ??= (async () => {
    requireExecutable("docker", "the docker client");
    try {
      await execFileAsync("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 30_000 });
    } catch {
      throw new MissingComponentError("a running Docker engine (`docker info` failed)");
    }
  })();
  dockerChecked.catch(() => (dockerChecked = undefined));
  return dockerChecked;
}

export interface TestImages {
  /** secure-redis/redis:test: redis-server + redis-cli + busybox, user redis (999). */
  redis: string;
  /** secure-redis/node:test: node (the one running the tests) + busybox, user node (1000). */
  node: string;
  /** What scripts/build-test-images.sh printed (built/skipped per image). */
  log: string;
}

let images: Promise<TestImages> | undefined;

/**
 * Builds the test images if their inputs changed (scripts/build-test-images.sh,
 * a no-op taking about a second when they are current); once per test process.
 */
export async function ensureTestImages(): Promise<TestImages> {
  images ??= (async () => {
    await requireDocker();
    const swept = await sweepStaleDockerResources();
    if (swept.containers.length + swept.networks.length > 0) {
      console.log(`removed leftovers of dead test processes: ${JSON.stringify(swept)}`);
    }
    let log: string;
    try {
      const { stdout, stderr } = await execFileAsync("bash", [BUILD_SCRIPT], {
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, NODE_BINARY: process.execPath },
      });
      log = `${stdout}${stderr}`.trim();
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string; stderr?: string };
      const output = `${failed.stdout ?? ""}${failed.stderr ?? ""}`.trim() || String(error);
      // Exit status 3: the script found a component missing.
      if (failed.code === 3) throw new MissingComponentError(output);
      throw new Error(`scripts/build-test-images.sh failed:\n${output}`, { cause: error });
    }
    if (/\bbuilt\b/.test(log)) console.log(log);
    return { redis: REDIS_TEST_IMAGE, node: NODE_TEST_IMAGE, log };
  })();
  images.catch(() => (images = undefined));
  return images;
}

/**
 * GenericContainer with the hardening switches testcontainers lacks. Every
 * method returns `this`, so it chains with GenericContainer's builders.
 */
export class HardenedContainer extends GenericContainer {
  /** Read-only root filesystem; pair it with `withTmpFs` (/tmp, /data) and `withVolumeFiles` (certs, ACL file). */
  withReadOnlyRootFilesystem(): this {
    this.hostConfig.ReadonlyRootfs = true;
    return this;
  }

  /** An anonymous volume at `target`, removed with the container. */
  withAnonymousVolume(target: string): this {
    this.hostConfig.Mounts = [
      ...(this.hostConfig.Mounts ?? []),
      { Type: "volume", Source: "", Target: target },
    ];
    return this;
  }

  /**
   * Files (certificates, keys, ACL files) placed in an anonymous volume at
   * `dir`, owned by `owner` (e.g. the redis uid, so a key can be 0400).
   *
   * Works with a read-only root filesystem, where `withCopyContentToContainer`
   * does not: testcontainers uploads those as one archive extracted at "/",
   * and Docker refuses any upload outside a volume when the rootfs is
   * read-only ("container rootfs is marked read-only"). Here the archive is
   * extracted at `dir`, inside the volume. Docker keeps the archive's
   * uid/gid when `copyUIDGID` is off (the default); `copyUIDGID: true` would
   * instead chown to the container's user looked up in the *host's* passwd
   * ("getent unable to find entry"), so do not set it.
   */
  withVolumeFiles(dir: string, files: readonly VolumeFile[], owner: { uid: number; gid: number }): this {
    const archive = tarArchive(files.map((f) => ({ ...f, uid: owner.uid, gid: owner.gid })));
    return this.withAnonymousVolume(dir).withCopyArchivesToContainer([
      { tar: Readable.from([archive]), target: dir },
    ]);
  }

  /**
   * Attaches the container to `network` only, with DNS aliases there.
   * (testcontainers' own `withNetworkAliases` creates the container on the
   * default bridge and then connects it to the network, leaving it on both,
   * which would defeat network-isolation tests.)
   */
  withNetworkOnly(network: string, ...aliases: string[]): this {
    this.networkMode = network;
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: aliases } } };
    return this;
  }

  /** Publishes `containerPort` on 127.0.0.1 only (random host port), not on every interface. */
  withLoopbackPort(containerPort: number): this {
    this.withExposedPorts(containerPort);
    this.hostConfig.PortBindings = {
      ...(this.hostConfig.PortBindings as Record<string, unknown>),
      [`${containerPort}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "0" }],
    };
    return this;
  }

  /** Non-root user, no capabilities, no privilege escalation. */
  withLeastPrivilege(user: string): this {
    return this.withUser(user).withDroppedCapabilities("ALL").withSecurityOpt("no-new-privileges:true");
  }
}

export interface VolumeFile {
  /** File name relative to the volume (no "..", no leading "/"). */
  name: string;
  content: string | Buffer;
  /** Permission bits, default 0o400. */
  mode?: number;
}

export interface TarEntry extends VolumeFile {
  uid?: number;
  gid?: number;
}

/**
 * A ustar archive of regular files (what Docker's archive upload takes),
 * built in memory so that owner and mode are exact.
 */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const entry of entries) {
    if (
      entry.name.startsWith("/") ||
      entry.name.split("/").includes("..") ||
      Buffer.byteLength(entry.name) > 99
    ) {
      throw new Error(`tarArchive: unsupported entry name ${JSON.stringify(entry.name)}`);
    }
    const body = typeof entry.content === "string" ? Buffer.from(entry.content, "utf8") : entry.content;
    const header = Buffer.alloc(512);
    const octal = (value: number, offset: number, width: number): void => {
      header.write(`${value.toString(8).padStart(width - 1, "0")}\0`, offset, width, "ascii");
    };
    header.write(entry.name, 0, 100, "utf8");
    octal(entry.mode ?? 0o400, 100, 8);
    octal(entry.uid ?? 0, 108, 8);
    octal(entry.gid ?? 0, 116, 8);
    octal(body.length, 124, 12);
    octal(mtime, 136, 12);
    header.write("        ", 148, 8, "ascii"); // checksum is computed with this field as spaces
    header.write("0", 156, 1, "ascii"); // regular file
    header.write("ustar\0", 257, 6, "ascii");
    header.write("00", 263, 2, "ascii");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface DockerNetwork {
  readonly name: string;
  readonly id: string;
  readonly internal: boolean;
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** `docker network create` (bridge driver; `internal: true` = no route outside the network). */
export async function createNetwork(
  opts: { internal?: boolean; name?: string } = {},
): Promise<DockerNetwork> {
  await requireDocker();
  const name = opts.name ?? uniqueName(opts.internal === true ? "sr-test-internal" : "sr-test-net");
  const args = ["network", "create", "--driver", "bridge", "--label", `${TEST_LABEL}=true`];
  args.push("--label", `${PID_LABEL}=${process.pid}`);
  if (opts.internal === true) args.push("--internal");
  const id = await docker([...args, name]);
  return { name, id, internal: opts.internal === true };
}

/** `docker network rm`; no error when it is already gone. */
export async function removeNetwork(network: DockerNetwork | string): Promise<void> {
  const name = typeof network === "string" ? network : network.name;
  try {
    await docker(["network", "rm", name]);
  } catch (error) {
    if (!/No such network|not found/i.test(String(error))) throw error;
  }
}

/** IP address of a started container on a network (by network name). */
export function containerIp(container: StartedTestContainer, network: DockerNetwork | string): string {
  return container.getIpAddress(typeof network === "string" ? network : network.name);
}

export interface ExecOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr. */
  output: string;
}

/** Runs a command in a started container (as the image's user unless `user`), bounded by a timeout. */
export async function execIn(
  container: StartedTestContainer,
  command: readonly string[],
  opts: { user?: string; timeoutMs?: number } = {},
): Promise<ExecOutcome> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`exec ${command.join(" ")} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const result = await Promise.race([
      container.exec([...command], opts.user === undefined ? {} : { user: opts.user }),
      timeout,
    ]);
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, output: result.output };
  } finally {
    clearTimeout(timer);
  }
}

const CONNECTED_MARKER = "__SECURE_REDIS_PROBE_CONNECTED__";

/**
 * Whether a TCP connection from inside `from` to host:port succeeds. Runs
 * busybox `nc` (image needs busybox), which runs a marker command once
 * connected; `reachable` means the marker was seen. Output carries nc's
 * reason otherwise ("bad address" = no DNS, "timed out", "Connection refused").
 *
 * The probe comes from a container because the Docker host itself can reach
 * every bridge IP, internal networks included. Note: a successful TCP connect
 * proves little on this machine for addresses outside Docker's networks:
 * something upstream accepts TCP connections to arbitrary external IPs (seen
 * for 10.255.255.1 from the host and from non-internal containers). Back a
 * positive reachability claim with an application-level check (e.g. a
 * CA-verified TLS PING); negative claims are safe.
 */
export async function probeTcp(
  from: StartedTestContainer,
  host: string,
  port: number,
  timeoutSec = 3,
): Promise<{ reachable: boolean; output: string }> {
  // busybox nc: `-e PROG ARGS...` must come last, after host and port.
  const command = [
    "timeout",
    "-s",
    "KILL",
    String(timeoutSec + 2),
    "nc",
    "-w",
    String(timeoutSec),
    host,
    String(port),
  ];
  command.push("-e", "sh", "-c", `echo ${CONNECTED_MARKER} >&2`);
  const result = await execIn(from, command, { timeoutMs: (timeoutSec + 10) * 1000 });
  const reachable = result.exitCode === 0 && result.output.includes(CONNECTED_MARKER);
  return { reachable, output: result.output.replace(CONNECTED_MARKER, "connected").trim() };
}

/**
 * Owns the containers and networks a test file starts and removes them all in
 * `dispose()` (containers first, then networks), also when tests failed. An
 * exit hook force-removes whatever a crashed run left (synchronously, via the
 * docker CLI).
 */
export class DockerScope {
  /** Value of SCOPE_LABEL on this scope's containers. */
  readonly id = randomUUID();
  private readonly containers: StartedTestContainer[] = [];
  private readonly networks: DockerNetwork[] = [];

  constructor() {
    scopes.add(this);
    onProcessEnd(disposeAllSync);
  }

  /**
   * Starts a container and registers it for removal. The container is
   * labelled with this scope's id first, so that one testcontainers created
   * but failed to start (it leaves those behind) is removed as well.
   */
  async start(container: GenericContainer): Promise<StartedTestContainer> {
    await requireDocker();
    const labels = { [TEST_LABEL]: "true", [SCOPE_LABEL]: this.id, [PID_LABEL]: String(process.pid) };
    const started = await container.withLabels(labels).start();
    this.containers.push(started);
    return started;
  }

  /** Creates a network and registers it for removal. */
  async network(opts: { internal?: boolean; name?: string } = {}): Promise<DockerNetwork> {
    const network = await createNetwork(opts);
    this.networks.push(network);
    return network;
  }

  /** Removes everything registered; errors are collected and thrown together at the end. */
  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    const containers = this.containers.splice(0);
    const results = await Promise.allSettled(
      containers.map((c) => c.stop({ timeout: 0, removeVolumes: true })),
    );
    for (const r of results) if (r.status === "rejected") errors.push(r.reason);
    try {
      const leftovers = await docker(["ps", "-aq", "--filter", `label=${SCOPE_LABEL}=${this.id}`]);
      if (leftovers !== "") await docker(["rm", "-f", "-v", ...leftovers.split("\n")]);
    } catch (error) {
      errors.push(error);
    }
    for (const network of this.networks.splice(0).reverse()) {
      await removeNetwork(network).catch((error: unknown) => errors.push(error));
    }
    scopes.delete(this);
    if (errors.length > 0)
      throw new AggregateError(errors, "DockerScope.dispose: some resources were not removed");
  }

  /** Synchronous best-effort removal for the exit hook. */
  disposeSync(): void {
    this.containers.splice(0);
    const ids = execFileSync("docker", ["ps", "-aq", "--filter", `label=${SCOPE_LABEL}=${this.id}`], {
      encoding: "utf8",
      timeout: 60_000,
    }).trim();
    if (ids !== "")
      execFileSync("docker", ["rm", "-f", "-v", ...ids.split("\n")], { stdio: "ignore", timeout: 60_000 });
    const names = this.networks.splice(0).map((n) => n.name);
    if (names.length > 0)
      execFileSync("docker", ["network", "rm", ...names], { stdio: "ignore", timeout: 60_000 });
  }
}

const scopes = new Set<DockerScope>();

function disposeAllSync(): void {
  for (const scope of scopes) {
    try {
      scope.disposeSync();
    } catch {
      // best effort at exit; nothing left to report to
    }
  }
  scopes.clear();
}

/**
 * Removes containers (with their volumes) and networks labelled by this
 * module whose creating test process no longer runs. Resources of live test
 * processes (parallel runs) are left alone. Runs once per process from
 * `ensureTestImages()`; returns what it removed.
 */
export async function sweepStaleDockerResources(): Promise<{ containers: string[]; networks: string[] }> {
  const stale = (lines: string): string[] =>
    lines
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => line.split(" "))
      .filter(([, pid]) => pid !== undefined && /^\d+$/.test(pid) && !processAlive(Number(pid)))
      .map(([id]) => id!);
  const format = `{{.ID}} {{.Label "${PID_LABEL}"}}`;
  const containers = stale(await docker(["ps", "-a", "--filter", `label=${TEST_LABEL}`, "--format", format]));
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...containers]);
  const networks = stale(
    await docker(["network", "ls", "--filter", `label=${TEST_LABEL}`, "--format", format]),
  );
  for (const network of networks) await removeNetwork(network);
  return { containers, networks };
}

/** A DockerScope disposed in `afterAll` of the calling file/describe. */
export function useDockerScope(): DockerScope {
  const scope = new DockerScope();
  afterAll(async () => {
    await scope.dispose();
  });
  return scope;
}
