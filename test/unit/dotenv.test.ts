import dotenv from "dotenv";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigurationError, renderDotenv } from "../../lib/index.js";

/** Both of dotenv's parsers must read the file back exactly. */
function parsedBack(text: string): Array<Record<string, string>> {
  return [dotenv.parse(text), dotenv.parse(text, { fast: true })];
}

describe("renderDotenv", () => {
  const NASTY: Array<[string, string]> = [
    ["dollar", "pa$$word ${HOME} $(id)"],
    ["hash", "value # not a comment"],
    ["leading hash", "#value"],
    ["single quote", "it's"],
    ["double quote", 'say "hi"'],
    ["backtick", "run `id`"],
    ["all three quotes", "a'b\"c"],
    ["newline", "line 1\nline 2"],
    ["carriage return", "a\r\nb"],
    ["trailing newline after a quote", "end'\n"],
    ["surrounding spaces", "  padded  "],
    ["empty", ""],
    ["backslashes", "C:\\path\\n\\"],
    ["equals and colon", "a=b: c"],
    ["unicode", "pässwörd 🔑"],
  ];

  it.each(NASTY)("round-trips a value with %s", (_name, value) => {
    const text = renderDotenv([
      ["BEFORE", "x"],
      ["VALUE", value],
      ["AFTER", "y"],
    ]);
    for (const parsed of parsedBack(text)) expect(parsed).toEqual({ BEFORE: "x", VALUE: value, AFTER: "y" });
  });

  it("single-quotes plain values so that no parser expands or cuts them", () => {
    expect(renderDotenv([["A", "a$b#c"]], ["header"])).toBe("# header\nA='a$b#c'\n");
  });

  it("refuses, naming the variable, a value no quoting can carry exactly", () => {
    expect(() => renderDotenv([["IMPOSSIBLE", "'`\"\r"]])).toThrow(ConfigurationError);
    expect(() => renderDotenv([["IMPOSSIBLE", "'`\"\r"]])).toThrow(/^IMPOSSIBLE: /);
    expect(() => renderDotenv([["1BAD", "x"]])).toThrow(/not a valid variable name/);
  });

  it("property: every string either round-trips exactly through both dotenv parsers or is refused", () => {
    const piece = fc.constantFrom(
      "a",
      "Z",
      "0",
      "$",
      "#",
      "'",
      '"',
      "`",
      "\n",
      "\r",
      "\\",
      " ",
      "=",
      "n",
      "{",
      "}",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 24 }).map((parts) => parts.join("")),
        fc.string(),
        (value, other) => {
          let text: string;
          try {
            text = renderDotenv([
              ["VALUE", value],
              ["OTHER", other.replace(/[\r'`"]/g, "")],
            ]);
          } catch (error) {
            return error instanceof ConfigurationError;
          }
          return parsedBack(text).every(
            (parsed) => parsed.VALUE === value && Object.keys(parsed).length === 2,
          );
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("property: every value without all of ' ` \" together and without \\r is written (none refused)", () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: "grapheme", maxLength: 40 })
          .filter((s) => !s.includes("\r") && !(s.includes("'") && s.includes("`"))),
        (value) => {
          const text = renderDotenv([["V", value]]);
          return parsedBack(text).every((parsed) => parsed.V === value);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
