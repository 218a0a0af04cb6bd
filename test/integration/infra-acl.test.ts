/**
 * The ACL file and server arguments that infra/ renders, loaded into a real
 * redis-server (TLS only, the harness's test PKI): what each user can and
 * cannot do, that the default user cannot log in, that both password
 * generations work, and that the real server accepts every rendered option.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DANGEROUS_COMMANDS } from "../../lib/redis/commands.js";
import { aclPasswordHash, appCommandsFor, renderAclFile } from "../../infra/acl.js";
import { renderHealthcheckCommand } from "../../infra/healthcheck.js";
import { renderRedisServerOptions, toArgv } from "../../infra/redis-server-args.js";
import { asUser, errorOf, respPipeline } from "../infra/resp.js";
import { clientTls, closeRedisClient, connectRedisClient, sendRawCommand } from "../helpers/redis-client.js";
import { serverTls, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { createTlsFixtures, disposeTlsFixtures, type TlsFixtures } from "../helpers/tls-fixtures.js";

const execFileAsync = promisify(execFile);
/** ioredis's ready check runs INFO, which the app user may not (INFO is in DANGEROUS_COMMANDS). */
const NO_READY_CHECK = { enableReadyCheck: false };

/** Passwords as the tiers generate them: URL-safe, long. Two generations for app. */
const password = (): string => randomBytes(24).toString("base64url");
const APP_CURRENT = password();
const APP_PREVIOUS = password();
const ADMIN = password();
const HEALTH = password();
/** The server in this environment is Redis 7.0 (Debian 12). */
const SERVER_VERSION = { major: 7, minor: 0 };

/** Options the harness owns (ports, bind, dir, TLS files, ACL file); the rest are loaded as rendered. */
const HARNESS_OWNED = new Set([
  "port",
  "tls-port",
  "bind",
  "dir",
  "tls-cert-file",
  "tls-key-file",
  "tls-ca-cert-file",
  "tls-auth-clients",
  "aclfile",
]);

function renderedArgs(mutual: boolean): string[] {
  const options = renderRedisServerOptions({
    port: 6379,
    tls: { certFile: "/unused", keyFile: "/unused", caFile: "/unused", authClients: mutual },
    aclFile: "/unused",
    dataDir: "/unused",
    maxmemoryMb: 48,
    evictionPolicy: "allkeys-lru",
    persistence: "rdb",
  });
  return toArgv(options.filter(([name]) => !HARNESS_OWNED.has(name)));
}

const ACL = renderAclFile({
  keyNamespace: "cache",
  serverVersion: SERVER_VERSION,
  passwordHashes: {
    app: [aclPasswordHash(APP_CURRENT), aclPasswordHash(APP_PREVIOUS)],
    admin: [aclPasswordHash(ADMIN)],
    healthcheck: [aclPasswordHash(HEALTH)],
  },
});

/** Arguments that reach the ACL check (right arity, subcommand where needed) for each dangerous command. */
const DANGEROUS_ARGS: Record<(typeof DANGEROUS_COMMANDS)[number], string[]> = {
  flushall: [],
  flushdb: [],
  keys: ["*"],
  config: ["GET", "maxmemory"],
  debug: ["SLEEP", "0"],
  shutdown: ["NOSAVE"],
  module: ["LIST"],
  acl: ["LIST"],
  monitor: [],
  replicaof: ["NO", "ONE"],
  slaveof: ["NO", "ONE"],
  sync: [],
  psync: ["?", "-1"],
  save: [],
  bgsave: [],
  bgrewriteaof: [],
  migrate: ["127.0.0.1", "1", "cache:k", "0", "1000"],
  restore: ["cache:k", "0", "x"],
  dump: ["cache:k"],
  swapdb: ["0", "1"],
  move: ["cache:k", "1"],
  select: ["0"],
  cluster: ["INFO"],
  failover: [],
  function: ["LIST"],
  script: ["FLUSH"],
  client: ["LIST"],
  latency: ["LATEST"],
  slowlog: ["GET"],
  info: [],
  lastsave: [],
  object: ["ENCODING", "cache:k"],
  memory: ["USAGE", "cache:k"],
  pubsub: ["CHANNELS"],
  publish: ["cache:ch", "m"],
  subscribe: ["cache:ch"],
  psubscribe: ["cache:*"],
  eval_ro: ["return 1", "0"],
  evalsha_ro: ["0000000000000000000000000000000000000000", "0"],
  fcall: ["f", "0"],
  fcall_ro: ["f", "0"],
  sort: ["cache:k"],
  wait: ["0", "0"],
};

