/**
 * EncryptedCache: a key-value cache over an ioredis client whose values are
 * authenticated envelopes (see envelope.ts and docs/format.md).
 *
 * Reads fail closed on anything unauthenticated (a miss, an event, the entry
 * left in place) and fail open on an unreachable Redis (a miss, an event).
 * Writes never silently skip a value: too large or unserialisable throws,
 * an unreachable Redis throws or drops as configured.
 */
import type { Redis } from "ioredis";
import { InvalidToken } from "../crypto/errors.js";
import type { Fernet } from "../crypto/fernet.js";
import type { KeyRing } from "../crypto/keyring.js";
import { ConfigurationError, SecureRedisError } from "../errors.js";
import type { Environment } from "../config/tiers.js";
import { TIERS } from "../config/tiers.js";
import { SecurityEvents } from "../events.js";
import { compareAndSwap } from "./compare-and-swap.js";
import {
  contextOf,
  decodeInner,
  decodeOuter,
  encodeEncrypted,
  encodeInner,
  encodePlain,
  type InnerBody,
} from "./envelope.js";
import {
  encodePythonStarter,
  looksLikeFernetText,
  readLegacyPlaintext,
  unwrapPythonStarter,
} from "./legacy.js";
import {
  CacheValueError,
  DEFAULT_COMPRESSION,
  codecAvailable,
  compress,
  decompress,
  deserialise,
  serialiseYielding,
  type CompressionPolicy,
} from "./value-codec.js";
import { nextTurn } from "./event-loop-turns.js";

/**
 * - `strict`: only authenticated envelopes are read (the default).
 * - `migrate`: also reads legacy plaintext JSON and Python-starter tokens,
 *   and with `rewriteLegacyOnRead` rewrites them as envelopes.
 * - `python-compat`: writes the Python starter's format so the Python app
 *   reads what TypeScript writes; reads that format and envelopes.
 */
export type CacheMode = "strict" | "migrate" | "python-compat";

export interface EncryptedCacheOptions {
  /**
   * Encryption keys, primary first. Required where the tier requires
   * encryption (staging, production); without it the cache stores
   * unencrypted envelopes, which only development and testing allow.
   */
  keyRing?: KeyRing;
  /** Prefix of every key name (`<namespace>:<key>`): letters, digits, `.`, `_`, `-`. */
  namespace: string;
  /** How values are read and written; default `strict`. */
  mode?: CacheMode;
  /** The environment whose tier decides whether running without keys is allowed. Default: production. */
  environment?: Environment;
  /** Where security events go (decrypt failures, unauthenticated values, Redis unavailable). */
  events?: SecurityEvents;
  /** TTL of `set` without `ttlSeconds`. Default 3600. */
  defaultTtlSeconds?: number;
  /** What `set` does when Redis cannot be reached: `throw` (default) or `drop` (with an event). */
  onWriteFailure?: "throw" | "drop";
  /** Compression policy, or `false` to never compress. Default: brotli above 1 KiB. */
  compression?: CompressionPolicy | false;
  /** Largest serialised value accepted by `set` and produced by decompression. Default 16 MiB. */
  maxValueBytes?: number;
  /** Payloads of at least this many bytes are compressed and encrypted off the event loop. Default 64 KiB. */
  offloadThresholdBytes?: number;
  /** In `migrate` mode, rewrite legacy entries as envelopes when they are read (keeping their TTL). */
  rewriteLegacyOnRead?: boolean;
}

export interface SetOptions {
  /** Seconds until the entry expires; a whole number of at least 1. Default: the cache's default TTL. */
  ttlSeconds?: number;
}

/** Redis could not be reached for a write (with `onWriteFailure: "throw"`). */
export class CacheUnavailableError extends SecureRedisError {}

/** Where a value that was read came from (for the re-encryption job and metrics). */
export type ValueSource = "envelope" | "plain-envelope" | "python-starter" | "legacy-plaintext";

/** The outcome of reading one stored value. */
export type ReadResult =
  { hit: true; value: unknown; source: ValueSource; keyId?: string } | { hit: false; unreadable: boolean };

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEFAULT_TTL_SECONDS = 3600;
const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;
const DEFAULT_OFFLOAD_BYTES = 64 * 1024;
/** Compressed payloads from this size get a loop turn of their own before they are inflated. */
const MAY_INFLATE_BYTES = 2048;

