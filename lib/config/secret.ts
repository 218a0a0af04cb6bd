/**
 * A secret value that cannot leak by accident: `String()`, template
 * literals, `JSON.stringify`, `util.inspect` and `console.log` all show
 * "[redacted]". Only `reveal()` gives the value, so every place that uses a
 * secret is visible in the code.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { inspect } from "node:util";

export const REDACTED = "[redacted]";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Call it only where the value must be used (a connection, a file). */
  reveal(): string {
    return this.#value;
  }

  /** Length in characters: safe to show (policies are public), the value is not. */
  get length(): number {
    return this.#value.length;
  }

  /** Constant-time equality with another secret or string. */
  equals(other: Secret | string): boolean {
    return secretsEqual(this.#value, typeof other === "string" ? other : other.reveal());
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Compares two secrets in time that depends on neither value. `timingSafeEqual`
 * needs equal lengths and a length mismatch would return early, so both sides
 * are first hashed to 32 bytes; equal digests mean equal values.
 */
export function secretsEqual(a: string, b: string): boolean {
  const digestA = createHash("sha256").update(a, "utf8").digest();
  const digestB = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(digestA, digestB);
}
