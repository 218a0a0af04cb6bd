import { readFileSync, statSync } from "node:fs";
import { ConfigurationError } from "../errors.js";

export interface SecretFileOptions {
  /**
   * Refuse a file that group or others may read (production). Secrets in
   * files are the point of `*_FILE`; a world-readable one defeats it.
   */
  requireOwnerOnly?: boolean;
}

/**
 * Reads a secret named by a `*_FILE` variable. Strips exactly one trailing
 * newline (what `echo` and most editors add) and nothing else, so a secret
 * may legitimately end in spaces. Errors name the variable and the path,
 * never the content.
 */
export function readSecretFile(variable: string, path: string, opts: SecretFileOptions = {}): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    throw new ConfigurationError(
      variable,
      `cannot read the secret file ${path} (${errorCode(error)}); point ${variable} at a readable file`,
      { cause: error },
    );
  }
  if (opts.requireOwnerOnly && (mode & 0o077) !== 0) {
    throw new ConfigurationError(
      variable,
      `the secret file ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); ` +
        `run: chmod 600 ${path}`,
    );
  }
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigurationError(variable, `cannot read the secret file ${path} (${errorCode(error)})`, {
      cause: error,
    });
  }
  return content.endsWith("\r\n")
    ? content.slice(0, -2)
    : content.endsWith("\n")
      ? content.slice(0, -1)
      : content;
}

function errorCode(error: unknown): string {
  return error instanceof Error && "code" in error && typeof error.code === "string"
    ? error.code
    : "unreadable";
}

/**
 * The value of a setting that may come inline (`NAME`) or from a file
 * (`NAME_FILE`). Both set is an error: which one wins would be a guess.
 */
export function readSetting(
  env: NodeJS.ProcessEnv,
  name: string,
  opts: SecretFileOptions = {},
): { value: string; source: string } | undefined {
  const inline = nonEmpty(env[name]);
  const file = nonEmpty(env[`${name}_FILE`]);
  if (inline !== undefined && file !== undefined) {
    throw new ConfigurationError(name, `both ${name} and ${name}_FILE are set; keep only one of them`);
  }
  if (file !== undefined)
    return { value: readSecretFile(`${name}_FILE`, file, opts), source: `${name}_FILE` };
  if (inline !== undefined) return { value: inline, source: name };
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
