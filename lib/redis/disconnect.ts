import type { Redis } from "ioredis";

/**
 * Disconnects unless the client has already ended. ioredis's disconnect() on
 * an ended client arms a 2 s `disconnectTimeout` timer for a socket that is
 * already closed; the timer is never cleared and keeps the process alive for
 * 2 s (a CLI that finished would hang before exiting).
 */
export function disconnectQuietly(client: Redis): void {
  if (client.status !== "end") client.disconnect();
}
