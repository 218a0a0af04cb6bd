import { describe, expect, it } from "vitest";
import { SecurityEvents } from "../../lib/index.js";
import type { SecurityEvent } from "../../lib/index.js";

describe("SecurityEvents", () => {
  it("delivers typed events to listeners of that type and to onAny, stamped with a time", () => {
    const events = new SecurityEvents();
    const failures: string[] = [];
    const all: SecurityEvent[] = [];
    events.on("auth.failure", (e) => failures.push(`${e.user}:${e.reason}:${e.consecutive}`));
    events.onAny((e) => all.push(e));
    const before = Date.now();
    events.publish("auth.failure", { user: "app", reason: "WRONGPASS", consecutive: 2 });
    events.publish("connection.lost", { reason: "ECONNRESET" });
    expect(failures).toEqual(["app:WRONGPASS:2"]);
    expect(all.map((e) => e.type)).toEqual(["auth.failure", "connection.lost"]);
    expect(all[0]!.at).toBeGreaterThanOrEqual(before);
  });

  it("unsubscribes", () => {
    const events = new SecurityEvents();
    let count = 0;
    const off = events.on("tls.failure", () => count++);
    const offAny = events.onAny(() => count++);
    events.publish("tls.failure", { reason: "x" });
    off();
    offAny();
    events.publish("tls.failure", { reason: "x" });
    expect(count).toBe(2);
  });

  it("keeps channels separate: no global state", () => {
    const a = new SecurityEvents();
    const b = new SecurityEvents();
    let seen = 0;
    b.onAny(() => seen++);
    a.publish("config.violation", { setting: "REDIS_URL", message: "plaintext" });
    expect(seen).toBe(0);
  });

  it("isolates a throwing listener from the publisher and from other listeners", () => {
    const errors: unknown[] = [];
    const events = new SecurityEvents({ onListenerError: (error) => errors.push(error) });
    let reached = false;
    events.on("decrypt.failure", () => {
      throw new Error("listener bug");
    });
    events.on("decrypt.failure", () => {
      reached = true;
    });
    expect(() => events.publish("decrypt.failure", { key: "ns:k", reason: "hmac" })).not.toThrow();
    expect(reached).toBe(true);
    expect(errors).toHaveLength(1);
  });
});
