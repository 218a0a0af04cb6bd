/**
 * Proves the integration harness (TLS fixtures, redis-server processes, test
 * clients) against real redis-server and openssl: each guarantee the later
 * feature tests lean on is shown to hold, and where a check could pass
 * vacuously a positive control shows it can fail.
 */
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clientTls,
  closeRedisClient,
  connectRedisClient,
  errorCode,
  expectConnectionFailure,
  sendRawCommand,
  withRedisClient,
} from "../helpers/redis-client.js";
import { listeningTcpPorts, serverTls, startRedisServer, useRedisServer } from "../helpers/redis-server.js";
import { createTlsFixtures, disposeTlsFixtures, type TlsFixtures } from "../helpers/tls-fixtures.js";

const APP_PASSWORD = randomBytes(24).toString("hex");
/** Default user disabled; one app user with a password. */
const ACL = `user default off\nuser app on >${APP_PASSWORD} ~* &* +@all\n`;
const APP = { username: "app", password: APP_PASSWORD } as const;

let fixtures: TlsFixtures;

beforeAll(async () => {
  fixtures = await createTlsFixtures(undefined, { dnsNames: ["redis"] });
});

afterAll(async () => {
  await disposeTlsFixtures();
});

describe("TLS fixtures", () => {
  it("have the promised SANs, issuers and validity", () => {
    const ca = new X509Certificate(fixtures.ca.cert);
    const server = new X509Certificate(fixtures.server.cert);
    const expired = new X509Certificate(fixtures.expiredServer.cert);
    const untrusted = new X509Certificate(fixtures.untrustedServer.cert);
    const client = new X509Certificate(fixtures.client.cert);

    expect(ca.ca).toBe(true);
    expect(server.subjectAltName).toBe("DNS:localhost, DNS:redis, IP Address:127.0.0.1");
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
    expect(client.checkIssued(ca) && client.verify(ca.publicKey)).toBe(true);
    expect(expired.checkIssued(ca) && expired.verify(ca.publicKey)).toBe(true);
    expect(untrusted.verify(ca.publicKey)).toBe(false);
    expect(untrusted.verify(new X509Certificate(fixtures.untrustedCa.cert).publicKey)).toBe(true);
    expect(new Date(expired.validTo).getTime()).toBeLessThan(Date.now());
    expect(new Date(server.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(server.validTo).getTime()).toBeGreaterThan(Date.now() + 24 * 3600_000);
  });

  it("are cached per option set and regenerated for another", async () => {
    expect(await createTlsFixtures(undefined, { dnsNames: ["redis"] })).toBe(fixtures);
    const other = await createTlsFixtures(undefined, { dnsNames: ["cache.internal"] });
    expect(other.dir).not.toBe(fixtures.dir);
    expect(new X509Certificate(other.server.cert).subjectAltName).toContain("DNS:cache.internal");
  });
});

describe("(a) TLS-only server with an ACL file (default user off, app user)", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures), aclFile: ACL }));

  it("lets `app` SET/GET over TLS with CA verification", async () => {
    const key = `harness:${randomBytes(6).toString("hex")}`;
    const value = randomBytes(16).toString("base64");
    await withRedisClient(redis(), { tls: clientTls(fixtures), ...APP }, async (client) => {
      expect(await client.set(key, value)).toBe("OK");
      expect(await client.get(key)).toBe(value);
      expect(await client.acl("WHOAMI")).toBe("app");
    });
  });

  it("verifies the hostname too: localhost and the extra SAN pass, another name fails", async () => {
    for (const servername of ["localhost", "redis"]) {
      await withRedisClient(redis(), { tls: clientTls(fixtures, { servername }), ...APP }, async (client) => {
        expect(await client.ping()).toBe("PONG");
      });
    }
    const error = await expectConnectionFailure(redis(), {
      tls: clientTls(fixtures, { servername: "evil.example" }),
      ...APP,
    });
    expect(errorCode(error)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("has no plaintext port: the process listens on the TLS port only", async () => {
    const server = redis();
    expect(server.plainPort).toBeUndefined();
    expect(await listeningTcpPorts(server.pid)).toEqual([server.tlsPort]);
    await withRedisClient(server, { tls: clientTls(fixtures), ...APP }, async (client) => {
      expect(await client.config("GET", "port")).toEqual(["port", "0"]);
    });
    // Plaintext RESP sent to the TLS port gets no answer: the server drops the connection.
    await expect(sendRawCommand(server, ["PING"])).rejects.toThrow(/closed|ECONNRESET/);
  });

  it("control: with plaintextPortToo the extra port is seen, so the check above can fail", async () => {
    const both = await startRedisServer({ tls: serverTls(fixtures), plaintextPortToo: true, aclFile: ACL });
    try {
      expect(both.plainPort).toBeDefined();
      expect(await listeningTcpPorts(both.pid)).toEqual(
        [both.plainPort, both.tlsPort].sort((a, b) => a! - b!),
      );
      expect(await sendRawCommand({ host: both.host, port: both.plainPort! }, ["PING"])).toMatch(/^-NOAUTH/);
    } finally {
      await both.stop();
    }
  });

  it("refuses unauthenticated clients and wrong credentials", async () => {
    const server = redis();
    // Bare RESP over TLS, no client-library handshake: the default user is off.
    expect(await sendRawCommand(server, ["PING"], { tls: clientTls(fixtures) })).toMatch(/^-NOAUTH/);
    expect(await sendRawCommand(server, ["GET", "x"], { tls: clientTls(fixtures) })).toMatch(/^-NOAUTH/);
    expect(
      await sendRawCommand(server, ["AUTH", "default", "anything"], { tls: clientTls(fixtures) }),
    ).toMatch(/^-WRONGPASS/);
    // The same through ioredis (HELLO 3 and RESP2 paths).
    expect((await expectConnectionFailure(server, { tls: clientTls(fixtures) })).message).toMatch(/NOAUTH/);
    expect(
      (await expectConnectionFailure(server, { tls: clientTls(fixtures), protocol: 2 })).message,
    ).toMatch(/NOAUTH/);
    const wrong = await expectConnectionFailure(server, {
      tls: clientTls(fixtures),
      username: "app",
      password: "not-the-password",
    });
    expect(wrong.message).toMatch(/WRONGPASS/);
  });
});

describe("(b) certificate trust", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures), aclFile: ACL }));
  const untrustedRedis = useRedisServer(() => ({
    tls: serverTls(fixtures, { pair: "untrustedServer" }),
    aclFile: ACL,
  }));

  it("a client trusting only the untrusted CA rejects the real server's certificate", async () => {
    const error = await expectConnectionFailure(redis(), {
      tls: clientTls(fixtures, { ca: "untrusted" }),
      ...APP,
    });
    // redis (OpenSSL auto-chaining from tls-ca-cert-file) sends the CA along with the leaf,
    // so the client sees a self-signed root it does not trust.
    expect(errorCode(error)).toBe("SELF_SIGNED_CERT_IN_CHAIN");
  });

  it("a server presenting a certificate from the untrusted CA is rejected", async () => {
    const error = await expectConnectionFailure(untrustedRedis(), { tls: clientTls(fixtures), ...APP });
    expect(errorCode(error)).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("control: the untrusted chain itself is valid (trusting its CA works)", async () => {
    const tls = clientTls(fixtures, { ca: "untrusted" });
    await withRedisClient(untrustedRedis(), { tls, ...APP }, async (client) => {
      expect(await client.ping()).toBe("PONG");
    });
  });
});