/** Commands the rendered server arguments close for everyone (enable-debug-command/enable-module-command no). */
const SERVER_CLOSED = new Set(["debug", "module"]);

/** A valid invocation of each app command, to show the healthcheck user is refused all of them. */
const APP_ARGS: Record<string, string[]> = {
  get: ["GET", "cache:k"],
  set: ["SET", "cache:k", "v"],
  mget: ["MGET", "cache:k"],
  del: ["DEL", "cache:k"],
  unlink: ["UNLINK", "cache:k"],
  exists: ["EXISTS", "cache:k"],
  ttl: ["TTL", "cache:k"],
  pttl: ["PTTL", "cache:k"],
  expire: ["EXPIRE", "cache:k", "1"],
  pexpire: ["PEXPIRE", "cache:k", "1"],
  scan: ["SCAN", "0"],
  eval: ["EVAL", "return 1", "0"],
  evalsha: ["EVALSHA", "0000000000000000000000000000000000000000", "0"],
  echo: ["ECHO", "x"],
  "client|setname": ["CLIENT", "SETNAME", "x"],
  "client|setinfo": ["CLIENT", "SETINFO", "LIB-NAME", "x"],
};

let fixtures: TlsFixtures;

beforeAll(async () => {
  fixtures = await createTlsFixtures(undefined, { dnsNames: ["redis"] });
});

afterAll(async () => {
  await disposeTlsFixtures();
});

