/**
 * Argument parsing on node:util `parseArgs` (strict: unknown options are
 * usage errors), with the helpers the commands share.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ENVIRONMENTS, type Environment } from "../config/tiers.js";
import { parseEnvironmentName } from "../config/environment.js";
import { UsageError } from "./io.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses `args` against `options` (+ --help); any parse problem is a UsageError. */
export function parseCommandArgs(args: readonly string[], options: Options, maxPositionals: number): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument: ${parsed.positionals[maxPositionals]}`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

export function flag(parsed: Parsed, name: string): boolean {
  return parsed.values[name] === true;
}

/** A tier name (aliases such as "prod" or "preprod" accepted). */
export function environmentOption(parsed: Parsed, name = "env"): Environment | undefined {
  const value = stringOption(parsed, name);
  if (value === undefined) return undefined;
  const environment = parseEnvironmentName(value);
  if (environment === undefined) {
    throw new UsageError(`--${name} ${value}: not an environment; use one of ${ENVIRONMENTS.join(", ")}`);
  }
  return environment;
}

export function integerOption(parsed: Parsed, name: string, min: number, max: number): number | undefined {
  const value = stringOption(parsed, name);
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`--${name} ${value}: expected a whole number from ${min} to ${max}`);
  }
  return number;
}
