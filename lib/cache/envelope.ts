/**
 * The on-Redis value format (documented byte for byte in docs/format.md).
 *
 * Outer layer, what Redis stores:
 *
 *   offset  size  field
 *   0       3     magic A7 53 52 ("\xA7SR"; 0xA7 cannot start UTF-8 text or JSON,
 *                 so an envelope is never mistaken for legacy plaintext)
 *   3       1     format version, 0x01
 *   4       1     kind: 0x45 'E' encrypted (Fernet) | 0x50 'P' plain (unauthenticated,
 *                 written only where the tier allows running without keys)
 *   5       4     key id ('E' only): which key of the ring made the token
 *   9       ...   'E': the Fernet token, raw bytes (starts with 0x80)
 *   5       ...   'P': the inner body, in the clear
 *
 * Inner body, the Fernet plaintext (so everything that changes how a value
 * is interpreted is authenticated):
 *
 *   0       1     format version again, 0x01 (binds the outer version)
 *   1       1     codec: 0 none, 1 gzip, 2 brotli, 3 zstd
 *   2       1     serialisation: 0 bytes, 1 UTF-8 string, 2 JSON
 *   3       16    context: first 16 bytes of SHA-256(Redis key name); a value
 *                 copied to another key name fails closed
 *   19      ...   payload (compressed when codec != 0)
 */
import { createHash } from "node:crypto";
import { KEY_ID_LENGTH } from "../crypto/fernet.js";

export const MAGIC = Buffer.from([0xa7, 0x53, 0x52]);
export const FORMAT_VERSION = 0x01;
export const KIND_ENCRYPTED = 0x45;
export const KIND_PLAIN = 0x50;
const OUTER_PLAIN_HEADER = MAGIC.length + 2;
const OUTER_ENCRYPTED_HEADER = OUTER_PLAIN_HEADER + KEY_ID_LENGTH;
const CONTEXT_LENGTH = 16;
export const INNER_HEADER_LENGTH = 3 + CONTEXT_LENGTH;

export const CODECS = { none: 0, gzip: 1, brotli: 2, zstd: 3 } as const;
export type CodecName = keyof typeof CODECS;
export const SERIALISATIONS = { bytes: 0, utf8: 1, json: 2 } as const;
export type SerialisationName = keyof typeof SERIALISATIONS;

const CODEC_BY_ID = invert(CODECS);
const SERIALISATION_BY_ID = invert(SERIALISATIONS);

export interface InnerBody {
  codec: CodecName;
  serialisation: SerialisationName;
  /** Payload as stored: compressed when `codec` is not "none". */
  payload: Buffer;
}

/** What the outer layer of a stored value says, before anything is verified. */
export type OuterEnvelope =
  | { kind: "encrypted"; keyId: string; token: Buffer }
  | { kind: "plain"; body: Buffer }
  | { kind: "not-envelope" }
  | { kind: "malformed"; reason: string };

/** The context that binds a value to the Redis key name it is stored under. */
export function contextOf(redisKey: string | Buffer): Buffer {
  return createHash("sha256").update(redisKey).digest().subarray(0, CONTEXT_LENGTH);
}

export function encodeInner(body: InnerBody, context: Buffer): Buffer {
  const out = Buffer.allocUnsafe(INNER_HEADER_LENGTH + body.payload.length);
  out[0] = FORMAT_VERSION;
  out[1] = CODECS[body.codec];
  out[2] = SERIALISATIONS[body.serialisation];
  context.copy(out, 3, 0, CONTEXT_LENGTH);
  body.payload.copy(out, INNER_HEADER_LENGTH);
  return out;
}

/** Parses an inner body; returns a reason string when it is not acceptable. */
export function decodeInner(inner: Buffer, expectedContext: Buffer): InnerBody | string {
  if (inner.length < INNER_HEADER_LENGTH) return "inner body too short";
  if (inner[0] !== FORMAT_VERSION) return "inner format version does not match";
  const codec = CODEC_BY_ID.get(inner[1]!);
  const serialisation = SERIALISATION_BY_ID.get(inner[2]!);
  if (codec === undefined) return "unknown compression codec";
  if (serialisation === undefined) return "unknown serialisation";
  if (!inner.subarray(3, INNER_HEADER_LENGTH).equals(expectedContext)) {
    return "context mismatch: the value was written under another key name";
  }
  return { codec, serialisation, payload: inner.subarray(INNER_HEADER_LENGTH) };
}

export function encodeEncrypted(keyId: string, token: Buffer): Buffer {
  const out = Buffer.allocUnsafe(OUTER_ENCRYPTED_HEADER + token.length);
  MAGIC.copy(out, 0);
  out[3] = FORMAT_VERSION;
  out[4] = KIND_ENCRYPTED;
  out.write(keyId, 5, KEY_ID_LENGTH, "hex");
  token.copy(out, OUTER_ENCRYPTED_HEADER);
  return out;
}

export function encodePlain(inner: Buffer): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION, KIND_PLAIN]), inner]);
}

/** True when the bytes start like an envelope (whatever follows). */
export function hasMagic(value: Buffer): boolean {
  return (
    value.length >= MAGIC.length && value[0] === MAGIC[0] && value[1] === MAGIC[1] && value[2] === MAGIC[2]
  );
}

/** Splits the outer layer. Never throws: arbitrary bytes give `not-envelope` or `malformed`. */
export function decodeOuter(value: Buffer): OuterEnvelope {
  if (!hasMagic(value)) return { kind: "not-envelope" };
  if (value.length < OUTER_PLAIN_HEADER) return { kind: "malformed", reason: "truncated header" };
  if (value[3] !== FORMAT_VERSION) return { kind: "malformed", reason: "unsupported envelope version" };
  if (value[4] === KIND_PLAIN) return { kind: "plain", body: value.subarray(OUTER_PLAIN_HEADER) };
  if (value[4] !== KIND_ENCRYPTED) return { kind: "malformed", reason: "unknown envelope kind" };
  if (value.length <= OUTER_ENCRYPTED_HEADER) return { kind: "malformed", reason: "truncated header" };
  return {
    kind: "encrypted",
    keyId: value.toString("hex", 5, OUTER_ENCRYPTED_HEADER),
    token: value.subarray(OUTER_ENCRYPTED_HEADER),
  };
}

function invert<T extends Record<string, number>>(table: T): Map<number, keyof T> {
  return new Map(Object.entries(table).map(([name, id]) => [id, name as keyof T]));
}
