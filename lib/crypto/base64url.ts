/**
 * Strict, canonical base64url (RFC 4648 §5, with padding) for Fernet tokens
 * and keys.
 *
 * Node's decoder is lenient: it accepts the standard alphabet (`+`, `/`),
 * skips characters it does not know, and ignores non-zero trailing bits.
 * Leniency would let two different strings decode to the same token, so a
 * flipped bit in the text could go unnoticed; here every accepted string is
 * the one canonical encoding of its bytes. The checks avoid a re-encode so
 * that 1 MiB tokens stay cheap.
 */

const PLUS = 0x2b;
const SLASH = 0x2f;
const PAD = 0x3d;

/** Value of a base64url character, or -1. */
function sextet(code: number): number {
  if (code >= 0x41 && code <= 0x5a) return code - 0x41; // A-Z
  if (code >= 0x61 && code <= 0x7a) return code - 0x61 + 26; // a-z
  if (code >= 0x30 && code <= 0x39) return code - 0x30 + 52; // 0-9
  if (code === 0x2d) return 62; // -
  if (code === 0x5f) return 63; // _
  return -1;
}

/** Why a string is not canonical padded base64url; undefined when it is. */
export type Base64Problem = "length" | "alphabet" | "padding";

export interface Base64Result {
  bytes?: Buffer;
  problem?: Base64Problem;
  /** Zero-based index of the first offending character, where known. */
  position?: number;
}

/** Decodes canonical padded base64url, or says what is wrong with it. */
export function decodeBase64Url(text: string): Base64Result {
  const length = text.length;
  if (length % 4 !== 0) return { problem: "length" };
  // Node would accept the standard alphabet's `+` and `/`; the token format does not.
  const plus = text.indexOf("+");
  if (plus !== -1) return { problem: "alphabet", position: plus };
  const slash = text.indexOf("/");
  if (slash !== -1) return { problem: "alphabet", position: slash };

  let padding = 0;
  if (length > 0 && text.charCodeAt(length - 1) === PAD) padding++;
  if (length > 1 && text.charCodeAt(length - 2) === PAD) padding++;

  const bytes = Buffer.from(text, "base64url");
  // Node skips unknown characters (including a `=` before the end), so any of
  // them shows up as a shorter result than the length promises.
  if (bytes.length !== (length / 4) * 3 - padding) {
    return { problem: "alphabet", position: firstInvalid(text, length - padding) };
  }
  if (padding > 0) {
    const last = sextet(text.charCodeAt(length - padding - 1));
    const unusedBits = padding === 1 ? 0b11 : 0b1111;
    if ((last & unusedBits) !== 0) return { problem: "padding", position: length - padding - 1 };
  }
  return { bytes };
}

function firstInvalid(text: string, dataLength: number): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (i < dataLength ? sextet(code) === -1 : code !== PAD) return i;
  }
  return undefined;
}

/** True when a byte array holds base64url text rather than raw token bytes. */
export function looksLikeBase64Text(bytes: Uint8Array): boolean {
  const first = bytes[0];
  return first !== undefined && first !== PLUS && first !== SLASH && sextet(first) !== -1;
}

export function encodeBase64Url(bytes: Uint8Array): string {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
  const pad = (4 - (raw.length % 4)) % 4;
  if (pad === 0) return raw;
  // Not `raw + "="`: V8 keeps that as a rope and flattens it (a copy of the
  // whole token) on first use, which doubled the cost of 1 MiB tokens.
  const out = Buffer.allocUnsafe(raw.length + pad);
  out.write(raw, 0, "latin1");
  out.fill(PAD, raw.length);
  return out.toString("latin1");
}
