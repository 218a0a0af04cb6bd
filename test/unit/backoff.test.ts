import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../lib/index.js";

describe("backoffDelay", () => {
  it("doubles from the base up to the cap, with jitter in the upper half", () => {
    const low = { baseMs: 100, capMs: 10_000, random: () => 0 };
    const high = { baseMs: 100, capMs: 10_000, random: () => 0.999_999 };
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, low))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, high))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(100, high)).toBe(10_000);
    expect(backoffDelay(100_000, low)).toBe(5_000);
  });

  it("property: always within [ceiling/2, ceiling] and never above the cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1_000, max: 60_000 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (attempt, baseMs, capMs, r) => {
          const delay = backoffDelay(attempt, { baseMs, capMs, random: () => r });
          const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));
          return delay >= Math.floor(ceiling / 2) && delay <= ceiling && delay <= capMs;
        },
      ),
    );
  });
});