export class EncryptedCache {
  readonly namespace: string;
  readonly mode: CacheMode;
  readonly events: SecurityEvents;
  readonly #redis: Redis;
  readonly #keyRing: KeyRing | undefined;
  readonly #defaultTtl: number;
  readonly #onWriteFailure: "throw" | "drop";
  readonly #compression: CompressionPolicy | undefined;
  readonly #maxValueBytes: number;
  readonly #offloadBytes: number;
  readonly #rewriteLegacy: boolean;

  constructor(redis: Redis, options: EncryptedCacheOptions) {
    const environment = options.environment ?? "production";
    const tier = TIERS[environment];
    if (tier === undefined) {
      throw new ConfigurationError(
        "environment",
        `unknown environment; use one of ${Object.keys(TIERS).join(", ")}`,
      );
    }
    if (typeof options.namespace !== "string" || !NAMESPACE.test(options.namespace)) {
      throw new ConfigurationError(
        "namespace",
        "must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
      );
    }
    const mode = options.mode ?? "strict";
    if (!["strict", "migrate", "python-compat"].includes(mode)) {
      throw new ConfigurationError("mode", "must be strict, migrate or python-compat");
    }
    if (options.keyRing === undefined && tier.requireEncryption) {
      throw new ConfigurationError(
        "REDIS_ENCRYPTION_KEYS",
        `the ${environment} tier requires encrypted cache values and no key ring was given; ` +
          "set REDIS_ENCRYPTION_KEYS (generate a key with `secure-redis gen-key`) and pass KeyRing.fromEnv()",
      );
    }
    if (options.keyRing === undefined && mode === "python-compat") {
      throw new ConfigurationError(
        "REDIS_ENCRYPTION_KEYS",
        "python-compat mode writes Fernet tokens and needs a key ring",
      );
    }
    if (
      options.compression !== undefined &&
      options.compression !== false &&
      !codecAvailable(options.compression.codec)
    ) {
      throw new ConfigurationError(
        "compression.codec",
        `${options.compression.codec} is not available in this Node.js`,
      );
    }
    this.namespace = options.namespace;
    this.mode = mode;
    this.events = options.events ?? new SecurityEvents();
    this.#redis = redis;
    this.#keyRing = options.keyRing;
    this.#defaultTtl = checkTtl(options.defaultTtlSeconds ?? DEFAULT_TTL_SECONDS, "defaultTtlSeconds");
    this.#onWriteFailure = options.onWriteFailure ?? "throw";
    this.#compression =
      options.compression === false ? undefined : (options.compression ?? DEFAULT_COMPRESSION);
    this.#maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.#offloadBytes = options.offloadThresholdBytes ?? DEFAULT_OFFLOAD_BYTES;
    this.#rewriteLegacy = options.rewriteLegacyOnRead ?? false;
  }

  /** True when values are encrypted (a key ring was given). */
  get encrypted(): boolean {
    return this.#keyRing !== undefined;
  }

  /** The Redis key name of a cache key. */
  redisKey(key: string): string {
    if (typeof key !== "string" || key.length === 0)
      throw new CacheValueError("a cache key must be a non-empty string");
    return `${this.namespace}:${key}`;
  }

  /** The value stored under `key`, or undefined on a miss (including unreadable entries and Redis errors). */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const redisKey = this.redisKey(key);
    let raw: Buffer | null;
    try {
      this.#assertReady();
      raw = await this.#redis.getBuffer(redisKey);
    } catch (error) {
      this.#unavailable("get", error);
      return undefined;
    }
    if (raw === null) return undefined;
    const result = await this.decodeStored(redisKey, raw);
    if (result.hit && this.#shouldRewrite(result.source)) await this.#rewrite(redisKey, raw, result.value);
    return result.hit ? (result.value as T) : undefined;
  }