describe("(c) expired server certificate", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures, { pair: "expiredServer" }), aclFile: ACL }));

  it("is rejected by the client with CERT_HAS_EXPIRED", async () => {
    const error = await expectConnectionFailure(redis(), { tls: clientTls(fixtures), ...APP });
    expect(errorCode(error)).toBe("CERT_HAS_EXPIRED");
  });
});

describe("(d) mutual TLS (authClients: 'yes')", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures, { authClients: "yes" }), aclFile: ACL }));

  it("rejects a client without a certificate", async () => {
    const error = await expectConnectionFailure(redis(), { tls: clientTls(fixtures), ...APP });
    // TLS 1.3: the client finishes its side of the handshake, then reads the server's alert.
    expect(errorCode(error)).toBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
  });

  it("rejects a client certificate from the untrusted CA", async () => {
    const error = await expectConnectionFailure(redis(), {
      tls: clientTls(fixtures, { clientCert: "untrusted" }),
      ...APP,
    });
    expect(errorCode(error)).toBe("ERR_SSL_TLSV1_ALERT_UNKNOWN_CA");
  });

  it("accepts the client certificate signed by the CA", async () => {
    const client = await connectRedisClient(redis(), {
      tls: clientTls(fixtures, { clientCert: "trusted" }),
      ...APP,
    });
    try {
      expect(await client.set("mtls", "ok")).toBe("OK");
      expect(await client.get("mtls")).toBe("ok");
    } finally {
      await closeRedisClient(client);
    }
  });
});

describe("server lifecycle", () => {
  it("restart() keeps the endpoint; stop() ends the process and removes the dir", async () => {
    const server = await startRedisServer({ tls: serverTls(fixtures), aclFile: ACL });
    try {
      const firstPid = server.pid;
      expect(server.logs()).toContain("Ready to accept connections");
      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      expect(server.running).toBe(true);
      await withRedisClient(server, { tls: clientTls(fixtures), ...APP }, async (client) => {
        expect(await client.set("after-restart", "1")).toBe("OK");
        // No persistence configured: nothing is written to the server's dir.
        expect(await client.config("GET", "save")).toEqual(["save", ""]);
        expect(await client.config("GET", "dir")).toEqual(["dir", server.dir]);
      });
    } finally {
      await server.stop();
    }
    expect(server.running).toBe(false);
    expect(() => process.kill(server.pid, 0)).toThrow();
    expect(existsSync(server.dir)).toBe(false);
  });
});
