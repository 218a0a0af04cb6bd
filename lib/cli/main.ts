#!/usr/bin/env node
/** The `secure-redis` executable (package.json "bin"). Everything else is in run.ts. */
import { runCli } from "./run.js";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
});
