/**
 * Formats that came before the envelope, read only in the modes that allow
 * them:
 *
 * - The Python FastAPI starter's cache: a Fernet text token (base64url,
 *   starting "gAAAAA") of UTF-8 JSON `{"_serialized_data": "rawj:" + JSON}`.
 *   Written in `python-compat` mode so Python and TypeScript share a cache.
 * - Legacy plaintext: JSON text as stored before encryption existed
 *   (`migrate` mode only), possibly in the starter's wrapper.
 *
 * The starter also had serialisations other than `rawj:` (pickle among
 * them). Those are refused, never interpreted: unpickling bytes from Redis
 * runs code of whoever could write to Redis.
 */
import type { KeyRing } from "../crypto/keyring.js";

export const PYTHON_WRAPPER_FIELD = "_serialized_data";
export const PYTHON_JSON_PREFIX = "rawj:";

export type LegacyRead = { ok: true; value: unknown } | { ok: false; reason: string };

/** A Fernet token in text form: version 0x80 and a timestamp below 2^40 encode as "gAAAAA". */
export function looksLikeFernetText(raw: Buffer): boolean {
  return raw.length > 6 && raw.toString("latin1", 0, 6) === "gAAAAA";
}

/** The starter's format for a JSON value, as a Fernet text token under the ring's primary key. */
export function encodePythonStarter(keyRing: KeyRing, json: string): string {
  return keyRing.encrypt(JSON.stringify({ [PYTHON_WRAPPER_FIELD]: PYTHON_JSON_PREFIX + json }));
}

/** Unwraps the starter's `{"_serialized_data": "rawj:..."}` from decrypted (or legacy plain) text. */
export function unwrapPythonStarter(text: string): LegacyRead {
  let outer: unknown;
  try {
    outer = JSON.parse(text);
  } catch {
    return { ok: false, reason: "Python-starter payload is not JSON" };
  }
  return unwrapParsed(outer, false);
}

/**
 * Reads legacy plaintext: JSON text, unwrapped when it is in the starter's
 * wrapper. Anything else (binary, pickle, non-JSON text) is refused.
 */
export function readLegacyPlaintext(raw: Buffer): LegacyRead {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    return { ok: false, reason: "legacy value is not UTF-8 text" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: "legacy value is not JSON" };
  }
  return unwrapParsed(parsed, true);
}

function unwrapParsed(parsed: unknown, wrapperOptional: boolean): LegacyRead {
  const isWrapper =
    typeof parsed === "object" &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.keys(parsed).length === 1 &&
    PYTHON_WRAPPER_FIELD in parsed;
  if (!isWrapper) {
    return wrapperOptional
      ? { ok: true, value: parsed }
      : { ok: false, reason: "Python-starter wrapper missing" };
  }
  const serialised = (parsed as Record<string, unknown>)[PYTHON_WRAPPER_FIELD];
  if (typeof serialised !== "string" || !serialised.startsWith(PYTHON_JSON_PREFIX)) {
    return {
      ok: false,
      reason: "Python-starter value uses a serialisation other than rawj: (pickle is never loaded)",
    };
  }
  try {
    return { ok: true, value: JSON.parse(serialised.slice(PYTHON_JSON_PREFIX.length)) as unknown };
  } catch {
    return { ok: false, reason: "Python-starter rawj: payload is not JSON" };
  }
}
