/**
 * The built package, imported the way an app imports it: `npm run build`,
 * then `import("secure-redis")` from Node 22 through package.json `exports`.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("package root export", () => {
  beforeAll(() => {
    execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
  }, 120_000);

  it("gives Fernet, KeyRing and InvalidToken from import() of the package name", () => {
    const script = `
      const m = await import("secure-redis");
      const key = m.Fernet.generateKey();
      const f = new m.Fernet(key);
      const token = f.encrypt("hi", { now: 1 });
      const ring = new m.KeyRing([m.Fernet.generateKey(), key]);
      let invalid = "";
      try { new m.Fernet(m.Fernet.generateKey()).decrypt(token, { ttl: 10, now: 2 }); }
      catch (e) { invalid = e instanceof m.InvalidToken ? e.reason : String(e); }
      console.log(JSON.stringify({
        exports: Object.keys(m).sort(),
        node: process.versions.node,
        roundTrip: f.decrypt(token).toString(),
        ringRead: ring.decrypt(token, { ttl: 10, now: 2 }).toString(),
        bytesForm: f.encryptToBytes("b")[0],
        timestamp: f.extractTimestamp(token),
        invalid,
      }));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: root,
      encoding: "utf8",
    });
    const result = JSON.parse(out) as Record<string, unknown>;
    expect(result.exports).toEqual(
      expect.arrayContaining(["Fernet", "KeyRing", "InvalidToken", "TIERS", "SecurityEvents"]),
    );
    expect(Number((result.node as string).split(".")[0])).toBeGreaterThanOrEqual(22);
    expect(result).toMatchObject({
      roundTrip: "hi",
      ringRead: "hi",
      bytesForm: 0x80,
      timestamp: 1,
      invalid: "hmac",
    });
  });
});
