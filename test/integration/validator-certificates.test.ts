/**
 * The validator's certificate checks on real certificate files (openssl
 * fixtures): readable, valid, not expiring within the tier's renewal window,
 * and the client key matching its certificate.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecureConfigGenerator, validateSecurityConfig, type Finding } from "../../lib/index.js";
import { createTlsFixtures, disposeTlsFixtures, type TlsFixtures } from "../helpers/tls-fixtures.js";

let fixtures: TlsFixtures;
/** Certificates valid for 400 days: outside every tier's renewal window. */
let longLived: TlsFixtures;
let dir: string;
beforeAll(async () => {
  [fixtures, longLived] = await Promise.all([
    createTlsFixtures(),
    createTlsFixtures(undefined, { validDays: 400 }),
  ]);
  dir = mkdtempSync(join(tmpdir(), "validator-certs-"));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await disposeTlsFixtures();
});

const DAY = 86_400_000;
const generator = new SecureConfigGenerator();

/** A generated production configuration plus certificate variables. */
function production(tls: Record<string, string>): Record<string, string> {
  return { ...generator.generate({ environment: "production" }).toEnvRecord(), ...tls };
}
const found = (findings: Finding[]): Array<[string, string]> =>
  findings.map((finding) => [finding.id, finding.severity]);
/** Findings about the CA file only (a generated production config also lacks its client certificate). */
const caFindings = (findings: Finding[]): Finding[] =>
  findings.filter((finding) => finding.id.startsWith("tls.ca."));

describe("validator: certificate files", () => {
  it("a complete production configuration with a valid, matching client certificate scores 100", () => {
    const env = production({
      REDIS_TLS_CA_FILE: longLived.ca.certPath,
      REDIS_TLS_CERT_FILE: longLived.client.certPath,
      REDIS_TLS_KEY_FILE: longLived.client.keyPath,
    });
    const result = validateSecurityConfig(env, { environment: "production" });
    expect(found(result.findings)).toEqual([]);
    expect(result.score).toBe(100);
  });

  it("reports certificates inside the tier's renewal window (fixtures live 7 days; production renews at 30)", () => {
    const env = production({
      REDIS_TLS_CA_FILE: fixtures.ca.certPath,
      REDIS_TLS_CERT_FILE: fixtures.client.certPath,
      REDIS_TLS_KEY_FILE: fixtures.client.keyPath,
    });
    const result = validateSecurityConfig(env, { environment: "production" });
    expect(found(result.findings)).toEqual([
      ["tls.ca.certificate-expiring", "medium"],
      ["tls.client.certificate-expiring", "medium"],
    ]);
    expect(result.findings[1]!.message).toMatch(
      /^REDIS_TLS_CERT_FILE \(.*client\.crt\): the certificate \(.*CN=app\) expires on \d{4}-\d{2}-\d{2}, in \d days \(renew within 30\)$/,
    );
    expect(result.passed).toBe(true); // 90: two mediums
  });

  it("an expired certificate is critical; one not yet valid is high", () => {
    const expired = validateSecurityConfig(
      production({ REDIS_TLS_CA_FILE: fixtures.expiredServer.certPath }),
      { environment: "production" },
    );
    expect(found(expired.findings)).toContainEqual(["tls.ca.certificate-expired", "critical"]);
    expect(expired.passed).toBe(false);
    const early = validateSecurityConfig(production({ REDIS_TLS_CA_FILE: fixtures.ca.certPath }), {
      environment: "production",
      now: Date.now() - 30 * DAY,
    });
    expect(found(early.findings)).toContainEqual(["tls.ca.certificate-not-yet-valid", "high"]);
  });

  it("a client key that does not belong to the certificate is high", () => {
    const result = validateSecurityConfig(
      production({
        REDIS_TLS_CERT_FILE: longLived.client.certPath,
        REDIS_TLS_KEY_FILE: longLived.untrustedClient.keyPath,
      }),
      { environment: "production" },
    );
    expect(found(result.findings)).toContainEqual(["tls.client-key-mismatch", "high"]);
  });

  it("unreadable, non-PEM and unparsable files are high, and name the variable and the path", () => {
    const garbage = join(dir, "garbage.pem");
    writeFileSync(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    const text = join(dir, "text.pem");
    writeFileSync(text, "hello\n");
    const badKey = join(dir, "bad.key");
    writeFileSync(badKey, "not a key\n", { mode: 0o600 });
    const missing = validateSecurityConfig(production({ REDIS_TLS_CA_FILE: join(dir, "missing.pem") }), {
      environment: "staging",
    });
    expect(found(caFindings(missing.findings))).toEqual([["tls.ca.file-unreadable", "high"]]);
    expect(caFindings(missing.findings)[0]!.message).toBe(
      `REDIS_TLS_CA_FILE: cannot read ${join(dir, "missing.pem")} (ENOENT)`,
    );
    expect(
      found(
        caFindings(
          validateSecurityConfig(production({ REDIS_TLS_CA_FILE: garbage }), { environment: "staging" })
            .findings,
        ),
      ),
    ).toEqual([["tls.ca.certificate-invalid", "high"]]);
    expect(
      found(
        caFindings(
          validateSecurityConfig(production({ REDIS_TLS_CA_FILE: text }), { environment: "staging" })
            .findings,
        ),
      ),
    ).toEqual([["tls.ca.certificate-invalid", "high"]]);
    const keyResult = validateSecurityConfig(
      production({ REDIS_TLS_CERT_FILE: longLived.client.certPath, REDIS_TLS_KEY_FILE: badKey }),
      {
        environment: "production",
      },
    );
    expect(found(keyResult.findings)).toContainEqual(["tls.client-key-invalid", "high"]);
  });
});
