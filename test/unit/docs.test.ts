/**
 * The docs say what the code does: every finding id is documented (and every
 * documented one exists), the per-tier table equals the tier table, every
 * variable the settings read is listed, and the error messages quoted in
 * troubleshooting.md are the ones the code produces.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ENVIRONMENTS,
  RedisAuthError,
  RedisConnectionError,
  RedisTlsError,
  SEVERITY_PENALTY,
  TIERS,
} from "../../lib/index.js";
import { describeConnectionFailure, describeTlsFailure } from "../../lib/redis/tls-errors.js";

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const validatorDoc = read("docs/validator.md");
const configurationDoc = read("docs/configuration.md");
const troubleshootingDoc = read("docs/troubleshooting.md");

/** Finding ids in the source: literal ones, plus the certificate ids built from a prefix. */
function findingIdsInCode(): Set<string> {
  const ids = new Set<string>();
  const literal =
    /"((?:audit|tls|url|password|encryption|cache-key-secret|secret-file|setting|environment|username)\.[a-z][a-z.-]*[a-z])"/g;
  for (const file of ["lib/config/validator.ts", "lib/redis/audit.ts", "lib/config/certificates.ts"]) {
    for (const match of read(file).matchAll(literal)) ids.add(match[1]!);
  }
  // The prefixes themselves are arguments (idPrefix), not ids.
  for (const prefix of ["tls.ca", "tls.client", "audit.tls"]) ids.delete(prefix);
  for (const prefix of ["tls.ca", "tls.client", "audit.tls"]) {
    for (const suffix of ["certificate-expired", "certificate-not-yet-valid", "certificate-expiring"])
      ids.add(`${prefix}.${suffix}`);
  }
  for (const prefix of ["tls.ca", "tls.client"])
    for (const suffix of ["file-unreadable", "certificate-invalid"]) ids.add(`${prefix}.${suffix}`);
  return ids;
}

describe("docs", () => {
  it("validator.md documents every finding id, and only real ones", () => {
    const inCode = findingIdsInCode();
    const documented = new Set(
      [...validatorDoc.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) =>
        [...m[1]!.matchAll(/`([^`]+)`/g)].map((id) => id[1]!),
      ),
    );
    expect([...inCode].filter((id) => !documented.has(id)).sort()).toEqual([]);
    expect([...documented].filter((id) => !inCode.has(id)).sort()).toEqual([]);
    expect(inCode.size).toBeGreaterThan(60);
  });

  it("validator.md states the penalties the code uses", () => {
    expect(validatorDoc).toContain(
      `critical ${SEVERITY_PENALTY.critical} · high ${SEVERITY_PENALTY.high} · medium ${SEVERITY_PENALTY.medium} · low ${SEVERITY_PENALTY.low} · info ${SEVERITY_PENALTY.info}`,
    );
    for (const env of ENVIRONMENTS) expect(validatorDoc).toContain(`${env} ${TIERS[env].minValidationScore}`);
  });

  it("configuration.md's per-tier table equals the tier table", () => {
    const row = (label: string): string[] => {
      const line = configurationDoc.split("\n").find((l) => l.startsWith(`| ${label} |`));
      if (line === undefined) throw new Error(`no row "${label}"`);
      return line
        .split("|")
        .slice(2, 6)
        .map((cell) => cell.trim());
    };
    const yesNo = (value: boolean): string => (value ? "yes" : "no");
    const tiers = ENVIRONMENTS.map((env) => TIERS[env]);
    expect(row("TLS required (`rediss://`, verification on)")).toEqual(tiers.map((t) => yesNo(t.requireTls)));
    expect(row("mutual TLS (`REDIS_TLS_MUTUAL` default)")).toEqual(
      tiers.map((t) => yesNo(t.requireMutualTls)),
    );
    expect(row("encryption (`REDIS_ENABLE_ENCRYPTION` default, may not be turned off where yes)")).toEqual(
      tiers.map((t) => yesNo(t.requireEncryption)),
    );
    expect(row("named ACL user and password required")).toEqual(
      tiers.map((t) => yesNo(t.requireAuthentication)),
    );
    expect(row("secret files owner-only")).toEqual(tiers.map((t) => yesNo(t.secretFilesOwnerOnly)));
    expect(row("minimum password length")).toEqual(tiers.map((t) => String(t.password.randomLength)));
    expect(row("encryption keys kept (primary + retained)")).toEqual(
      tiers.map((t) => String(1 + t.retainedEncryptionKeys)),
    );
    expect(row("certificate renewal window (days)")).toEqual(
      tiers.map((t) => String(t.certificate.renewBeforeDays)),
    );
    expect(row("minimum validator score")).toEqual(tiers.map((t) => String(t.minValidationScore)));
  });

  it("configuration.md lists every variable the settings read", () => {
    const source = read("lib/config/settings.ts") + read("lib/crypto/keyring.ts");
    const variables = new Set([...source.matchAll(/"((?:REDIS|SECURE_REDIS)_[A-Z_]+)"/g)].map((m) => m[1]!));
    expect(variables.size).toBeGreaterThan(12);
    for (const variable of variables) expect(configurationDoc, variable).toContain(`\`${variable}\``);
  });

  it("troubleshooting.md quotes the messages the code produces", () => {
    const endpoint = "redis:6379";
    const expected = [
      new RedisAuthError("app", 3, "WRONGPASS", endpoint),
      new RedisAuthError("default", 3, "NOAUTH", endpoint),
      ...[
        "SELF_SIGNED_CERT_IN_CHAIN",
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "CERT_HAS_EXPIRED",
        "CERT_NOT_YET_VALID",
        "ERR_TLS_CERT_ALTNAME_INVALID",
        "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
        "ERR_SSL_WRONG_VERSION_NUMBER",
      ].map((code) => {
        const failure = describeTlsFailure({ code })!;
        return new RedisTlsError(failure.code, failure.detail, failure.fix, endpoint);
      }),
      ...["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND"].map((code) => {
        const failure = describeConnectionFailure({ code });
        return new RedisConnectionError(endpoint, 5, failure.detail, failure.fix, failure.code);
      }),
    ];
    for (const error of expected) expect(troubleshootingDoc).toContain(`${error.name}: ${error.message}\n`);
  });
});