  /** Values of several keys in one round trip (MGET), in order; undefined for misses. */
  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    if (keys.length === 0) return [];
    const redisKeys = keys.map((key) => this.redisKey(key));
    let raws: Array<Buffer | null>;
    try {
      this.#assertReady();
      raws = await this.#redis.mgetBuffer(...redisKeys);
    } catch (error) {
      this.#unavailable("getMany", error);
      return keys.map(() => undefined);
    }
    return Promise.all(
      raws.map(async (raw, i) => {
        if (raw === null) return undefined;
        const result = await this.decodeStored(redisKeys[i]!, raw);
        return result.hit ? (result.value as T) : undefined;
      }),
    );
  }

  /** Stores a value (JSON, string or bytes) with a TTL. */
  async set(key: string, value: unknown, options: SetOptions = {}): Promise<void> {
    const redisKey = this.redisKey(key);
    const ttl = checkTtl(options.ttlSeconds ?? this.#defaultTtl, "ttlSeconds");
    const stored = await this.encodeValue(redisKey, value);
    try {
      this.#assertReady();
      await this.#redis.set(redisKey, stored, "EX", ttl);
    } catch (error) {
      this.#writeFailed("set", error);
    }
  }

  /** Stores several values in one pipelined round trip. */
  async setMany(entries: Iterable<readonly [string, unknown]>, options: SetOptions = {}): Promise<void> {
    const ttl = checkTtl(options.ttlSeconds ?? this.#defaultTtl, "ttlSeconds");
    const encoded = await Promise.all(
      [...entries].map(async ([key, value]) => {
        const redisKey = this.redisKey(key);
        return [redisKey, await this.encodeValue(redisKey, value)] as const;
      }),
    );
    if (encoded.length === 0) return;
    try {
      this.#assertReady();
      const pipeline = this.#redis.pipeline();
      for (const [redisKey, stored] of encoded) pipeline.set(redisKey, stored, "EX", ttl);
      const results = (await pipeline.exec()) ?? [];
      const failure = results.find(([error]) => error !== null)?.[0];
      if (failure) throw failure;
    } catch (error) {
      this.#writeFailed("setMany", error);
    }
  }

  /** Removes entries (UNLINK: freed in the background); returns how many existed. */
  async delete(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    this.#assertReady();
    return this.#redis.unlink(...keys.map((key) => this.redisKey(key)));
  }

  /**
   * Removes every entry whose key (without namespace) matches a Redis glob
   * pattern, with SCAN and UNLINK in batches (never KEYS, which blocks
   * Redis). Returns how many were removed.
   */
  async deleteMatching(pattern: string, batchSize = 500): Promise<number> {
    this.#assertReady();
    const match = `${this.namespace}:${pattern}`;
    let removed = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.#redis.scan(cursor, "MATCH", match, "COUNT", batchSize);
      cursor = next;
      if (keys.length > 0) removed += await this.#redis.unlink(...keys);
    } while (cursor !== "0");
    return removed;
  }

  /** The ioredis client this cache uses (for jobs that walk the namespace, such as re-encryption). */
  get client(): Redis {
    return this.#redis;
  }

  /** Whether an entry exists (readable or not: an unreadable entry is a miss for `get` but still exists). */
  async has(key: string): Promise<boolean> {
    this.#assertReady();
    return (await this.#redis.exists(this.redisKey(key))) === 1;
  }

  /** Seconds the entry has left, `undefined` if it does not exist, `Infinity` if it never expires. */
  async ttl(key: string): Promise<number | undefined> {
    this.#assertReady();
    const seconds = await this.#redis.ttl(this.redisKey(key));
    if (seconds === -2) return undefined;
    return seconds === -1 ? Number.POSITIVE_INFINITY : seconds;
  }

  /**
   * The stored bytes for a value under `redisKey`, in this cache's write
   * format. Exposed for the re-encryption job and AIResponseCache.
   */
  async encodeValue(redisKey: string, value: unknown): Promise<Buffer | string> {
    const { serialisation, bytes } = await serialiseYielding(value, redisKey, this.#offloadBytes);
    if (bytes.length > this.#maxValueBytes) {
      throw new CacheValueError(
        `the value for "${redisKey}" is ${bytes.length} bytes serialised, over maxValueBytes (${this.#maxValueBytes}); ` +
          "store less, or raise maxValueBytes",
      );
    }
    if (this.mode === "python-compat") {
      if (serialisation === "bytes") {
        throw new CacheValueError(
          "python-compat mode stores JSON values only (the Python starter's rawj: format)",
        );
      }
      const json = serialisation === "json" ? bytes.toString("utf8") : JSON.stringify(value);
      return encodePythonStarter(this.#keyRing!, json);
    }
    const offload = bytes.length >= this.#offloadBytes;
    const { codec, payload } = await compress(bytes, this.#compression, offload);
    const inner = encodeInner({ codec, serialisation, payload }, contextOf(redisKey));
    if (this.#keyRing === undefined) return encodePlain(inner);
    const primary = this.#keyRing.primary;
    const token =
      inner.length >= this.#offloadBytes
        ? await primary.encryptToBytesAsync(inner)
        : primary.encryptToBytes(inner);
    return encodeEncrypted(primary.keyId, token);
  }

  /**
   * Whether a value that was read is already in this cache's write format
   * under the primary key, so that re-encryption can leave it alone.
   */
  isCurrent(read: ReadResult, raw: Buffer): boolean {
    if (!read.hit || this.#keyRing === undefined) return false;
    if (this.mode === "python-compat") {
      if (read.source !== "python-starter") return false;
      try {
        this.#keyRing.primary.extractTimestamp(raw); // verifies under the primary only
        return true;
      } catch {
        return false;
      }
    }
    return read.source === "envelope" && read.keyId === this.#keyRing.primaryKeyId;
  }

  /**
   * Reads stored bytes as this cache's mode allows, publishing an event for
   * anything refused. Never throws for bad data.
   */
  async decodeStored(redisKey: string, raw: Buffer): Promise<ReadResult> {
    const outer = decodeOuter(raw);
    switch (outer.kind) {
      case "encrypted":
        return this.#readEncrypted(redisKey, outer.keyId, outer.token);
      case "plain":
        if (this.#keyRing !== undefined && this.mode !== "migrate") {
          return this.#refuse(redisKey, "unencrypted envelope where values must be encrypted");
        }
        return this.#readInner(redisKey, outer.body, "plain-envelope", undefined);
      case "malformed":
        return this.#refuse(redisKey, `malformed envelope: ${outer.reason}`);
      case "not-envelope":
        return this.#readForeign(redisKey, raw);
    }
  }

  async #readEncrypted(redisKey: string, keyId: string, token: Buffer): Promise<ReadResult> {
    const fernet: Fernet | undefined = this.#keyRing?.get(keyId);
    if (fernet === undefined) {
      const reason =
        this.#keyRing === undefined ? "encrypted value but no key ring configured" : "unknown key id";
      this.events.publish("decrypt.failure", { key: redisKey, reason, keyId });
      return { hit: false, unreadable: true };
    }
    let inner: Buffer;
    try {
      inner =
        token.length >= this.#offloadBytes
          ? (await fernet.decryptWithTimestampAsync(token)).plaintext
          : fernet.decrypt(token);
    } catch (error) {
      if (!(error instanceof InvalidToken)) throw error;
      this.events.publish("decrypt.failure", { key: redisKey, reason: error.message, keyId });
      return { hit: false, unreadable: true };
    }
    return this.#readInner(redisKey, inner, "envelope", keyId);
  }

  async #readInner(
    redisKey: string,
    inner: Buffer,
    source: ValueSource,
    keyId: string | undefined,
  ): Promise<ReadResult> {
    const body: InnerBody | string = decodeInner(inner, contextOf(redisKey));
    const failure = (reason: string): ReadResult => {
      this.events.publish("decrypt.failure", {
        key: redisKey,
        reason,
        ...(keyId === undefined ? {} : { keyId }),
      });
      return { hit: false, unreadable: true };
    };
    if (typeof body === "string") return failure(body);
    let payload: Buffer;
    try {
      // A small compressed payload can inflate to megabytes: give it a turn of its own.
      if (body.codec !== "none" && body.payload.length >= MAY_INFLATE_BYTES) await nextTurn();
      payload = await decompress(
        body.codec,
        body.payload,
        this.#maxValueBytes,
        body.payload.length >= this.#offloadBytes,
      );
    } catch {
      return failure(`payload does not decompress as ${body.codec} within maxValueBytes`);
    }
    const large = payload.length >= this.#offloadBytes;
    let value: unknown;
    try {
      if (large) await nextTurn();
      value = deserialise(body.serialisation, payload);
    } catch {
      return failure(`payload does not parse as ${body.serialisation}`);
    }
    // The caller's next step (often serialising another large value) gets a turn of its own too.
    if (large) await nextTurn();
    return { hit: true, value, source, ...(keyId === undefined ? {} : { keyId }) };
  }

  /** Values that are not envelopes: Python-starter tokens and legacy plaintext, where the mode allows them. */
  #readForeign(redisKey: string, raw: Buffer): ReadResult {
    const readsPython = this.mode === "migrate" || this.mode === "python-compat";
    if (readsPython && this.#keyRing !== undefined && looksLikeFernetText(raw)) {
      let text: string;
      try {
        text = this.#keyRing.decrypt(raw).toString("utf8");
      } catch (error) {
        if (!(error instanceof InvalidToken)) throw error;
        this.events.publish("decrypt.failure", {
          key: redisKey,
          reason: `Python-starter token: ${error.message}`,
        });
        return { hit: false, unreadable: true };
      }
      const unwrapped = unwrapPythonStarter(text);
      if (!unwrapped.ok) {
        this.events.publish("decrypt.failure", { key: redisKey, reason: unwrapped.reason });
        return { hit: false, unreadable: true };
      }
      return { hit: true, value: unwrapped.value, source: "python-starter" };
    }
    if (this.mode === "migrate") {
      const legacy = readLegacyPlaintext(raw);
      if (legacy.ok) return { hit: true, value: legacy.value, source: "legacy-plaintext" };
      return this.#refuse(redisKey, legacy.reason);
    }
    return this.#refuse(
      redisKey,
      "not an authenticated envelope (legacy values are read only in migrate mode)",
    );
  }

  #refuse(redisKey: string, reason: string): ReadResult {
    this.events.publish("value.unauthenticated", { key: redisKey, reason });
    return { hit: false, unreadable: true };
  }

  #shouldRewrite(source: ValueSource): boolean {
    return (
      this.#rewriteLegacy && this.mode === "migrate" && this.#keyRing !== undefined && source !== "envelope"
    );
  }

  /** Rewrites a legacy entry as an envelope, only if nobody changed it since it was read. */
  async #rewrite(redisKey: string, raw: Buffer, value: unknown): Promise<void> {
    try {
      await compareAndSwap(this.#redis, redisKey, raw, await this.encodeValue(redisKey, value));
    } catch (error) {
      if (error instanceof CacheValueError) return; // a legacy value we cannot store is left as it is
      this.#unavailable("rewrite", error);
    }
  }

  /**
   * ioredis queues commands while it reconnects, and a cache must not make
   * requests wait for an outage; so once a connection is known to be broken
   * (reconnecting, closed, ended) operations fail at once. During the first
   * connect ("wait", "connecting", "connect") commands go through as usual.
   */
  #assertReady(): void {
    const status = this.#redis.status;
    if (status === "reconnecting" || status === "close" || status === "end") {
      throw new CacheUnavailableError(`Redis connection is ${status}`);
    }
  }

  #unavailable(operation: string, error: unknown): void {
    this.events.publish("redis.unavailable", { operation, reason: describe(error) });
  }

  #writeFailed(operation: string, error: unknown): void {
    this.#unavailable(operation, error);
    if (this.#onWriteFailure === "throw") {
      throw new CacheUnavailableError(`cache ${operation} failed: ${describe(error)}`, { cause: error });
    }
  }
}

function checkTtl(ttl: number, name: string): number {
  if (!Number.isSafeInteger(ttl) || ttl < 1) {
    throw new CacheValueError(`${name} must be a whole number of seconds, at least 1`);
  }
  return ttl;
}

/** An error's message for events: Redis and network errors carry no secrets, but cap the length. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}
