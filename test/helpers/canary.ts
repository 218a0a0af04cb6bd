/**
 * Canary checks: a secret value must never appear in what users can see
 * (error messages, stacks, causes, events, logs). Looks for the value
 * itself and for its common encodings.
 */
import { inspect } from "node:util";

/** Every way a secret could leak into text: as is, and in base64/hex forms. */
export function canaryForms(secret: string | Uint8Array): string[] {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  const forms = [bytes.toString("base64"), bytes.toString("base64url"), bytes.toString("hex")];
  if (typeof secret === "string") forms.push(secret);
  else forms.push(bytes.toString("latin1"));
  // Short values match by accident; only look for forms long enough to mean something.
  return forms.filter((form) => form.length >= 8);
}

/** Text a user could see of a thrown value: message, stack, causes and its inspected form. */
export function visibleText(value: unknown): string {
  const parts: string[] = [inspect(value, { depth: 10 })];
  let current: unknown = value;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    parts.push(current.message, current.stack ?? "", String(current));
    current = current.cause;
  }
  try {
    parts.push(JSON.stringify(value) ?? "");
  } catch {
    // circular: inspect above already covered it
  }
  return parts.join("\n");
}

/** Asserts that none of the secrets appears in the text; names the leak without printing it. */
export function assertNoSecret(text: string, secrets: ReadonlyArray<string | Uint8Array>): void {
  secrets.forEach((secret, index) => {
    for (const form of canaryForms(secret)) {
      if (text.includes(form)) throw new Error(`secret #${index + 1} leaked into visible text`);
    }
  });
}

/** Runs fn, expects it to throw, asserts no secret in the error, and returns the error. */
export function expectThrowsWithoutSecrets(
  fn: () => unknown,
  secrets: ReadonlyArray<string | Uint8Array>,
): Error {
  try {
    fn();
  } catch (error) {
    assertNoSecret(visibleText(error), secrets);
    if (!(error instanceof Error)) throw new Error("expected an Error instance", { cause: error });
    return error;
  }
  throw new Error("expected the call to throw");
}
