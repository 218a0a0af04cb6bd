/**
 * The secure client against real redis-server processes: TLS with
 * verification, ACL users, bounded authentication attempts (counted on the
 * server), clear errors for each TLS failure, mutual TLS, events, health check.
 */
import { randomBytes } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fernet } from "../../lib/crypto/fernet.js";
import { loadSettings, type Settings } from "../../lib/config/settings.js";
import { SecurityEvents, type SecurityEvent } from "../../lib/events.js";
import { createSecureRedisClient, type SecureRedisClient } from "../../lib/redis/client.js";
import { RedisAuthError, RedisConnectionError, RedisTlsError } from "../../lib/redis/errors.js";
import { ConfigurationError } from "../../lib/errors.js";
import { adminUserAcl, appUserAcl, hardenedAcl } from "../helpers/acl.js";
import { assertNoSecret, visibleText } from "../helpers/canary.js";
import { clientTls, withRedisClient } from "../helpers/redis-client.js";
import { serverTls, useRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { createTlsFixtures, disposeTlsFixtures, type TlsFixtures } from "../helpers/tls-fixtures.js";

const APP_PASSWORD = `A1-${randomBytes(24).toString("base64url")}`; // 35 characters: fits every tier
const ADMIN_PASSWORD = randomBytes(24).toString("hex");
const WRONG_PASSWORD = `Wrong-${randomBytes(16).toString("hex")}`;
const ACL = hardenedAcl(appUserAcl("app", APP_PASSWORD), adminUserAcl("admin", ADMIN_PASSWORD));
const FAST_BACKOFF = { baseMs: 20, capMs: 100 };

let fixtures: TlsFixtures;
beforeAll(async () => {
  fixtures = await createTlsFixtures();
});
afterAll(async () => {
  await disposeTlsFixtures();
});

/** Settings for the testing tier (TLS and auth required) against `server`. */
function settingsFor(server: RedisServer, overrides: Record<string, string | undefined> = {}): Settings {
  return loadSettings({
    SECURE_REDIS_ENV: "testing",
    REDIS_URL: `${server.tls ? "rediss" : "redis"}://${server.host}:${server.port}`,
    REDIS_USERNAME: "app",
    REDIS_PASSWORD: APP_PASSWORD,
    ...(server.tls ? { REDIS_TLS_CA_FILE: fixtures.ca.certPath } : {}),
    REDIS_CONNECT_TIMEOUT_MS: "3000",
    ...overrides,
  });
}

function recordEvents(): { events: SecurityEvents; seen: SecurityEvent[] } {
  const events = new SecurityEvents();
  const seen: SecurityEvent[] = [];
  events.onAny((event) => seen.push(event));
  return { events, seen };
}

async function withClient<T>(client: SecureRedisClient, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await client.close();
  }
}

/**
 * What the server counted: authentication failures in ACL LOG (Redis 7.0 has
 * no acl_access_denied_auth in INFO; ACL LOG aggregates repeats in `count`),
 * and connections accepted (INFO stats), each read over a new admin connection.
 */
async function serverAuthFailures(server: RedisServer): Promise<{ connections: number; aclLog: number }> {
  return withRedisClient(
    server,
    { tls: clientTls(fixtures), username: "admin", password: ADMIN_PASSWORD },
    async (admin) => {
      const info = await admin.info("stats");
      const connections = Number(/total_connections_received:(\d+)/.exec(info)?.[1] ?? Number.NaN);
      const log = (await admin.call("ACL", "LOG")) as unknown[][];
      let aclLog = 0;
      for (const entry of log) {
        const fields = new Map<string, unknown>();
        for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
        if (fields.get("reason") === "auth") aclLog += Number(fields.get("count"));
      }
      return { connections, aclLog };
    },
  );
}

