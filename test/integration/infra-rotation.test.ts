/**
 * The configuration container's script (infra/configurator.ts), run with sh
 * against a real redis-server that reads its ACL and TLS files from the
 * "volume" the script writes, exactly as the Redis container does:
 *
 * - first deployment: the files are written while Redis is not running yet;
 * - rotation: new passwords and a new server certificate reach the running
 *   server in place: same process, existing connections keep working, both
 *   password generations are accepted, new connections see the new
 *   certificate, and only then do the backend's files change;
 * - the next rotation retires the oldest password;
 * - a refused apply puts the previous generation back and leaves the
 *   backend's files alone; a skipped generation is refused with the fix;
 * - and why not `ACL LOAD`: it drops every authenticated connection.
 *
 * Only the paths differ from the container (the plan's `paths` option); the
 * script's text is what the configurator runs.
 */
import { execFile } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aclPasswordHash, renderAclFile } from "../../infra/acl.js";
import { renderConfiguratorScript } from "../../infra/configurator.js";
import { renderHealthcheckCommand } from "../../infra/healthcheck.js";
import { BACKEND_FILES, OPERATOR_FILES, REDIS_FILES } from "../../infra/layout.js";
import { configuratorPlan } from "../../infra/redis.js";
import { assertNoSecret } from "../helpers/canary.js";
import { closeRedisClient, connectRedisClient } from "../helpers/redis-client.js";
import { getFreePort, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import {
  createTlsFixtures,
  disposeTlsFixtures,
  type CertKeyPair,
  type TlsFixtures,
} from "../helpers/tls-fixtures.js";
import { asUser, errorOf, respPipeline } from "../infra/resp.js";

const execFileAsync = promisify(execFile);
/** ioredis's ready check runs INFO, which the app user may not (INFO is in DANGEROUS_COMMANDS). */
const NO_READY_CHECK = { enableReadyCheck: false };
const SERVER_VERSION = { major: 7, minor: 0 };
const OWNER = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

interface Generation {
  app: string[];
  admin: string[];
  healthcheck: string[];
  server: CertKeyPair;
  /** Replace the rendered ACL (to provoke a refusal). */
  aclOverride?: string;
}

const password = (): string => `CANARY${randomBytes(18).toString("base64url")}`;
const allPasswords: string[] = [];
function newPasswords(): { app: string; admin: string; healthcheck: string } {
  const set = { app: password(), admin: password(), healthcheck: password() };
  allPasswords.push(set.app, set.admin, set.healthcheck);
  return set;
}

/** A server certificate for `redis`/127.0.0.1 signed by the fixtures' CA, made with openssl. */
async function issueServerCertificate(
  fixtures: TlsFixtures,
  dir: string,
  name: string,
): Promise<CertKeyPair> {
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.crt`);
  const extPath = join(dir, `${name}.ext`);
  await writeFile(
    extPath,
    "subjectAltName=DNS:redis,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await execFileAsync("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    keyPath,
  ]);
  await execFileAsync("openssl", ["req", "-new", "-key", keyPath, "-subj", `/CN=${name}`, "-out", csrPath]);
  await execFileAsync("openssl", [
    "x509",
    "-req",
    "-in",
    csrPath,
    "-CA",
    fixtures.ca.certPath,
    "-CAkey",
    fixtures.ca.keyPath,
    "-set_serial",
    `0x${randomBytes(8).toString("hex")}`,
    "-days",
    "2",
    "-extfile",
    extPath,
    "-out",
    certPath,
  ]);
  return { certPath, keyPath, cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber;
}

/** The serial of the certificate a fresh TLS connection is served. */
function servedSerial(port: number, tls: { ca: string; cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: "127.0.0.1", port, ...tls, servername: "redis", rejectUnauthorized: true },
      () => {
        const serial = socket.getPeerX509Certificate()?.serialNumber ?? "";
        socket.destroy();
        resolve(serial);
      },
    );
    socket.on("error", reject);
  });
}

describe.each([
  { mutual: false, label: "server TLS" },
  { mutual: true, label: "mutual TLS" },
])("the configurator against a real Redis ($label)", ({ mutual }) => {
  let fixtures: TlsFixtures;
  let root: string;
  let volumes: string;
  let redisVolume: string;
  let backendVolume: string;
  let inbox: string;
  let server: RedisServer | undefined;
  let longLived: Redis | undefined;
  const generations: Generation[] = [];

  const live = (file: string): string => join(redisVolume, "current", file);
  const serverFiles = [
    REDIS_FILES.acl,
    REDIS_FILES.serverCert,
    REDIS_FILES.serverKey,
    REDIS_FILES.ca,
    REDIS_FILES.healthcheckPassword,
  ];
  const clientTls = () =>
    mutual
      ? { ca: fixtures.ca.cert, cert: fixtures.client.cert, key: fixtures.client.key, servername: "redis" }
      : { ca: fixtures.ca.cert, servername: "redis" };

  async function runConfigurator(
    generation: Generation,
    port: number,
  ): Promise<{ code: number; output: string }> {
    await rm(inbox, { recursive: true, force: true });
    const put = async (target: string, file: string, content: string): Promise<void> => {
      await mkdir(join(inbox, target), { recursive: true });
      await writeFile(join(inbox, target, file), content, { mode: 0o400 });
    };
    const acl =
      generation.aclOverride ??
      renderAclFile({
        keyNamespace: "cache",
        serverVersion: SERVER_VERSION,
        passwordHashes: {
          app: generation.app.map(aclPasswordHash),
          admin: generation.admin.map(aclPasswordHash),
          healthcheck: generation.healthcheck.map(aclPasswordHash),
        },
      });
    await put("redis", REDIS_FILES.acl, acl);
    await put("redis", REDIS_FILES.serverCert, generation.server.cert);
    await put("redis", REDIS_FILES.serverKey, generation.server.key);
    await put("redis", REDIS_FILES.ca, fixtures.ca.cert);
    await put("redis", REDIS_FILES.healthcheckPassword, generation.healthcheck[0]!);
    for (const [index, admin] of generation.admin.entries())
      await put("operator", OPERATOR_FILES.adminPassword(index), admin);
    if (mutual) {
      await put("operator", OPERATOR_FILES.clientCert, fixtures.client.cert);
      await put("operator", OPERATOR_FILES.clientKey, fixtures.client.key);
    }
    await put("backend", BACKEND_FILES.password, generation.app[0]!);
    const plan = configuratorPlan({
      alias: "127.0.0.1",
      port,
      redisUser: OWNER,
      serverFiles,
      adminPasswordCount: generation.admin.length,
      tls: { mutual },
      clients: [{ name: "backend", owner: OWNER, files: [BACKEND_FILES.password] }],
      paths: { inbox, volumesRoot: volumes, redisSecretsDir: redisVolume },
      reachAttempts: 2,
    });
    try {
      const { stdout, stderr } = await execFileAsync("sh", ["-c", renderConfiguratorScript(plan)], {
        timeout: 60_000,
      });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
    }
  }

  const generationDirs = (volume: string): string[] =>
    readdirSync(volume).filter((entry) => entry.startsWith("gen-"));

  beforeAll(async () => {
    fixtures = await createTlsFixtures(undefined, { dnsNames: ["redis"] });
    root = await mkdtemp(join(tmpdir(), "secure-redis-configurator-"));
    volumes = join(root, "volumes");
    redisVolume = join(volumes, "redis");
    backendVolume = join(volumes, "backend");
    inbox = join(root, "inbox");
    await mkdir(redisVolume, { recursive: true });
    await mkdir(backendVolume, { recursive: true });
  });

  afterAll(async () => {
    await closeRedisClient(longLived);
    await server?.stop();
    await rm(root, { recursive: true, force: true });
    await disposeTlsFixtures();
  });

  it("first deployment: writes the volumes while Redis is not running yet", async () => {
    const first = newPasswords();
    generations.push({
      app: [first.app],
      admin: [first.admin],
      healthcheck: [first.healthcheck],
      server: fixtures.server,
    });
    const { code, output } = await runConfigurator(generations[0]!, await getFreePort());
    expect(output).toContain("first delivery: Redis reads these files when it starts");
    expect(code).toBe(0);
    assertNoSecret(output, allPasswords);

    const current = readlinkSync(join(redisVolume, "current"));
    expect(current).toMatch(/^gen-\d{8}T\d{6}Z-\d+/);
    expect(lstatSync(join(redisVolume, "current")).isSymbolicLink()).toBe(true);
    for (const file of serverFiles) {
      const stat = statSync(live(file));
      expect(stat.mode & 0o777, file).toBe(0o400);
      expect(stat.uid).toBe(OWNER.uid);
    }
    expect(statSync(join(redisVolume, current)).mode & 0o777).toBe(0o750);
    expect(readFileSync(join(backendVolume, "current", BACKEND_FILES.password), "utf8")).toBe(first.app);
    expect(existsSync(inbox)).toBe(false); // the inputs are gone
  });

  it("Redis starts from the written files", async () => {
    server = await startRedisServer({
      tls: {
        cert: live(REDIS_FILES.serverCert),
        key: live(REDIS_FILES.serverKey),
        ca: live(REDIS_FILES.ca),
        authClients: mutual ? "yes" : "no",
      },
      extraArgs: ["--aclfile", live(REDIS_FILES.acl)],
    });
    const g1 = generations[0]!;
    longLived = await connectRedisClient(server, {
      tls: clientTls(),
      username: "app",
      password: g1.app[0]!,
      redisOptions: NO_READY_CHECK,
    });
    expect(await longLived.set("cache:warm", "kept")).toBe("OK");
    expect(await servedSerial(server.port, clientTls())).toBe(serialOf(fixtures.server.cert));
  });

  it("rotation: new passwords and certificate reach the running Redis in place, no connection dropped", async () => {
    const running = server!;
    const pid = running.pid;
    const g1 = generations[0]!;
    const next = newPasswords();
    const certificate = await issueServerCertificate(fixtures, root, `server-${mutual ? "m" : "s"}-2`);
    const g2: Generation = {
      app: [next.app, g1.app[0]!],
      admin: [next.admin, g1.admin[0]!],
      healthcheck: [next.healthcheck, g1.healthcheck[0]!],
      server: certificate,
    };
    generations.push(g2);
    const { code, output } = await runConfigurator(g2, running.port);
    expect(output).toContain("Redis applied the new users and TLS material in place");
    expect(code).toBe(0);
    assertNoSecret(output, allPasswords);

    expect(running.pid).toBe(pid);
    expect(running.running).toBe(true);
    // The connection opened before the rotation is still the same, still authenticated, data intact.
    expect(await longLived!.get("cache:warm")).toBe("kept");
    expect(longLived!.status).toBe("ready");
    // Both generations log in; the admin too, with either.
    expect(await asUser(running, clientTls(), "app", next.app, ["PING"])).toBe("PONG");
    expect(await asUser(running, clientTls(), "app", g1.app[0]!, ["PING"])).toBe("PONG");
    expect(await asUser(running, clientTls(), "admin", next.admin, ["PING"])).toBe("PONG");
    // New connections get the new certificate.
    expect(await servedSerial(running.port, clientTls())).toBe(serialOf(certificate.cert));
    // The backend got the new password only now, and old generations are gone.
    expect(readFileSync(join(backendVolume, "current", BACKEND_FILES.password), "utf8")).toBe(next.app);
    expect(generationDirs(redisVolume)).toHaveLength(1);
    expect(generationDirs(backendVolume)).toHaveLength(1);
    // The container healthcheck, as rendered, passes with the new healthcheck password.
    const healthcheck = renderHealthcheckCommand({
      port: running.port,
      passwordFile: live(REDIS_FILES.healthcheckPassword),
      tls: {
        caFile: live(REDIS_FILES.ca),
        ...(mutual ? { certFile: fixtures.client.certPath, keyFile: fixtures.client.keyPath } : {}),
      },
    });
    await execFileAsync("sh", ["-c", healthcheck]);
  });

  it("the next rotation retires the oldest password; connections opened with it stay until closed", async () => {
    const running = server!;
    const [g1, g2] = [generations[0]!, generations[1]!];
    const next = newPasswords();
    const g3: Generation = {
      app: [next.app, g2.app[0]!],
      admin: [next.admin, g2.admin[0]!],
      healthcheck: [next.healthcheck, g2.healthcheck[0]!],
      server: g2.server,
    };
    generations.push(g3);
    const { code, output } = await runConfigurator(g3, running.port);
    expect(code, output).toBe(0);
    await expect(asUser(running, clientTls(), "app", g1.app[0]!, ["PING"])).rejects.toThrow(/WRONGPASS/);
    expect(await asUser(running, clientTls(), "app", g2.app[0]!, ["PING"])).toBe("PONG");
    expect(await asUser(running, clientTls(), "app", next.app, ["PING"])).toBe("PONG");
    expect(await longLived!.get("cache:warm")).toBe("kept");
  });

  it("a refused apply puts the previous generation back and leaves the backend's files alone", async () => {
    const running = server!;
    const g3 = generations[2]!;
    const before = readlinkSync(join(redisVolume, "current"));
    const next = newPasswords();
    const broken: Generation = {
      ...g3,
      app: [next.app, g3.app[0]!],
      aclOverride:
        `user default off resetpass resetkeys resetchannels -@all\n` +
        `user app on ${aclPasswordHash(next.app)} ~cache:* -@all +get +no-such-command\n` +
        `user admin on ${aclPasswordHash(g3.admin[0]!)} ~* &* +@all\n`,
    };
    const { code, output } = await runConfigurator(broken, running.port);
    expect(code).not.toBe(0);
    expect(output).toMatch(/FAILED: ACL SETUSER app was refused/);
    expect(output).toContain(`switched the Redis volume back to ${before}`);
    expect(output).toContain("restored the users Redis had");
    assertNoSecret(output, allPasswords);
    expect(readlinkSync(join(redisVolume, "current"))).toBe(before);
    expect(readFileSync(join(backendVolume, "current", BACKEND_FILES.password), "utf8")).toBe(g3.app[0]);
    expect(await asUser(running, clientTls(), "app", g3.app[0]!, ["PING"])).toBe("PONG");
    await expect(asUser(running, clientTls(), "app", next.app, ["PING"])).rejects.toThrow(/WRONGPASS/);
    expect(existsSync(inbox)).toBe(false);
  });

  it("refuses a skipped password generation with the fix, changing nothing", async () => {
    const running = server!;
    const g3 = generations[2]!;
    const before = readlinkSync(join(redisVolume, "current"));
    const skipped = newPasswords();
    const further = newPasswords();
    const { code, output } = await runConfigurator(
      {
        ...g3,
        app: [further.app, skipped.app],
        admin: [further.admin, skipped.admin],
        healthcheck: [further.healthcheck],
      },
      running.port,
    );
    expect(code).not.toBe(0);
    expect(output).toContain("raise rotation.passwordGeneration by one at a time");
    expect(readlinkSync(join(redisVolume, "current"))).toBe(before);
    expect(await asUser(running, clientTls(), "app", g3.app[0]!, ["PING"])).toBe("PONG");
  });

  it("delivers to a stopped Redis (connection refused), which reads the files when it starts", async () => {
    const g3 = generations[2]!;
    const closedPort = await getFreePort();
    const { code, output } = await runConfigurator({ ...g3 }, closedPort);
    expect(code, output).toBe(0);
    expect(output).toMatch(
      /Redis is not reachable \(Could not connect to Redis at 127\.0\.0\.1:\d+: Connection refused\)/,
    );
    expect(generationDirs(redisVolume)).toHaveLength(1);
  });

  it("why not ACL LOAD: on this server it drops every authenticated connection", async () => {
    const running = server!;
    const g3 = generations[2]!;
    expect(await longLived!.ping()).toBe("PONG");
    const [auth, load] = await respPipeline(
      running,
      [
        ["AUTH", "admin", g3.admin[0]!],
        ["ACL", "LOAD"],
      ],
      clientTls(),
    );
    expect(auth).toBe("OK");
    expect(errorOf(load!)).toBeUndefined();
    await expect(longLived!.ping()).rejects.toThrow();
  });
});
