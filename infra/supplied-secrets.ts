/**
 * Checks on secrets a user brings with `pulumi config set --secret`, against
 * the tier's policy. Every message names the config key, the position of the
 * offending entry and the fix; none contains the value or a part of it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ConfigurationError } from "../lib/errors.js";
import { KeyRing } from "../lib/crypto/keyring.js";
import { PASSWORD_ALPHABET, type CharacterClass, type TierPolicy } from "../lib/config/tiers.js";
import { fullKey } from "./config-schema.js";
import { Secret } from "../lib/config/secret.js";

/** ACL passwords kept at once: the current one and the one before it. */
export const MAX_PASSWORDS_PER_USER = 2;

/** Shortest accepted key-hashing secret: 32 characters carry at least 128 bits in any of the usual encodings. */
export const MIN_KEY_HASHING_SECRET_LENGTH = 32;

const CLASS_OF: ReadonlyMap<string, CharacterClass> = new Map(
  (Object.entries(PASSWORD_ALPHABET) as Array<[CharacterClass, string]>).flatMap(([cls, chars]) =>
    [...chars].map((char) => [char, cls] as const),
  ),
);

/** Constant-time equality of two secrets (their SHA-256 digests, so lengths need not match). */
function sameSecret(a: string, b: string): boolean {
  const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

function splitList(value: string): string[] {
  return value.split(",").map((entry) => entry.trim());
}

/**
 * Supplied ACL passwords for one user, current first (`"<new>,<previous>"`).
 * Held to the tier: at least `randomLength` characters (a supplied password
 * has no prefix to discount), only the URL-safe alphabet (it must fit a
 * `rediss://` URL and the ACL file), and every required character class.
 */
export function checkSuppliedPasswords(key: string, value: string, tier: TierPolicy): Secret[] {
  const setting = fullKey(key);
  const entries = splitList(value);
  const fix = `fix: pulumi config set --secret ${key} "<current>[,<previous>]", or pulumi config rm ${key} to have one generated`;
  if (entries.length > MAX_PASSWORDS_PER_USER) {
    throw new ConfigurationError(
      setting,
      `holds ${entries.length} passwords; the ACL keeps at most ${MAX_PASSWORDS_PER_USER} (current, previous). ${fix}`,
    );
  }
  const { randomLength, requiredClasses } = tier.password;
  entries.forEach((password, index) => {
    const where = `password ${index + 1} of ${entries.length}`;
    if (password.length === 0) {
      throw new ConfigurationError(setting, `${where} is empty; separate passwords with one comma. ${fix}`);
    }
    if (password.length < randomLength) {
      throw new ConfigurationError(
        setting,
        `${where} has ${password.length} characters; the ${tier.environment} tier requires at least ${randomLength}. ${fix}`,
      );
    }
    const classes = new Set<CharacterClass>();
    for (let position = 0; position < password.length; position++) {
      const cls = CLASS_OF.get(password.charAt(position));
      if (cls === undefined) {
        throw new ConfigurationError(
          setting,
          `${where} has a character outside A-Z a-z 0-9 - _ . ~ at position ${position + 1} ` +
            `(the password must fit a rediss:// URL and the ACL file unescaped). ${fix}`,
        );
      }
      classes.add(cls);
    }
    const missing = requiredClasses.filter((cls) => !classes.has(cls));
    if (missing.length > 0) {
      throw new ConfigurationError(
        setting,
        `${where} lacks ${missing.join(", ")} characters, which the ${tier.environment} tier requires. ${fix}`,
      );
    }
  });
  if (entries.length === 2 && sameSecret(entries[0]!, entries[1]!)) {
    throw new ConfigurationError(setting, `the current and previous password are the same. ${fix}`);
  }
  return entries.map((password) => new Secret(password));
}

/**
 * A supplied encryption key ring, primary first, in the library's own format
 * (`REDIS_ENCRYPTION_KEYS`): parsed by `KeyRing`, whose errors never echo a
 * key. At most the primary plus the tier's retained keys.
 */
export function checkSuppliedEncryptionKeys(key: string, value: string, tier: TierPolicy): Secret[] {
  const setting = fullKey(key);
  const ring = KeyRing.parse(value, setting);
  const allowed = 1 + tier.retainedEncryptionKeys;
  if (ring.size > allowed) {
    throw new ConfigurationError(
      setting,
      `holds ${ring.size} keys; the ${tier.environment} tier keeps the primary and ${tier.retainedEncryptionKeys} ` +
        `previous key(s). Drop the oldest: pulumi config set --secret ${key} "<primary>,<previous>..."`,
    );
  }
  return splitList(value)
    .filter((entry) => entry !== "")
    .map((entry) => new Secret(entry));
}

export function checkSuppliedKeyHashingSecret(key: string, value: string): Secret {
  if (value.length < MIN_KEY_HASHING_SECRET_LENGTH) {
    throw new ConfigurationError(
      fullKey(key),
      `has ${value.length} characters; at least ${MIN_KEY_HASHING_SECRET_LENGTH} are required. ` +
        `Fix: pulumi config set --secret ${key} "$(openssl rand -base64 32)", or pulumi config rm ${key} to have one generated`,
    );
  }
  return new Secret(value);
}
