/**
 * What a connection failure means and what to do about it, by Node/OpenSSL
 * error code. The client turns these into `RedisTlsError`s and
 * `RedisConnectionError`s, the audit into findings; docs/troubleshooting.md
 * quotes the same texts (checked by test/unit/docs.test.ts).
 */

export interface TlsFailure {
  code: string;
  detail: string;
  fix: string;
}

const UNTRUSTED = {
  detail: "the server certificate is not signed by a CA this client trusts",
  fix: "set REDIS_TLS_CA_FILE to the CA certificate that signed the server certificate",
};

const KNOWN: Readonly<Record<string, Omit<TlsFailure, "code">>> = {
  CERT_HAS_EXPIRED: {
    detail: "the server certificate has expired",
    fix: "renew the server certificate and reload Redis (tls-cert-file); never turn verification off",
  },
  CERT_NOT_YET_VALID: {
    detail: "the server certificate is not valid yet",
    fix: "check the clocks of the client, the server and the CA that issued the certificate",
  },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED,
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED,
  DEPTH_ZERO_SELF_SIGNED_CERT: UNTRUSTED,
  CERT_UNTRUSTED: UNTRUSTED,
  CERT_SIGNATURE_FAILURE: UNTRUSTED,
  ERR_TLS_CERT_ALTNAME_INVALID: {
    detail: "the server certificate does not name the host connected to",
    fix: "connect with a host name the certificate carries, or set REDIS_TLS_SERVERNAME to one of them",
  },
  ERR_SSL_WRONG_VERSION_NUMBER: {
    detail: "the server did not answer in TLS (a plaintext port?)",
    fix: "point REDIS_URL at the server's TLS port (tls-port)",
  },
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: {
    detail: "the server requires a client certificate (mutual TLS) and none was sent",
    fix: "set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE to the client certificate and key",
  },
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: {
    detail: "the server refused the handshake (no client certificate, or no common TLS version)",
    fix: "with mutual TLS set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE; the client requires TLS 1.2 or newer",
  },
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: {
    detail: "the server does not trust the client certificate",
    fix: "use a client certificate issued by the CA in the server's tls-ca-cert-file",
  },
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: {
    detail: "the server rejected the client certificate",
    fix: "use a valid client certificate issued by the CA in the server's tls-ca-cert-file",
  },
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: {
    detail: "the server offers only TLS versions older than 1.2",
    fix: 'set tls-protocols "TLSv1.2 TLSv1.3" on the server',
  },
  ERR_SSL_UNSUPPORTED_PROTOCOL: {
    detail: "the server offers only TLS versions older than 1.2",
    fix: 'set tls-protocols "TLSv1.2 TLSv1.3" on the server',
  },
};

/** The TLS meaning of an error, or undefined when it is not a TLS failure. */
export function describeTlsFailure(error: unknown): TlsFailure | undefined {
  const code = errorCode(error);
  if (code === undefined) return undefined;
  const known = KNOWN[code];
  if (known !== undefined) return { code, ...known };
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || /CERT/.test(code)) {
    return {
      code,
      detail: "the TLS handshake failed",
      fix: "check the certificates on both sides (secure-redis audit shows them)",
    };
  }
  return undefined;
}

/** `error.code` when it is a string. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** What a non-TLS connection failure means and what to do, by Node error code. */
export function describeConnectionFailure(error: unknown): {
  code: string | undefined;
  detail: string;
  fix: string;
} {
  const code = errorCode(error);
  switch (code) {
    case "ECONNREFUSED":
      return {
        code,
        detail: "connection refused",
        fix: "check that Redis runs and REDIS_URL names its host and port",
      };
    case "ETIMEDOUT":
      return {
        code,
        detail: "connect timed out",
        fix: "check the host, the port and any firewall between them (REDIS_CONNECT_TIMEOUT_MS sets the timeout)",
      };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { code, detail: "the host name does not resolve", fix: "check the host in REDIS_URL" };
    default:
      return {
        code,
        detail: `the server closed the connection before it was ready (${code ?? "connection closed"})`,
        fix: "if the server speaks TLS only, use a rediss:// URL; with mutual TLS also set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE",
      };
  }
}
