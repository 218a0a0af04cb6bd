/**
 * Dotenv files that parse back exactly.
 *
 * Every value is single-quoted when it can be: inside single quotes dotenv
 * (Node), python-dotenv and Docker Compose all take the text literally, so
 * `$` is never expanded, `#` never starts a comment, and a newline stays a
 * newline. A value that contains a single quote is back-quoted, and one with
 * a carriage return is double-quoted with `\r`/`\n` escapes. Every candidate
 * is checked by parsing it back with the `dotenv` package (both its parsers);
 * a value no quoting can carry exactly is refused, never written approximately.
 */
import dotenv from "dotenv";
import { ConfigurationError } from "../errors.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses dotenv text the way `dotenv` does (no variable expansion). */
export function parseDotenv(text: string): Record<string, string> {
  return dotenv.parse(text);
}

/**
 * Renders `entries` (in the given order) as dotenv text, one `NAME='value'`
 * per line, with `header` lines as comments on top.
 * @throws ConfigurationError naming the variable whose value cannot be written exactly.
 */
export function renderDotenv(
  entries: ReadonlyArray<readonly [string, string]>,
  header: readonly string[] = [],
): string {
  const lines = header.map((line) => `# ${line.replace(/[\r\n]+/g, " ")}`);
  for (const [name, value] of entries) {
    if (!NAME.test(name)) {
      throw new ConfigurationError(
        name,
        "is not a valid variable name for a dotenv file (letters, digits, _)",
      );
    }
    lines.push(`${name}=${quote(name, value)}`);
  }
  const text = `${lines.join("\n")}\n`;
  const expected = Object.fromEntries(entries);
  for (const parsed of [dotenv.parse(text), dotenv.parse(text, { fast: true })]) {
    for (const [name, value] of entries) {
      // Lines interact (a quote left open would swallow the next line): check the whole file too.
      if (parsed[name] !== value || Object.keys(parsed).length !== Object.keys(expected).length) {
        throw new ConfigurationError(
          name,
          "cannot be written to a dotenv file so that it reads back exactly",
        );
      }
    }
  }
  return text;
}

function quote(name: string, value: string): string {
  const candidates: string[] = [];
  if (!value.includes("\r")) {
    if (!value.includes("'")) candidates.push(`'${value}'`);
    if (!value.includes("`")) candidates.push(`\`${value}\``);
  }
  if (!value.includes('"') && !/\\[nr]/.test(value)) {
    candidates.push(`"${value.replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`);
  }
  for (const candidate of candidates) {
    const line = `${name}=${candidate}\n`;
    if (dotenv.parse(line)[name] === value && dotenv.parse(line, { fast: true })[name] === value)
      return candidate;
  }
  throw new ConfigurationError(
    name,
    "holds a combination of quotes, backslashes and line breaks that no dotenv quoting carries exactly; use the _FILE form for it",
  );
}
