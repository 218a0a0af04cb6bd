/**
 * Key names for AI requests: an HMAC of the canonical request under a
 * dedicated key-hashing secret. No user text reaches a key name, equal
 * requests map to equal names whatever the order of their option fields, and
 * rotating the encryption keys does not move any entry (this secret is
 * separate from them).
 */
import { createHmac } from "node:crypto";
import { ConfigurationError } from "../errors.js";

export interface AIRequest {
  /** What was asked of the model: summarize, sentiment, key_points, questions, qa, or your own name. */
  operation: string;
  /** The input text. */
  text: string;
  /** Model options that change the answer (model, temperature, max_tokens, ...). */
  options?: Record<string, unknown>;
  /** The question, for question answering. */
  question?: string;
}

/**
 * 32 bytes: the HMAC-SHA256 key size; a shorter secret would make key names
 * guessable by brute force over likely prompts.
 */
export const MIN_KEY_HASH_SECRET_BYTES = 32;

/** Operation names go into key names (for per-operation invalidation), so they must not be user text. */
const OPERATION = /^[a-z][a-z0-9_]{0,31}$/;

export function checkOperation(operation: string): string {
  if (typeof operation !== "string" || !OPERATION.test(operation)) {
    throw new ConfigurationError(
      "operation",
      "must be 1-32 characters of lower-case letters, digits and '_' (it becomes part of the key name)",
    );
  }
  return operation;
}

export function checkKeyHashSecret(secret: string | Uint8Array, setting = "REDIS_CACHE_KEY_SECRET"): Buffer {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  if (bytes.length < MIN_KEY_HASH_SECRET_BYTES) {
    throw new ConfigurationError(
      setting,
      `the key-hashing secret must be at least ${MIN_KEY_HASH_SECRET_BYTES} bytes, got ${bytes.length}; ` +
        "generate one with `secure-redis gen-key`",
    );
  }
  return bytes;
}

/** JSON with object keys sorted at every depth: one text per request, whatever the field order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}

/** `ai:<operation>:<base64url HMAC-SHA256 of the canonical request>` (the cache adds its namespace). */
export function requestKey(secret: Buffer, request: AIRequest): string {
  const operation = checkOperation(request.operation);
  if (typeof request.text !== "string") throw new TypeError("request.text must be a string");
  const canonical = canonicalJson({
    v: 1,
    operation,
    text: request.text,
    options: request.options ?? {},
    question: request.question ?? null,
  });
  const digest = createHmac("sha256", secret).update(canonical).digest("base64url");
  return `ai:${operation}:${digest}`;
}
