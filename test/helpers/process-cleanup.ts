/**
 * Last-resort cleanup for what tests start (servers, temp dirs, containers).
 *
 * Vitest stops its fork workers with SIGTERM (SIGKILL 500 ms later), which
 * skips Node's "exit" event; so one hook runs every registered cleanup on
 * "exit" and on SIGTERM, then re-raises SIGTERM. What a SIGKILLed process
 * left behind is swept on the next run by `sweepStaleTempDirs` (temp dirs
 * carry the creating PID in their name).
 */
import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // best effort: one failing cleanup must not stop the others
    }
  }
  cleanups.clear();
}

/** Registers a synchronous cleanup to run when the test process ends, however it ends. */
export function onProcessEnd(cleanup: () => void): void {
  cleanups.add(cleanup);
  if (installed) return;
  installed = true;
  process.once("exit", runAll);
  process.once("SIGTERM", () => {
    runAll();
    process.kill(process.pid, "SIGTERM");
  });
}

/** True when a process with this PID exists (EPERM means it exists under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes `<prefix><pid>-*` temp dirs whose creating process is gone. */
export function sweepStaleTempDirs(prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\d+)-`);
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}
