/**
 * Names of the environment variables that hold secrets, and of the ACL users
 * a generated configuration has. Settings, generator, validator and drift
 * comparison all use these lists, so a new secret is added in one place.
 */

/** The ACL users of a deployment: the app, an operator, and the container health check. */
export const ACL_USERS = ["app", "admin", "healthcheck"] as const;
export type AclUser = (typeof ACL_USERS)[number];

/** Where each user's name and password live in the environment. */
export const USER_VARIABLES: Readonly<Record<AclUser, { username: string; password: string }>> = {
  app: { username: "REDIS_USERNAME", password: "REDIS_PASSWORD" },
  admin: { username: "REDIS_ADMIN_USERNAME", password: "REDIS_ADMIN_PASSWORD" },
  healthcheck: { username: "REDIS_HEALTHCHECK_USERNAME", password: "REDIS_HEALTHCHECK_PASSWORD" },
};

/** Variables whose value is a secret; each also has a `<NAME>_FILE` form. */
export const SECRET_VARIABLES = [
  "REDIS_PASSWORD",
  "REDIS_ADMIN_PASSWORD",
  "REDIS_HEALTHCHECK_PASSWORD",
  "REDIS_ENCRYPTION_KEYS",
  "REDIS_ENCRYPTION_KEY",
  "REDIS_CACHE_KEY_SECRET",
] as const;

/** Variables that name a file holding a secret (the client's TLS key has no inline form). */
export const SECRET_FILE_VARIABLES = [
  ...SECRET_VARIABLES.map((name) => `${name}_FILE`),
  "REDIS_TLS_KEY_FILE",
];

/** Whether a variable's value must never be shown. REDIS_URL counts: it may carry a password. */
export function isSecretVariable(name: string): boolean {
  return (SECRET_VARIABLES as readonly string[]).includes(name) || name === "REDIS_URL";
}