describe("TLS server with ACL users", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures), aclFile: ACL }));

  it("connects over TLS with the right credentials, runs commands, reports latency and events", async () => {
    const { events, seen } = recordEvents();
    const client = createSecureRedisClient(settingsFor(redis()), { events });
    await withClient(client, async () => {
      await client.connect();
      expect(client.ready).toBe(true);
      expect(await client.redis.set("k", "v")).toBe("OK");
      expect(await client.redis.get("k")).toBe("v");
      const health = await client.healthCheck();
      expect(health.ok).toBe(true);
      expect(health.latencyMs).toBeGreaterThan(0);
      expect(health.latencyMs).toBeLessThan(2_000);
      const stream = client.redis.stream as TLSSocket;
      expect(["TLSv1.2", "TLSv1.3"]).toContain(stream.getProtocol());
    });
    expect(seen.map((event) => event.type)).toContain("auth.success");
    expect(seen.find((event) => event.type === "auth.success")).toMatchObject({ user: "app" });
  });

  it("a wrong password ends in RedisAuthError after the bounded number of attempts, and the server saw no more", async () => {
    const server = redis();
    const before = await serverAuthFailures(server);
    const { events, seen } = recordEvents();
    const client = createSecureRedisClient(settingsFor(server, { REDIS_PASSWORD: WRONG_PASSWORD }), {
      events,
      maxAuthFailures: 3,
      backoff: FAST_BACKOFF,
    });
    const started = Date.now();
    const error = await withClient(client, () =>
      client.connect().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    const elapsedMs = Date.now() - started;
    expect(error).toBeInstanceOf(RedisAuthError);
    const authError = error as RedisAuthError;
    expect(authError.user).toBe("app");
    expect(authError.attempts).toBe(3);
    expect(authError.reason).toBe("WRONGPASS");
    expect(authError.message).toMatch(
      /authentication as "app" at 127\.0\.0\.1:\d+ failed 3 times in a row \(WRONGPASS\)/,
    );
    assertNoSecret(visibleText(error), [WRONG_PASSWORD, APP_PASSWORD]);
    assertNoSecret(JSON.stringify(seen), [WRONG_PASSWORD, APP_PASSWORD]);
    expect(
      seen
        .filter((event): event is SecurityEvent<"auth.failure"> => event.type === "auth.failure")
        .map((event) => event.consecutive),
    ).toEqual([1, 2, 3]);

    // Nothing retries in the background: wait well past the backoff, then count on the server.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(client.redis.status).toBe("end");
    const after = await serverAuthFailures(server);
    expect(after.aclLog - before.aclLog).toBe(3);
    // One more connection than attempts: the admin connection that read `after`.
    expect(after.connections - before.connections - 1).toBe(3);
    console.log(
      `[measure] wrong password: ${after.aclLog - before.aclLog} auth failures in ACL LOG, ` +
        `${after.connections - before.connections - 1} connections, rejected after ${elapsedMs} ms`,
    );
  });

  it("no credentials against an ACL server ends in RedisAuthError NOAUTH for the default user", async () => {
    const server = redis();
    const settings = loadSettings({
      SECURE_REDIS_ENV: "development",
      REDIS_URL: `rediss://${server.host}:${server.port}`,
      REDIS_TLS_CA_FILE: fixtures.ca.certPath,
    });
    const client = createSecureRedisClient(settings, { maxAuthFailures: 2, backoff: FAST_BACKOFF });
    const error = await withClient(client, () =>
      client.connect().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(RedisAuthError);
    expect(error).toMatchObject({ user: "default", reason: "NOAUTH", attempts: 2 });
    expect((error as Error).message).toMatch(/the server requires authentication: set REDIS_USERNAME/);
  });

  it("a plaintext client against the TLS-only port fails with a clear error", async () => {
    const server = redis();
    // Built by hand: the testing tier itself refuses redis:// (see the policy test below).
    const settings = { ...settingsFor(server), environment: "development" as const };
    settings.redis = { ...settings.redis, tls: false };
    const client = createSecureRedisClient(settings, { maxConnectAttempts: 2, backoff: FAST_BACKOFF });
    const error = await withClient(client, () =>
      client.connect().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as Error).message).toMatch(/could not connect to 127\.0\.0\.1:\d+ after 2 attempts/);
    expect((error as Error).message).toMatch(/use a rediss:\/\/ URL/);
    // Redis resets the connection when a plaintext command arrives where a TLS ClientHello should.
    expect((error as Error).message).toMatch(
      /the server closed the connection before it was ready \(ECONNRESET\)/,
    );
    assertNoSecret(visibleText(error), [APP_PASSWORD]);
  });

  it("a client trusting another CA fails with RedisTlsError naming the CA fix", async () => {
    const { events, seen } = recordEvents();
    const client = createSecureRedisClient(
      settingsFor(redis(), { REDIS_TLS_CA_FILE: fixtures.untrustedCa.certPath }),
      { events },
    );
    const error = await withClient(client, () =>
      client.connect().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(RedisTlsError);
    expect((error as RedisTlsError).code).toBe("SELF_SIGNED_CERT_IN_CHAIN");
    expect((error as Error).message).toMatch(/not signed by a CA this client trusts.*REDIS_TLS_CA_FILE/);
    expect(seen.some((event) => event.type === "tls.failure")).toBe(true);
    assertNoSecret(visibleText(error), [APP_PASSWORD]);
  });

  it("a wrong server name fails with RedisTlsError", async () => {
    const client = createSecureRedisClient(settingsFor(redis(), { REDIS_TLS_SERVERNAME: "evil.example" }));
    const error = await withClient(client, () =>
      client.connect().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(RedisTlsError);
    expect((error as RedisTlsError).code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });
});

describe("expired server certificate", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures, { pair: "expiredServer" }), aclFile: ACL }));

  it("fails with RedisTlsError CERT_HAS_EXPIRED and a renewal hint", async () => {
    const client = createSecureRedisClient(settingsFor(redis()));
    const error = await withClient(client, () =>
      client.connect().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(RedisTlsError);
    expect((error as RedisTlsError).code).toBe("CERT_HAS_EXPIRED");
    expect((error as Error).message).toMatch(/has expired.*renew the server certificate/);
  });
});

