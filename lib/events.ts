/**
 * A typed channel of security events. The cache, the client and the monitor
 * publish to and read from an instance they are given; there is no global
 * singleton, so two caches in one process never see each other's events
 * unless they are handed the same channel.
 *
 * Events carry names and reasons, never secret values: no password, key,
 * token or cached plaintext goes into an event.
 */

interface EventBase {
  /** Milliseconds since the epoch, set by `publish`. */
  at: number;
}

export interface SecurityEventMap {
  "auth.success": { user: string };
  "auth.failure": { user: string; reason: string; consecutive: number };
  "tls.failure": { reason: string };
  /** A value was authenticated but could not be decrypted or decoded, or named an unknown key. */
  "decrypt.failure": { key: string; reason: string; keyId?: string };
  /** A value that is not an authenticated envelope was read in strict mode. */
  "value.unauthenticated": { key: string; reason: string };
  "key.rotation": { primaryKeyId: string; previousKeyIds: string[] };
  "config.violation": { setting: string; message: string };
  "connection.lost": { reason: string };
  /** A cache operation could not reach Redis (reads then miss: they fail open; writes follow their policy). */
  "redis.unavailable": { operation: string; reason: string };
  "connection.restored": { downtimeMs: number };
}

export type SecurityEventType = keyof SecurityEventMap;
export type SecurityEvent<T extends SecurityEventType = SecurityEventType> = {
  [K in T]: { type: K } & EventBase & SecurityEventMap[K];
}[T];

export type Listener<T extends SecurityEventType> = (event: SecurityEvent<T>) => void;
type AnyListener = (event: SecurityEvent) => void;

export interface SecurityEventsOptions {
  /**
   * Called when a listener throws. A broken listener must not break the
   * request that published the event, so the error is handed here instead
   * of propagating. Default: ignore.
   */
  onListenerError?: (error: unknown, event: SecurityEvent) => void;
}

export class SecurityEvents {
  readonly #listeners = new Map<SecurityEventType, Set<AnyListener>>();
  readonly #any = new Set<AnyListener>();
  readonly #onListenerError: (error: unknown, event: SecurityEvent) => void;

  constructor(opts: SecurityEventsOptions = {}) {
    this.#onListenerError = opts.onListenerError ?? (() => undefined);
  }

  /** Subscribes to one event type; returns the unsubscribe function. */
  on<T extends SecurityEventType>(type: T, listener: Listener<T>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    // Sound: this set only ever receives events whose type is T. TypeScript
    // cannot relate a generic T to the union, hence the cast through unknown.
    const stored = listener as unknown as AnyListener;
    set.add(stored);
    return () => set.delete(stored);
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  onAny(listener: AnyListener): () => void {
    this.#any.add(listener);
    return () => this.#any.delete(listener);
  }

  /** Publishes an event to its listeners, synchronously, stamping its time. */
  publish<T extends SecurityEventType>(type: T, details: SecurityEventMap[T]): SecurityEvent<T> {
    // Sound by construction (details are SecurityEventMap[T], type is T);
    // the cast through unknown is the generic-to-union step TypeScript cannot prove.
    const event = { ...details, type, at: Date.now() } as unknown as SecurityEvent<T>;
    const delivered = event as SecurityEvent;
    for (const listener of [...(this.#listeners.get(type) ?? []), ...this.#any]) {
      try {
        listener(delivered);
      } catch (error) {
        this.#onListenerError(error, delivered);
      }
    }
    return event;
  }
}