describe("the rendered ACL and arguments in a real redis-server (TLS only)", () => {
  let server: RedisServer;
  const tls = () => ({ ca: fixtures.ca.cert, rejectUnauthorized: true });

  beforeAll(async () => {
    server = await startRedisServer({
      tls: serverTls(fixtures),
      aclFile: ACL,
      extraArgs: renderedArgs(false),
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("accepts every rendered option and applies the hardening", async () => {
    const reply = await asUser(server, tls(), "admin", ADMIN, ["CONFIG", "GET", "*"]);
    const config = new Map<string, string>();
    const list = reply as string[];
    for (let i = 0; i < list.length; i += 2) config.set(list[i]!, list[i + 1]!);
    expect(config.get("port")).toBe("0");
    expect(config.get("protected-mode")).toBe("yes");
    expect(config.get("enable-debug-command")).toBe("no");
    expect(config.get("enable-module-command")).toBe("no");
    expect(config.get("enable-protected-configs")).toBe("no");
    expect(config.get("tls-protocols")).toBe("TLSv1.2 TLSv1.3");
    expect(config.get("maxmemory")).toBe(String(48 * 1024 * 1024));
    expect(config.get("maxmemory-policy")).toBe("allkeys-lru");
    expect(config.get("save")).toBe("3600 1 300 100 60 10000");
    // Even the admin cannot reach DEBUG or MODULE, or change a protected config.
    expect(errorOf(await asUser(server, tls(), "admin", ADMIN, ["DEBUG", "SLEEP", "0"]))).toMatch(
      /not allowed/,
    );
    expect(errorOf(await asUser(server, tls(), "admin", ADMIN, ["CONFIG", "SET", "dir", "/tmp"]))).toMatch(
      /protected config/,
    );
  });

  it("refuses TLS 1.1 and plaintext", async () => {
    await expect(
      respPipeline(server, [["PING"]], { ...tls(), minVersion: "TLSv1.1", maxVersion: "TLSv1.1" }),
    ).rejects.toThrow();
    expect(server.plainPort).toBeUndefined();
  });

  it("lets the app user read and write its namespace with the library's commands", async () => {
    const client = await connectRedisClient(server, {
      tls: clientTls(fixtures),
      username: "app",
      password: APP_CURRENT,
      redisOptions: NO_READY_CHECK,
    });
    try {
      expect(await client.set("cache:k", "v", "EX", 60)).toBe("OK");
      expect(await client.get("cache:k")).toBe("v");
      expect(await client.mget("cache:k", "cache:missing")).toEqual(["v", null]);
      expect(await client.exists("cache:k")).toBe(1);
      expect(await client.ttl("cache:k")).toBeGreaterThan(0);
      expect(await client.expire("cache:k", 120)).toBe(1);
      const [, keys] = await client.scan("0", "MATCH", "cache:*", "COUNT", "100");
      expect(keys).toContain("cache:k");
      expect(await client.eval("return redis.call('get', KEYS[1])", 1, "cache:k")).toBe("v");
      expect(await client.unlink("cache:k")).toBe(1);
      expect(await client.ping()).toBe("PONG");
    } finally {
      await closeRedisClient(client);
    }
  });

  it("refuses the app user every dangerous command (DEBUG and MODULE are closed server-wide first)", async () => {
    for (const command of DANGEROUS_COMMANDS) {
      const reply = await asUser(server, tls(), "app", APP_CURRENT, [command, ...DANGEROUS_ARGS[command]]);
      expect(errorOf(reply), command).toMatch(
        SERVER_CLOSED.has(command) ? /^NOPERM|^ERR .* not allowed/ : /^NOPERM/,
      );
    }
    expect(server.running).toBe(true); // SHUTDOWN was refused
  });

  it("gives the app user NOPERM for keys outside its namespace", async () => {
    for (const command of [
      ["GET", "other:k"],
      ["SET", "other:k", "v"],
      ["DEL", "cache:k", "other:k"],
      ["EVAL", "return redis.call('get', KEYS[1])", "1", "other:k"],
      ["GET", "cachex:k"],
    ]) {
      expect(errorOf(await asUser(server, tls(), "app", APP_CURRENT, command)), command.join(" ")).toMatch(
        /^NOPERM/,
      );
    }
  });

  it("lets nobody in as the default user, and nothing runs before AUTH", async () => {
    expect(await sendRawCommand(server, ["PING"], { tls: tls() })).toMatch(/^-NOAUTH/);
    expect(await sendRawCommand(server, ["GET", "cache:k"], { tls: tls() })).toMatch(/^-NOAUTH/);
    for (const attempt of [
      ["AUTH", "default", ""],
      ["AUTH", "default", APP_CURRENT],
      ["AUTH", APP_CURRENT],
      ["HELLO", "3", "AUTH", "default", "nopass"],
    ]) {
      const [reply] = await respPipeline(server, [attempt], tls());
      expect(errorOf(reply!), attempt[0]).toMatch(/WRONGPASS|disabled/);
    }
  });

  it("lets the healthcheck user PING and nothing else", async () => {
    expect(await asUser(server, tls(), "healthcheck", HEALTH, ["PING"])).toBe("PONG");
    const everythingElse: string[][] = [
      ...appCommandsFor(SERVER_VERSION)
        .filter((command) => command !== "ping")
        .map((command) => APP_ARGS[command]!),
      ...DANGEROUS_COMMANDS.map((command) => [command, ...DANGEROUS_ARGS[command]]),
    ];
    for (const command of everythingElse) {
      const reply = await asUser(server, tls(), "healthcheck", HEALTH, command);
      const closed = SERVER_CLOSED.has(command[0]!);
      expect(errorOf(reply), command.join(" ")).toMatch(closed ? /^NOPERM|^ERR .* not allowed/ : /^NOPERM/);
    }
  });

  it("accepts both password generations of a user and nothing else", async () => {
    expect(await asUser(server, tls(), "app", APP_CURRENT, ["PING"])).toBe("PONG");
    expect(await asUser(server, tls(), "app", APP_PREVIOUS, ["PING"])).toBe("PONG");
    await expect(asUser(server, tls(), "app", password(), ["PING"])).rejects.toThrow(/WRONGPASS/);
    await expect(asUser(server, tls(), "app", ADMIN, ["PING"])).rejects.toThrow(/WRONGPASS/);
  });

  it("passes the rendered container healthcheck, and fails it with a wrong password", async () => {
    const passwordFile = join(server.dir, "healthcheck.password");
    await writeFile(passwordFile, HEALTH, { mode: 0o400 });
    const command = renderHealthcheckCommand({
      port: server.port,
      passwordFile,
      tls: { caFile: fixtures.ca.certPath },
    });
    await execFileAsync("sh", ["-c", command]);
    const wrongFile = join(server.dir, "wrong.password");
    await writeFile(wrongFile, APP_CURRENT, { mode: 0o400 });
    const wrong = renderHealthcheckCommand({
      port: server.port,
      passwordFile: wrongFile,
      tls: { caFile: fixtures.ca.certPath },
    });
    await expect(execFileAsync("sh", ["-c", wrong])).rejects.toThrow();
  });
});

describe("the ACL alone, on a server with DEBUG and MODULE opened", () => {
  // The hardened server refuses DEBUG and MODULE before the ACL is consulted; here they are
  // enabled so that the ACL has to refuse them itself: NOPERM for every dangerous command.
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer({
      tls: serverTls(fixtures),
      aclFile: ACL,
      extraArgs: [...renderedArgs(false), "--enable-debug-command", "yes", "--enable-module-command", "yes"],
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it.each(["app", "healthcheck"] as const)("gives %s NOPERM for each dangerous command", async (user) => {
    const pass = user === "app" ? APP_CURRENT : HEALTH;
    for (const command of DANGEROUS_COMMANDS) {
      const reply = await asUser(server, { ca: fixtures.ca.cert }, user, pass, [
        command,
        ...DANGEROUS_ARGS[command],
      ]);
      expect(errorOf(reply), command).toMatch(/^NOPERM/);
    }
    expect(server.running).toBe(true);
  });
});

describe("the same under mutual TLS (production)", () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer({
      tls: serverTls(fixtures, { authClients: "yes" }),
      aclFile: ACL,
      extraArgs: renderedArgs(true),
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("refuses a client without a certificate, even with the right password", async () => {
    await expect(
      respPipeline(server, [["AUTH", "app", APP_CURRENT]], { ca: fixtures.ca.cert }),
    ).rejects.toThrow();
  });

  it("lets the app user in with a certificate and its password", async () => {
    const client = await connectRedisClient(server, {
      tls: clientTls(fixtures, { clientCert: "trusted" }),
      username: "app",
      password: APP_CURRENT,
      redisOptions: NO_READY_CHECK,
    });
    try {
      expect(await client.set("cache:m", "1")).toBe("OK");
    } finally {
      await closeRedisClient(client);
    }
  });

  it("passes the rendered healthcheck with the healthcheck's certificate", async () => {
    const passwordFile = join(server.dir, "healthcheck.password");
    await writeFile(passwordFile, HEALTH, { mode: 0o400 });
    const command = renderHealthcheckCommand({
      port: server.port,
      passwordFile,
      tls: {
        caFile: fixtures.ca.certPath,
        certFile: fixtures.client.certPath,
        keyFile: fixtures.client.keyPath,
      },
    });
    await execFileAsync("sh", ["-c", command]);
  });
});
