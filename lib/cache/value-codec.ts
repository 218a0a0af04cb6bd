/**
 * Turning cache values into payload bytes and back: serialisation (JSON,
 * UTF-8 strings, raw bytes) and compression (compress, then encrypt:
 * ciphertext does not compress).
 */
import { promisify } from "node:util";
import zlib from "node:zlib";
import { SecureRedisError } from "../errors.js";
import type { CodecName, SerialisationName } from "./envelope.js";
import { nextTurn } from "./event-loop-turns.js";

/** A value that cannot be stored: not serialisable, or over the size limit. Thrown by `set`. */
export class CacheValueError extends SecureRedisError {}

export interface Serialised {
  serialisation: SerialisationName;
  bytes: Buffer;
}

/** Raw bytes stay bytes, strings stay strings, everything else is JSON. */
export function serialise(value: unknown, key: string): Serialised {
  if (value instanceof Uint8Array) {
    return { serialisation: "bytes", bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  }
  if (typeof value === "string") return { serialisation: "utf8", bytes: Buffer.from(value, "utf8") };
  return { serialisation: "json", bytes: Buffer.from(jsonText(value, key), "utf8") };
}

/** JSON.stringify, or a CacheValueError that names the key and the problem (never the value). */
function jsonText(value: unknown, key: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    // Cycles and BigInt land here; the message names the problem, not the value.
    const why = error instanceof Error ? error.message.split("\n")[0] : "not serialisable";
    throw new CacheValueError(`the value for "${key}" cannot be serialised as JSON (${why})`, {
      cause: error,
    });
  }
  if (json === undefined) {
    throw new CacheValueError(
      `the value for "${key}" cannot be serialised as JSON (it is ${value === undefined ? "undefined" : typeof value}); ` +
        "store null, a string, bytes or a JSON-serialisable value",
    );
  }
  return json;
}

/**
 * `serialise` for callers that can wait: a JSON text of at least
 * `largeChars` characters is UTF-8 encoded in a later event-loop turn, so
 * JSON.stringify and the encoding of a large value never share one turn.
 */
export async function serialiseYielding(
  value: unknown,
  key: string,
  largeChars: number,
): Promise<Serialised> {
  if (value instanceof Uint8Array || typeof value === "string") return serialise(value, key);
  const json = jsonText(value, key);
  if (json.length >= largeChars) await nextTurn();
  return { serialisation: "json", bytes: Buffer.from(json, "utf8") };
}

/** The inverse of `serialise`. Throws on a payload that does not parse. */
export function deserialise(serialisation: SerialisationName, bytes: Buffer): unknown {
  switch (serialisation) {
    case "bytes":
      return bytes;
    case "utf8":
      return utf8Decoder.decode(bytes);
    case "json":
      return JSON.parse(utf8Decoder.decode(bytes)) as unknown;
  }
}

/** Fatal: a payload that is not valid UTF-8 is corrupt, not something to patch with U+FFFD. */
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export interface CompressionPolicy {
  codec: Exclude<CodecName, "none">;
  /** Payloads of at least this many bytes are compressed (when that makes them smaller). */
  thresholdBytes: number;
}

/**
 * Brotli at quality 1 from 1 KiB (measured with `npm run bench -- codecs`,
 * numbers in docs/format.md): on AI-response JSON and prose it is the
 * fastest compressor at every size while still halving 4 KiB values; q4
 * stores 4-10% fewer bytes for 2.4-4x the main-thread time, and compression
 * runs on the app's event loop below the offload size. Brotli is stable in
 * every Node 22 (zstd is experimental there and missing before 22.15).
 */
export const DEFAULT_COMPRESSION: CompressionPolicy = { codec: "brotli", thresholdBytes: 1024 };
const BROTLI_QUALITY = 1;

/** The options every codec here understands (a common subset of zlib's, brotli's and zstd's). */
interface CodecOptions {
  level?: number;
  params?: Record<number, number>;
  maxOutputLength?: number;
}
type Compressor = (input: Buffer, options: CodecOptions) => Buffer;
type AsyncCompressor = (input: Buffer, options: CodecOptions) => Promise<Buffer>;

interface Codec {
  compress: Compressor;
  compressAsync: AsyncCompressor;
  decompress: Compressor;
  decompressAsync: AsyncCompressor;
  options: (size: number) => CodecOptions;
}

const CODECS: Partial<Record<Exclude<CodecName, "none">, Codec>> = {
  gzip: {
    compress: zlib.gzipSync,
    compressAsync: promisify(zlib.gzip),
    decompress: zlib.gunzipSync,
    decompressAsync: promisify(zlib.gunzip),
    options: () => ({ level: 6 }),
  },
  brotli: {
    compress: zlib.brotliCompressSync,
    compressAsync: promisify(zlib.brotliCompress),
    decompress: zlib.brotliDecompressSync,
    decompressAsync: promisify(zlib.brotliDecompress),
    options: (size) => ({
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
      },
    }),
  },
};
// zstd exists from Node 22.15 (experimental); read it where the runtime has it.
if (typeof zlib.zstdCompressSync === "function") {
  CODECS.zstd = {
    compress: zlib.zstdCompressSync,
    compressAsync: promisify(zlib.zstdCompress),
    decompress: zlib.zstdDecompressSync,
    decompressAsync: promisify(zlib.zstdDecompress),
    options: () => ({}),
  };
}

export function codecAvailable(codec: CodecName): boolean {
  return codec === "none" || CODECS[codec] !== undefined;
}

/**
 * Compresses when the policy says so and the result is smaller.
 * `offload`: run in libuv's thread pool instead of on the event loop.
 */
export async function compress(
  bytes: Buffer,
  policy: CompressionPolicy | undefined,
  offload: boolean,
): Promise<{ codec: CodecName; payload: Buffer }> {
  const codec = policy === undefined ? undefined : CODECS[policy.codec];
  if (policy === undefined || codec === undefined || bytes.length < policy.thresholdBytes) {
    return { codec: "none", payload: bytes };
  }
  const options = codec.options(bytes.length);
  const compressed = offload ? await codec.compressAsync(bytes, options) : codec.compress(bytes, options);
  return compressed.length < bytes.length
    ? { codec: policy.codec, payload: compressed }
    : { codec: "none", payload: bytes };
}

/**
 * Decompresses, refusing output beyond `maxOutputBytes` so that a small
 * authenticated-but-hostile value cannot expand into gigabytes.
 */
export async function decompress(
  codecName: CodecName,
  payload: Buffer,
  maxOutputBytes: number,
  offload: boolean,
): Promise<Buffer> {
  if (codecName === "none") return payload;
  const codec = CODECS[codecName];
  if (codec === undefined) throw new Error(`codec ${codecName} is not available in this Node.js runtime`);
  const options = { maxOutputLength: maxOutputBytes };
  return offload ? codec.decompressAsync(payload, options) : codec.decompress(payload, options);
}
