/**
 * Every generated secret of a stack, sized by the tier, kept in state as a
 * Pulumi secret, and rotatable by generation numbers:
 *
 * - ACL passwords: one `RandomPassword` per user per generation, named by the
 *   generation (`...-app-password-g3`). Raising `rotation.passwordGeneration`
 *   from n to n+1 creates generation n+1, keeps n unchanged (both are valid
 *   ACL passwords) and deletes n-1: the next raise retires the older one.
 * - Encryption keys: one `RandomBytes(32)` per generation, turned into a
 *   Fernet key (URL-safe base64 of 32 random bytes). `RandomId` is not used:
 *   its outputs are not marked secret and its hex/decimal forms invite
 *   truncation. The ring is the current key followed by as many previous
 *   generations as the tier retains.
 * - The key-hashing secret (an HMAC key for cache key names): one resource
 *   without a generation, because rotating it would orphan every cached entry.
 *
 * A secret the user supplied (stack config, `--secret`) replaces the
 * generated one; no resource is created for it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Fernet } from "../lib/crypto/fernet.js";
import { PASSWORD_ALPHABET, type PasswordPolicy, type TierPolicy } from "../lib/config/tiers.js";
import { ACL_USERS, type AclUser, type ResolvedConfig } from "./config.js";

/** Generations alive at once for a password: the current and the previous one. */
export function passwordGenerations(current: number): number[] {
  return [current, current - 1].filter((generation) => generation >= 1);
}

/** Generations of the key ring: the current one, then `retained` previous ones (oldest last). */
export function keyGenerations(current: number, retained: number): number[] {
  const generations: number[] = [];
  for (let generation = current; generation >= 1 && generations.length <= retained; generation--) {
    generations.push(generation);
  }
  return generations;
}

export function passwordResourceName(prefix: string, user: AclUser, generation: number): string {
  return `${prefix}-${user}-password-g${generation}`;
}

export function encryptionKeyResourceName(prefix: string, generation: number): string {
  return `${prefix}-encryption-key-g${generation}`;
}

/**
 * `RandomPassword` arguments for a tier: the random part only (a prefix is
 * added afterwards), drawn from the whole URL-safe alphabet, with at least
 * one character of each class the tier requires.
 */
export function randomPasswordArgs(policy: PasswordPolicy): random.RandomPasswordArgs {
  const required = new Set(policy.requiredClasses);
  return {
    length: policy.randomLength,
    lower: true,
    upper: true,
    numeric: true,
    special: true,
    overrideSpecial: PASSWORD_ALPHABET.special,
    minLower: required.has("lower") ? 1 : 0,
    minUpper: required.has("upper") ? 1 : 0,
    minNumeric: required.has("digit") ? 1 : 0,
    minSpecial: required.has("special") ? 1 : 0,
  };
}

/**
 * 32 random bytes as standard base64 (what `RandomBytes.base64` gives) →
 * a Fernet key: the same bytes in URL-safe base64 with padding, checked by
 * the library's own parser.
 */
export function fernetKeyFromBase64(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  if (bytes.length !== 32) throw new Error(`expected 32 random bytes, got ${bytes.length}`);
  const key = bytes.toString("base64url") + "=";
  new Fernet(key); // throws InvalidKeyError (without echoing the key) if this is not a valid key
  return key;
}

export interface StackSecretsArgs {
  tier: TierPolicy;
  passwordGeneration: number;
  keyGeneration: number;
  supplied: ResolvedConfig["supplied"];
}

export class StackSecrets extends pulumi.ComponentResource {
  /** Each ACL user's passwords, current first, then the previous generation (if any). */
  readonly passwords: Readonly<Record<AclUser, pulumi.Output<string>[]>>;
  /** The key ring, primary first. */
  readonly encryptionKeys: pulumi.Output<string>[];
  /** HMAC key for cache key names; does not rotate with the encryption keys. */
  readonly keyHashingSecret: pulumi.Output<string>;

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-redis:secrets:StackSecrets", name, {}, opts);
    const { tier, supplied } = args;
    const passwordArgs = randomPasswordArgs(tier.password);
    const prefix = tier.password.prefix;

    const passwords = {} as Record<AclUser, pulumi.Output<string>[]>;
    for (const user of ACL_USERS) {
      const own = supplied.passwords[user];
      passwords[user] =
        own !== undefined
          ? own.map((password) => pulumi.secret(password.reveal()))
          : passwordGenerations(args.passwordGeneration).map((generation) =>
              pulumi.secret(
                new random.RandomPassword(passwordResourceName(name, user, generation), passwordArgs, {
                  parent: this,
                }).result.apply((result) => `${prefix}${result}`),
              ),
            );
    }
    this.passwords = passwords;

    this.encryptionKeys =
      supplied.encryptionKeys !== undefined
        ? supplied.encryptionKeys.map((key) => pulumi.secret(key.reveal()))
        : keyGenerations(args.keyGeneration, tier.retainedEncryptionKeys).map((generation) =>
            pulumi.secret(
              new random.RandomBytes(
                encryptionKeyResourceName(name, generation),
                { length: 32 },
                { parent: this },
              ).base64.apply(fernetKeyFromBase64),
            ),
          );

    this.keyHashingSecret =
      supplied.keyHashingSecret !== undefined
        ? pulumi.secret(supplied.keyHashingSecret.reveal())
        : pulumi.secret(
            new random.RandomBytes(
              `${name}-key-hashing-secret`,
              { length: 32 },
              { parent: this },
            ).base64.apply((base64) => Buffer.from(base64, "base64").toString("base64url")),
          );

    this.registerOutputs({});
  }
}
