/**
 * A secret a user supplied through stack config, held so that it cannot leak
 * by accident: `String()`, template literals, `JSON.stringify` and
 * `util.inspect` (what error reporters and loggers use) all print
 * `[redacted]`. The value comes out only through `reveal()`, at the one place
 * that turns it into a Pulumi secret.
 */
import { inspect } from "node:util";

const REDACTED = "[redacted]";

export class Sensitive {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The plain value. Call it only to hand the value to `pulumi.secret`. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
