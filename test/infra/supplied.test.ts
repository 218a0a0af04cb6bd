/**
 * Secrets a user brings with `pulumi config set --secret` replace the
 * generated ones, through the real program: no generator resource for them,
 * the ACL and the backend receive exactly them, and they stay secret.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { Fernet } from "../../lib/crypto/fernet.js";
import { assertNoSecret } from "../helpers/canary.js";
import { CONTAINER, deliveredFile, resourcesOfType, runProgram, type ProgramRun } from "./program.js";

const hash = (text: string): string => `#${createHash("sha256").update(text).digest("hex")}`;

describe("supplied secrets (prod)", () => {
  const app = ["CANARY-app-current-0123456789-ABCDEF", "CANARY-app-previous-0123456789-ABCDE"];
  const admin = ["CANARY-admin-current-0123456789-ABCD"];
  const keys = [Fernet.generateKey(), Fernet.generateKey(), Fernet.generateKey()];
  const keyHashing = "CANARY-key-hashing-secret-0123456789abcdef";
  let run: ProgramRun;

  beforeAll(async () => {
    run = await runProgram("prod", {
      config: {
        "passwords.app": app.join(","),
        "passwords.admin": admin.join(","),
        encryptionKeys: keys.join(","),
        keyHashingSecret: keyHashing,
      },
      secretKeys: ["passwords.app", "passwords.admin", "encryptionKeys", "keyHashingSecret"],
    });
  });

  it("creates generators only for what was not supplied", () => {
    const passwords = resourcesOfType(run, "random:index/randomPassword:RandomPassword").map((r) => r.name);
    expect(passwords).toEqual(["secure-redis-prod-secrets-healthcheck-password-g1"]);
    expect(resourcesOfType(run, "random:index/randomBytes:RandomBytes")).toEqual([]);
  });

  it("puts the supplied passwords in the ACL and gives the backend the supplied ring", () => {
    const acl = String(run.outputs.aclFile);
    expect(acl).toContain(`user app on ${hash(app[0]!)} ${hash(app[1]!)} `);
    expect(acl).toContain(`user admin on ${hash(admin[0]!)} ~* &* +@all`);
    expect(deliveredFile(run, "backend", "redis-password")).toBe(app[0]);
    expect(deliveredFile(run, "backend", "encryption-keys")).toBe(keys.join(","));
    expect(deliveredFile(run, "backend", "key-hashing-secret")).toBe(keyHashing);
    expect(run.outputs.encryptionKeys).toBe(keys.join(","));
    expect(run.outputs.appPassword).toBe(app[0]);
  });

  it("keeps them secret: secret outputs, and never in a container's envs, command or labels", () => {
    for (const name of ["appPassword", "adminPassword", "encryptionKeys", "keyHashingSecret", "aclFile"]) {
      expect(run.outputIsSecret[name], name).toBe(true);
    }
    const supplied = [...app, ...admin, ...keys, keyHashing];
    for (const container of resourcesOfType(run, CONTAINER)) {
      const { envs, command, labels, healthcheck } = container.inputs;
      assertNoSecret(JSON.stringify({ envs, command, labels, healthcheck }), supplied);
    }
    const summary = run.outputs.securitySummary as Record<string, unknown>;
    expect(summary.passwordsSupplied).toEqual(["app", "admin"]);
    expect(summary.encryptionKeysSupplied).toBe(true);
    assertNoSecret(JSON.stringify(summary), supplied);
  });
});
