/**
 * The Redis (or Valkey) release the image runs, as far as the program needs
 * it: the ACL may only name commands the server knows, or Redis rejects the
 * whole file.
 */

export interface RedisVersion {
  readonly major: number;
  readonly minor: number;
}

/** The oldest release whose configuration the program renders (`enable-*-command`, ACL v2). */
export const MINIMUM_REDIS_VERSION: RedisVersion = { major: 7, minor: 0 };

/** `7.2`, `7.2.11`, `7.2.11-alpine` → 7.2; anything else → undefined. */
export function parseRedisVersion(text: string): RedisVersion | undefined {
  const match = /^v?(\d{1,3})\.(\d{1,3})(?:\.\d+)?(?:[-.][A-Za-z0-9.-]*)?$/.exec(text.trim());
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/**
 * The version named by an image reference's tag (`redis:7.2.11`,
 * `registry:5000/valkey/valkey:8.0.2-alpine@sha256:...`), or undefined when
 * the tag names no version (`latest`, `test`, a digest only).
 */
export function versionFromImageTag(image: string): RedisVersion | undefined {
  const withoutDigest = image.split("@")[0] ?? "";
  const lastSlash = withoutDigest.lastIndexOf("/");
  const lastColon = withoutDigest.lastIndexOf(":");
  if (lastColon <= lastSlash) return undefined; // no tag (a colon before the last slash is a registry port)
  return parseRedisVersion(withoutDigest.slice(lastColon + 1));
}

export function compareVersions(a: RedisVersion, b: RedisVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

export function formatVersion(version: RedisVersion): string {
  return `${version.major}.${version.minor}`;
}
