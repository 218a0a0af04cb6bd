/**
 * Event-loop turns for large values' main-thread work.
 *
 * JSON.stringify/parse, UTF-8 coding and inflating a 1 MiB value each take
 * a few milliseconds on the main thread. When many replies arrive in one
 * socket read, their continuations would otherwise run back to back as
 * microtasks of one turn, holding the loop for 100+ ms (measured: event-loop
 * p99 of 130-225 ms with 16 x 1 MiB in flight, about 14 ms with turns; see
 * `npm run bench -- cache`). Each waiter here resumes in a turn of its own,
 * first come first served, with timers and I/O running in between.
 *
 * The queue is shared by every cache in the process on purpose: the event
 * loop it protects is shared too. It holds only resolve callbacks.
 */
const waiters: Array<() => void> = [];
let scheduled = false;

/** Resolves in a later event-loop turn, one waiter per turn. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiters.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(runTurn);
    }
  });
}

function runTurn(): void {
  waiters.shift()?.();
  if (waiters.length > 0) setImmediate(runTurn);
  else scheduled = false;
}
