/**
 * Error families of secure-redis. Every error the library throws on purpose is
 * a `SecureRedisError`, so apps can tell ours from a bug with one `instanceof`.
 *
 * Rule for every message in this file's subclasses: it says what is wrong and
 * how to fix it, and never carries a secret (key, password, token, plaintext).
 */
export class SecureRedisError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A setting is missing, malformed or insecure for the environment. `setting`
 * names the variable or config key so that tooling can point at it.
 */
export class ConfigurationError extends SecureRedisError {
  readonly setting: string;
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super(`${setting}: ${message}`, options);
    this.setting = setting;
  }
}
