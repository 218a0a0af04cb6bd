/** Shared pieces of the cache tests: a real Redis, a client, events recorded, AI-response-like values. */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { SecurityEvents, type SecurityEvent } from "../../lib/index.js";
import { closeRedisClient, connectRedisClient } from "./redis-client.js";
import { useRedisServer, type RedisServer } from "./redis-server.js";

/** A plaintext, passwordless redis-server and one connected client for a test file. */
export function useCacheRedis(): { server: () => RedisServer; client: () => Redis } {
  const server = useRedisServer({});
  let client: Redis | undefined;
  beforeAll(async () => {
    client = await connectRedisClient(server(), { protocol: 2 });
  });
  afterAll(async () => {
    await closeRedisClient(client);
  });
  return {
    server,
    client: () => {
      if (client === undefined) throw new Error("client not connected");
      return client;
    },
  };
}

/** A SecurityEvents channel that records what it carries. */
export function recordingEvents(): { events: SecurityEvents; seen: SecurityEvent[]; clear: () => void } {
  const events = new SecurityEvents();
  const seen: SecurityEvent[] = [];
  events.onAny((event) => seen.push(event));
  return { events, seen, clear: () => void seen.splice(0) };
}

const WORDS =
  "the model reviewed latency throughput cost security caching tokens prompts answers summary sentiment risks".split(
    " ",
  );

/** JSON shaped like an AI response (nested, unicode), about `bytes` long when serialised. */
export function aiResponse(bytes: number, seed = 1): Record<string, unknown> {
  let state = seed;
  const word = (): string => {
    state = (state * 1103 + 12345) % 65_521; // small LCG: stays exact in doubles
    return WORDS[state % WORDS.length]!;
  };
  const keyPoints: string[] = [];
  let summary = "Résumé ✓ — ";
  const response = {
    id: `resp_${seed}`,
    model: "gpt-4o-mini",
    created: 1_733_250_000 + seed,
    result: { summary: "", key_points: keyPoints, sentiment: { label: "positive", score: 0.87 } },
    usage: { prompt_tokens: 812, completion_tokens: 233 },
  };
  // Track the length as text is added: serialising on every step is quadratic.
  let length = JSON.stringify(response).length + summary.length + 4;
  while (length < bytes) {
    const next = `${word()} `;
    summary += next;
    length += next.length;
    if (state % 17 === 0) {
      const point = Array.from({ length: 6 }, word).join(" ");
      keyPoints.push(point);
      length += point.length + 3;
    }
  }
  response.result.summary = summary;
  return response;
}

/** Incompressible bytes. */
export const noise = (size: number): Buffer => randomBytes(size);
