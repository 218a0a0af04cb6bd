/**
 * Locating the real components the tests run against. A component that is
 * missing is an error, never a skip: `scripts/install-prerequisites.sh`
 * installs every one of them, and CI runs it first.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export class MissingComponentError extends Error {
  constructor(component: string, hint = "run: sudo bash scripts/install-prerequisites.sh") {
    super(`${component} is required by this test tier and was not found; ${hint}`);
    this.name = "MissingComponentError";
  }
}

function works(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

let python: string | undefined;

/**
 * A Python 3 that imports `cryptography`: `python3` on PATH first (it may be
 * a pyenv build), then Debian's `/usr/bin/python3`.
 */
export function pythonWithCryptography(): string {
  if (python !== undefined) return python;
  for (const candidate of [process.env.SECURE_REDIS_PYTHON, "python3", "/usr/bin/python3"]) {
    if (candidate && works(candidate, ["-c", "import cryptography.fernet"])) {
      python = candidate;
      return candidate;
    }
  }
  throw new MissingComponentError("Python 3 with the cryptography package");
}

/** The directory holding the Fernet spec's vectors (generate.json, verify.json, invalid.json). */
export function fernetVectorsDir(): string {
  const candidates: string[] = [];
  try {
    const files = execFileSync("dpkg", ["-L", "python3-cryptography-vectors"], { encoding: "utf8" });
    for (const line of files.split("\n"))
      if (line.endsWith("/cryptography_vectors/fernet")) candidates.push(line);
  } catch {
    // not a Debian package install; fall back to the Python module's location
  }
  try {
    const root = execFileSync(
      pythonWithCryptography(),
      ["-c", "import cryptography_vectors, os; print(os.path.dirname(cryptography_vectors.__file__))"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    ).trim();
    candidates.push(join(root, "fernet"));
  } catch {
    // not importable from this Python
  }
  const found = candidates.find((dir) => existsSync(join(dir, "invalid.json")));
  if (found === undefined)
    throw new MissingComponentError("the Fernet test vectors (python3-cryptography-vectors)");
  return found;
}

/** Path of an executable on PATH, or a MissingComponentError. */
export function requireExecutable(name: string, component = name): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    throw new MissingComponentError(component);
  }
}
