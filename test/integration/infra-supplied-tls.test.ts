/**
 * Certificates a user brings (stack config) through the real program, with a
 * real PKI made by openssl: the program trusts and delivers them instead of
 * issuing its own, issues client certificates from a supplied CA, and refuses
 * certificates that would fail in production, without printing a key.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertNoSecret, visibleText } from "../helpers/canary.js";
import { createTlsFixtures, disposeTlsFixtures, type TlsFixtures } from "../helpers/tls-fixtures.js";
import {
  deliveredFile,
  programError,
  resourcesOfType,
  runProgram,
  type RunOptions,
} from "../infra/program.js";

let pki: TlsFixtures;
let otherNames: TlsFixtures;

beforeAll(async () => {
  pki = await createTlsFixtures(undefined, { dnsNames: ["redis"] });
  otherNames = await createTlsFixtures(undefined, { dnsNames: ["cache.internal"] });
});

afterAll(async () => {
  await disposeTlsFixtures();
});

const serverConfig = (
  fixtures: TlsFixtures,
  pair: "server" | "expiredServer" | "untrustedServer" = "server",
): RunOptions => ({
  config: {
    "tls.caCertPem": fixtures.ca.cert,
    "tls.serverCertPem": fixtures[pair].cert,
    "tls.serverKeyPem": fixtures[pair].key,
  },
  secretKeys: ["tls.serverKeyPem"],
});

describe("supplied certificates", () => {
  it("uses a supplied server certificate and CA instead of issuing (staging)", async () => {
    const run = await runProgram("staging", serverConfig(pki));
    expect(resourcesOfType(run, "tls:index/selfSignedCert:SelfSignedCert")).toEqual([]);
    expect(resourcesOfType(run, "tls:index/locallySignedCert:LocallySignedCert")).toEqual([]);
    expect(deliveredFile(run, "redis", "server.crt")).toBe(pki.server.cert);
    expect(deliveredFile(run, "redis", "server.key")).toBe(pki.server.key);
    expect(deliveredFile(run, "redis", "ca.crt")).toBe(pki.ca.cert);
    expect(deliveredFile(run, "backend", "ca.crt")).toBe(pki.ca.cert);
    const summary = run.outputs.securitySummary as { certificateExpiry: string };
    expect(summary.certificateExpiry).toBe(
      new Date(new X509Certificate(pki.server.cert).validTo).toISOString(),
    );
  });

  it("issues every certificate from a supplied CA, client certificates included (prod)", async () => {
    const run = await runProgram("prod", {
      config: { "tls.caCertPem": pki.ca.cert, "tls.caKeyPem": pki.ca.key },
      secretKeys: ["tls.caKeyPem"],
    });
    expect(resourcesOfType(run, "tls:index/selfSignedCert:SelfSignedCert")).toEqual([]);
    const signed = resourcesOfType(run, "tls:index/locallySignedCert:LocallySignedCert");
    expect(signed.map((cert) => cert.name).sort()).toEqual([
      "secure-redis-prod-tls-app-client-cert-g1",
      "secure-redis-prod-tls-healthcheck-client-cert-g1",
      "secure-redis-prod-tls-operator-client-cert-g1",
      "secure-redis-prod-tls-server-cert-g1",
    ]);
    for (const cert of signed) expect(cert.inputs.caCertPem).toBe(pki.ca.cert);
  });

  it.each([
    [
      "a certificate for another name",
      () => serverConfig(otherNames),
      /tls\.serverCertPem: does not name the Redis alias "redis"/,
    ],
    [
      "an expired certificate",
      () => serverConfig(pki, "expiredServer"),
      /tls\.serverCertPem: is not valid now/,
    ],
    [
      "a certificate from another CA",
      () => serverConfig(pki, "untrustedServer"),
      /tls\.serverCertPem: was not issued by the CA/,
    ],
    [
      "a key that does not match",
      (): RunOptions => ({
        config: {
          "tls.caCertPem": pki.ca.cert,
          "tls.serverCertPem": pki.server.cert,
          "tls.serverKeyPem": pki.client.key,
        },
        secretKeys: ["tls.serverKeyPem"],
      }),
      /tls\.serverKeyPem: does not belong to the certificate/,
    ],
    ["mutual TLS without the CA key", () => serverConfig(pki), /tls\.caKeyPem: is required for mutual TLS/],
  ] as const)("refuses %s, without printing a key", async (label, options, message) => {
    const stack = label === "mutual TLS without the CA key" ? "prod" : "staging";
    const error = await programError(stack, options());
    expect(error.message).toMatch(message);
    assertNoSecret(visibleText(error), [pki.server.key, pki.client.key, pki.ca.key, otherNames.server.key]);
  });
});
