/**
 * What a CLI command may touch, passed in so that tests run commands
 * in-process and capture their output.
 */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Exit codes, as documented in the README. */
export const EXIT = {
  /** Nothing critical found (audit: and the audit completed; validate: and the score passed). */
  ok: 0,
  /** Something critical found, or the audit could not complete, or validation failed. */
  findings: 1,
  /** Usage error: unknown option, missing or bad argument, unreadable input file, refused overwrite. */
  usage: 2,
} as const;

/** A mistake in how the command was called; exits 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
