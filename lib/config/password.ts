/**
 * Password generation and assessment, both held to a tier's `PasswordPolicy`.
 *
 * Generation draws every character with `crypto.randomInt`, which rejects
 * out-of-range draws internally and so has no modulo bias. A password missing
 * a required character class is thrown away and drawn again as a whole:
 * forcing one character of each class into a fixed slot (or shuffling it in)
 * would make some passwords likelier than others.
 */
import { randomInt } from "node:crypto";
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";
import { PASSWORD_ALPHABET, type CharacterClass, type PasswordPolicy } from "./tiers.js";

/** Every password character, in a fixed order (all classes, whatever a tier requires). */
export const PASSWORD_CHARACTERS = Object.values(PASSWORD_ALPHABET).join("");

const CLASS_OF = new Map<string, CharacterClass>(
  (Object.entries(PASSWORD_ALPHABET) as Array<[CharacterClass, string]>).flatMap(([cls, chars]) =>
    [...chars].map((char) => [char, cls] as [string, CharacterClass]),
  ),
);

/** A source of uniform integers in [0, max); `crypto.randomInt` unless a test injects one. */
export type RandomIndex = (max: number) => number;

/** Draws up to this many whole passwords before giving up (a broken random source, not bad luck). */
const MAX_DRAWS = 1_000;

/** A fresh password for the policy: prefix + `randomLength` characters with every required class. */
export function generatePassword(policy: PasswordPolicy, random: RandomIndex = randomInt): string {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    let body = "";
    for (let i = 0; i < policy.randomLength; i++)
      body += PASSWORD_CHARACTERS[random(PASSWORD_CHARACTERS.length)];
    if (missingClasses(body, policy).length === 0) return policy.prefix + body;
  }
  throw new Error(
    `could not draw a password with the classes ${policy.requiredClasses.join(", ")} in ${MAX_DRAWS} attempts; the random source is broken`,
  );
}

/** Required classes that `password` lacks, in the policy's order. Characters outside the alphabet count for no class. */
export function missingClasses(password: string, policy: PasswordPolicy): CharacterClass[] {
  const present = new Set<CharacterClass>();
  for (const char of password) {
    const cls = CLASS_OF.get(char);
    if (cls !== undefined) present.add(cls);
  }
  return policy.requiredClasses.filter((cls) => !present.has(cls));
}

export interface PasswordStrength {
  /** zxcvbn's estimate of the guesses an attacker needs, as log10. */
  guessesLog10: number;
  /** zxcvbn's pattern warning (e.g. "simpleRepeat"), when it has one. */
  warning: string | undefined;
}

let estimator: ZxcvbnFactory | undefined;

/**
 * zxcvbn-ts's estimate for `password`, with the common dictionaries and
 * keyboard graphs. Deterministic: the same password always gets the same
 * estimate. The result carries no part of the password.
 */
export function passwordStrength(password: string): PasswordStrength {
  estimator ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs });
  const result = estimator.check(password);
  return { guessesLog10: result.guessesLog10, warning: result.feedback.warning ?? undefined };
}
