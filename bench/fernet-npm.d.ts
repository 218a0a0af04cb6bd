/**
 * Minimal types for the npm package `fernet` (v0.4, CommonJS, untyped), only
 * what `bench/fernet.ts` uses. Its `Token` works on JavaScript strings: the
 * message is encoded as UTF-8 and the decoded plaintext comes back as UTF-8.
 */
declare module "fernet" {
  namespace fernet {
    /** A 32-byte key given as URL-safe base64 text (a `Fernet.generateKey()` key). */
    class Secret {
      constructor(secret64: string);
    }

    interface TokenOptions {
      secret?: Secret;
      /** The text token to decode. */
      token?: string;
      /** Maximum age in seconds; 0 disables the time check (the default is 60). */
      ttl?: number;
    }

    class Token {
      constructor(opts?: TokenOptions);
      /** Encrypts `message` with a fresh IV and returns the text token. */
      encode(message?: string): string;
      /** Verifies and decrypts the token; throws an `Error` when it is invalid. */
      decode(token?: string): string;
    }
  }
  export = fernet;
}
