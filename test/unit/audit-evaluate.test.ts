/**
 * The audit's judgement (evaluateAudit) on hand-made facts: every finding id,
 * its severity, and "unknown" where a fact could not be read. The same judge
 * runs against real servers in test/integration/audit-cli.test.ts.
 */
import { describe, expect, it } from "vitest";
import { DANGEROUS_COMMANDS, TIERS, evaluateAudit, type AuditFacts, type Finding } from "../../lib/index.js";

function facts(overrides: Partial<AuditFacts> = {}): AuditFacts {
  return {
    target: { display: "rediss://127.0.0.1:6380", tls: true, host: "127.0.0.1", port: 6380 },
    user: "app",
    unauthenticatedAccess: "denied",
    connectionFailure: undefined,
    serverVersion: "7.0.15",
    tls: { protocol: "TLSv1.3", certificate: undefined },
    config: {
      port: "0",
      "tls-port": "6380",
      "protected-mode": "yes",
      bind: "127.0.0.1",
      "enable-debug-command": "no",
      "enable-module-command": "no",
    },
    defaultUser: { enabled: false, nopass: false },
    dangerousCommands: { user: "app", allowed: [], scoped: [] },
    ...overrides,
  };
}

const judge = (f: AuditFacts): Finding[] => evaluateAudit(f, TIERS.production, Date.now());
const bySeverity = (findings: Finding[], severity: Finding["severity"]): string[] =>
  findings
    .filter((finding) => finding.severity === severity)
    .map((finding) => finding.id)
    .sort();

describe("evaluateAudit", () => {
  it("a hardened server: only the version, as info", () => {
    expect(judge(facts()).map((finding) => [finding.id, finding.severity])).toEqual([
      ["audit.server-version", "info"],
    ]);
  });

  it("an insecure server: no auth, plaintext, protected-mode off, default nopass, everything allowed: critical", () => {
    const findings = judge(
      facts({
        target: { display: "redis://127.0.0.1:6379", tls: false, host: "127.0.0.1", port: 6379 },
        user: "default",
        unauthenticatedAccess: "allowed",
        tls: undefined,
        config: {
          port: "6379",
          "tls-port": "0",
          "protected-mode": "no",
          bind: "* -::*",
          "enable-debug-command": "yes",
          "enable-module-command": "local",
        },
        defaultUser: { enabled: true, nopass: true },
        dangerousCommands: { user: "default", allowed: [...DANGEROUS_COMMANDS], scoped: [] },
      }),
    );
    expect(bySeverity(findings, "critical")).toEqual([
      "audit.dangerous-commands-allowed",
      "audit.default-user-nopass",
      "audit.plaintext",
      "audit.protected-mode-off",
      "audit.unauthenticated-access",
    ]);
    expect(bySeverity(findings, "high")).toEqual([
      "audit.bind-all-interfaces",
      "audit.debug-command-enabled",
    ]);
    expect(bySeverity(findings, "low")).toEqual(["audit.module-command-enabled"]);
  });

  it("a plaintext port next to TLS is critical, seen from either side", () => {
    expect(
      bySeverity(
        judge(facts({ config: { ...(facts().config as Record<string, string>), port: "6379" } })),
        "critical",
      ),
    ).toEqual(["audit.plaintext-port-open"]);
    const viaPlain = judge(
      facts({
        target: { display: "redis://127.0.0.1:6379", tls: false, host: "127.0.0.1", port: 6379 },
        tls: undefined,
        config: { ...(facts().config as Record<string, string>), port: "6379" },
      }),
    );
    expect(viaPlain.find((finding) => finding.id === "audit.plaintext-port-open")?.message).toMatch(
      /TLS is served on 6380/,
    );
  });

  it("protected-mode off is medium when a password is required", () => {
    const findings = judge(
      facts({ config: { ...(facts().config as Record<string, string>), "protected-mode": "no" } }),
    );
    expect(findings.find((finding) => finding.id === "audit.protected-mode-off")?.severity).toBe("medium");
  });

  it("the default user enabled with a password is medium", () => {
    expect(
      judge(facts({ defaultUser: { enabled: true, nopass: false } })).find(
        (f) => f.id === "audit.default-user-enabled",
      )?.severity,
    ).toBe("medium");
  });

  it("dangerous commands: critical for destructive ones, high for the rest", () => {
    expect(
      judge(facts({ dangerousCommands: { user: "app", allowed: ["flushall"], scoped: [] } })).find(
        (f) => f.id === "audit.dangerous-commands-allowed",
      ),
    ).toMatchObject({
      severity: "critical",
      message: 'the user "app" may run 1 dangerous commands: FLUSHALL',
    });
    expect(
      judge(
        facts({ dangerousCommands: { user: "app", allowed: ["info", "publish"], scoped: ["publish"] } }),
      ).find((f) => f.id === "audit.dangerous-commands-allowed")?.severity,
    ).toBe("high");
    expect(
      judge(
        facts({ dangerousCommands: { user: "app", allowed: ["info", "publish"], scoped: ["publish"] } }),
      ).find((f) => f.id === "audit.dangerous-commands-allowed")?.message,
    ).toBe(
      'the user "app" may run 2 dangerous commands: INFO, PUBLISH (PUBLISH on the keys or channels its patterns allow)',
    );
  });

  it("reports what it could not read as unknown (info), never as a pass or a failure", () => {
    const findings = judge(
      facts({
        config: { unreadable: "the user may not run CONFIG GET" },
        defaultUser: { unreadable: "the user may not run ACL GETUSER" },
        dangerousCommands: { user: "app", unreadable: "the user may not run ACL DRYRUN" },
      }),
    );
    expect(bySeverity(findings, "info")).toEqual([
      "audit.server-version",
      "audit.unknown.config",
      "audit.unknown.dangerous-commands",
      "audit.unknown.default-user",
    ]);
    expect(findings.find((f) => f.id === "audit.unknown.dangerous-commands")?.remediation).toMatch(
      /--check-user app/,
    );
  });

  it("old TLS versions and outdated servers are high", () => {
    const findings = judge(
      facts({ tls: { protocol: "TLSv1.1", certificate: undefined }, serverVersion: "5.0.14" }),
    );
    expect(bySeverity(findings, "high")).toEqual(["audit.server-outdated", "audit.tls-version"]);
  });

  it("a failed connection is reported as such, and nothing else is claimed", () => {
    const expired = judge(
      facts({
        connectionFailure: {
          kind: "tls",
          code: "CERT_HAS_EXPIRED",
          detail: "the server certificate has expired",
          fix: "renew",
        },
      }),
    );
    expect(expired.map((finding) => [finding.id, finding.severity])).toEqual([
      ["audit.tls-certificate-expired", "critical"],
    ]);
    const refused = judge(
      facts({
        connectionFailure: {
          kind: "network",
          code: "ECONNREFUSED",
          detail: "the connection failed",
          fix: "check",
        },
      }),
    );
    expect(refused.map((finding) => [finding.id, finding.severity])).toEqual([
      ["audit.connection-failed", "high"],
    ]);
    const auth = judge(
      facts({
        unauthenticatedAccess: "allowed",
        connectionFailure: { kind: "auth", code: "WRONGPASS", detail: "refused", fix: "x" },
      }),
    );
    expect(auth.map((finding) => finding.id)).toEqual(["audit.unauthenticated-access", "audit.auth-failed"]);
  });
});
