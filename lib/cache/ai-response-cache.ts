/**
 * AIResponseCache: caches model answers by request, on top of an
 * EncryptedCache. Key names are keyed hashes of the request (request-key.ts);
 * values are encrypted envelopes; TTLs default per operation.
 */
import type { EncryptedCache } from "./encrypted-cache.js";
import { checkKeyHashSecret, checkOperation, requestKey, type AIRequest } from "./request-key.js";

/** Default TTLs in seconds, per operation: answers that age fast (qa) expire sooner. */
export const DEFAULT_OPERATION_TTLS: Readonly<Record<string, number>> = {
  summarize: 7200,
  sentiment: 3600,
  key_points: 5400,
  questions: 3600,
  qa: 1800,
};

export interface AIResponseCacheOptions {
  /** The key-hashing secret (REDIS_CACHE_KEY_SECRET), at least 32 bytes; not an encryption key. */
  keyHashSecret: string | Uint8Array;
  /** Per-operation TTLs in seconds, merged over the defaults. */
  ttlByOperation?: Record<string, number>;
  /** TTL for operations with no entry. Default: the EncryptedCache's default TTL. */
  defaultTtlSeconds?: number;
}

export class AIResponseCache {
  readonly #cache: EncryptedCache;
  readonly #secret: Buffer;
  readonly #ttls: Record<string, number>;
  readonly #defaultTtl: number | undefined;

  constructor(cache: EncryptedCache, options: AIResponseCacheOptions) {
    this.#cache = cache;
    this.#secret = checkKeyHashSecret(options.keyHashSecret);
    this.#ttls = { ...DEFAULT_OPERATION_TTLS, ...(options.ttlByOperation ?? {}) };
    for (const operation of Object.keys(this.#ttls)) checkOperation(operation);
    this.#defaultTtl = options.defaultTtlSeconds;
  }

  /** The cache key (without namespace) of a request: no user text, only a keyed hash. */
  keyOf(request: AIRequest): string {
    return requestKey(this.#secret, request);
  }

  async get<T = unknown>(request: AIRequest): Promise<T | undefined> {
    return this.#cache.get<T>(this.keyOf(request));
  }

  async set(request: AIRequest, response: unknown, options: { ttlSeconds?: number } = {}): Promise<void> {
    const ttlSeconds = options.ttlSeconds ?? this.#ttls[request.operation] ?? this.#defaultTtl;
    await this.#cache.set(this.keyOf(request), response, ttlSeconds === undefined ? {} : { ttlSeconds });
  }

  /** Removes cached answers, of one operation or all (SCAN + UNLINK). Returns how many were removed. */
  async invalidate(filter: { operation?: string } = {}): Promise<number> {
    const scope = filter.operation === undefined ? "*" : `${checkOperation(filter.operation)}:*`;
    return this.#cache.deleteMatching(`ai:${scope}`);
  }
}
