/**
 * The contract between infra/ and lib/: the environment infra gives the
 * backend container must load with `loadSettings`, the way the backend will
 * load it, for every tier. A renamed variable on either side fails here.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backendEnvironment } from "../../infra/backend.js";
import { ENVIRONMENTS, Fernet, TIERS, loadSettings } from "../../lib/index.js";
import { useTlsFixtures } from "../helpers/tls-fixtures.js";

const tls = useTlsFixtures({ dnsNames: ["redis"] });
const dir = mkdtempSync(join(tmpdir(), "backend-contract-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the backend's environment loads with loadSettings", () => {
  it.each(ENVIRONMENTS)("%s", (environment) => {
    const tier = TIERS[environment];
    const rendered = backendEnvironment({
      environment,
      port: 8080,
      redisUrl: tier.requireTls ? "rediss://redis:6379" : "redis://redis:6379",
      redisUsername: "app",
      keyNamespace: "cache",
      tls: tier.requireTls ? { mutual: tier.requireMutualTls } : undefined,
    });
    const fixtures = tls();
    const contents: Record<string, string> = {
      "redis-password": `${"Aa1-".repeat(12)}\n`,
      "encryption-keys": `${Fernet.generateKey()},${Fernet.generateKey()}\n`,
      "key-hashing-secret": `${"k".repeat(48)}\n`,
      "ca.crt": fixtures.ca.cert,
      "client.crt": fixtures.client.cert,
      "client.key": fixtures.client.key,
    };
    const envDir = join(dir, environment);
    mkdirSync(envDir, { recursive: true });
    const env: Record<string, string> = {};
    for (const entry of rendered) {
      const [name, ...rest] = entry.split("=");
      let value = rest.join("=");
      if (name!.endsWith("_FILE")) {
        // The container's paths, moved into a temp dir with the content infra delivers there.
        const file = basename(value);
        expect(contents, `content for ${file}`).toHaveProperty(file);
        value = join(envDir, file);
        writeFileSync(value, contents[file]!);
        chmodSync(value, 0o400);
      }
      env[name!] = value;
    }
    // Resolving the alias "redis" is the container network's job; settings only read the URL.
    const settings = loadSettings(env);
    expect(settings.environment).toBe(environment);
    expect(settings.detection.confidence).toBe(1);
    expect(settings.redis.username).toBe("app");
    expect(settings.redis.password).toBeDefined();
    expect(settings.encryption.keyRing?.size).toBe(2);
    expect(settings.cacheKeySecret).toBeDefined();
    expect(settings.redis.tls).toBe(tier.requireTls);
  });
});