describe("mutual TLS required by the server", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures, { authClients: "yes" }), aclFile: ACL }));

  it("works in production with the client certificate (every production requirement met)", async () => {
    const settings = loadSettings({
      SECURE_REDIS_ENV: "production",
      REDIS_URL: `rediss://localhost:${redis().port}`,
      REDIS_USERNAME: "app",
      REDIS_PASSWORD: APP_PASSWORD,
      REDIS_TLS_CA_FILE: fixtures.ca.certPath,
      REDIS_TLS_CERT_FILE: fixtures.client.certPath,
      REDIS_TLS_KEY_FILE: fixtures.client.keyPath,
      REDIS_ENCRYPTION_KEYS: Fernet.generateKey(),
      REDIS_CACHE_KEY_SECRET: randomBytes(32).toString("base64url"),
    });
    expect(settings.tls.mutual).toBe(true);
    const client = createSecureRedisClient(settings);
    await withClient(client, async () => {
      await client.connect();
      expect(await client.redis.set("mtls", "ok")).toBe("OK");
      expect((await client.healthCheck()).ok).toBe(true);
    });
  });

  it("without a client certificate the connection fails with a clear error", async () => {
    const client = createSecureRedisClient(settingsFor(redis()), {
      maxConnectAttempts: 2,
      backoff: FAST_BACKOFF,
    });
    const error = await withClient(client, () =>
      client.connect().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(RedisTlsError);
    expect((error as Error).message).toMatch(/requires a client certificate.*REDIS_TLS_CERT_FILE/);
  });
});

describe("connection events", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures), aclFile: ACL }));

  it("publishes connection.lost and connection.restored across a server restart", async () => {
    const { events, seen } = recordEvents();
    const client = createSecureRedisClient(settingsFor(redis()), { events, backoff: FAST_BACKOFF });
    await withClient(client, async () => {
      await client.connect();
      await redis().restart();
      await expect
        .poll(() => seen.some((event) => event.type === "connection.restored"), { timeout: 10_000 })
        .toBe(true);
      expect(await client.redis.ping()).toBe("PONG");
    });
    const types = seen.map((event) => event.type);
    expect(types.indexOf("connection.lost")).toBeGreaterThan(types.indexOf("auth.success"));
    expect(types.indexOf("connection.restored")).toBeGreaterThan(types.indexOf("connection.lost"));
  });
});

describe("policy enforced by the client itself", () => {
  it("refuses plaintext and unverified TLS in production, naming the setting", () => {
    const base = loadSettings({
      SECURE_REDIS_ENV: "development",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    const production = { ...base, environment: "production" as const };
    const events = new SecurityEvents();
    const violations: string[] = [];
    events.on("config.violation", (event) => violations.push(event.setting));
    expect(() => createSecureRedisClient(production, { events })).toThrow(ConfigurationError);
    expect(() => createSecureRedisClient(production)).toThrow(
      /^REDIS_URL: plaintext redis:\/\/ is refused in production/,
    );
    const unverified = {
      ...production,
      redis: { ...production.redis, tls: true },
      tls: { ...production.tls, rejectUnauthorized: false },
    };
    expect(() => createSecureRedisClient(unverified)).toThrow(
      /^REDIS_TLS_REJECT_UNAUTHORIZED: certificate verification cannot be turned off/,
    );
    expect(violations).toEqual(["REDIS_URL"]);
  });
});
