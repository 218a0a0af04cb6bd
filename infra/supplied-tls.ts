/**
 * Certificates a user brings instead of the generated ones, checked at
 * program time: each PEM parses, keys match their certificates, the server
 * certificate was issued by the CA, names the Redis alias and is valid now.
 * A bad certificate fails `pulumi up` here, not as a TLS error in production.
 * Messages name the config key; they never contain PEM text.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { ConfigurationError } from "../lib/errors.js";
import { fullKey } from "./config-schema.js";
import type { Secret } from "../lib/config/secret.js";

export interface SuppliedTlsInput {
  caCertPem: string;
  caKeyPem: Secret | undefined;
  serverCertPem: string;
  serverKeyPem: Secret | undefined;
}

export interface SuppliedTls {
  /** The CA clients and Redis trust. */
  caCertPem: string;
  /** Present when the program issues certificates from the user's CA. */
  caKeyPem?: Secret;
  /** Present when the user brings the server certificate too. */
  server?: { certPem: string; keyPem: Secret; expiresAt: string };
}

function parseCertificate(key: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigurationError(
      fullKey(key),
      `is not a PEM certificate; set it from a file: pulumi config set ${key} -- "$(cat cert.pem)"`,
    );
  }
}

function parsePrivateKey(key: string, pem: Secret): KeyObject {
  try {
    return createPrivateKey(pem.reveal());
  } catch {
    throw new ConfigurationError(
      fullKey(key),
      `is not an unencrypted PEM private key; set it from a file: pulumi config set --secret ${key} -- "$(cat key.pem)"`,
    );
  }
}

/**
 * Which certificates the user supplied, or undefined when none. Throws on an
 * incomplete or inconsistent set, naming the missing or wrong key.
 */
export function checkSuppliedTls(
  input: SuppliedTlsInput,
  opts: { mutualTls: boolean; serverName: string; now?: Date },
): SuppliedTls | undefined {
  const { caCertPem, caKeyPem, serverCertPem, serverKeyPem } = input;
  if (caCertPem === "" && caKeyPem === undefined && serverCertPem === "" && serverKeyPem === undefined) {
    return undefined;
  }
  if (caCertPem === "") {
    throw new ConfigurationError(
      fullKey("tls.caCertPem"),
      "is required when any certificate is supplied: clients and Redis must know the CA that signed it. " +
        'Fix: pulumi config set tls.caCertPem -- "$(cat ca.pem)"',
    );
  }
  if ((serverCertPem === "") !== (serverKeyPem === undefined)) {
    const missing = serverCertPem === "" ? "tls.serverCertPem" : "tls.serverKeyPem";
    throw new ConfigurationError(
      fullKey(missing),
      "is required: a server certificate and its key are supplied together. " +
        "Fix: set both tls.serverCertPem and tls.serverKeyPem (the key with --secret), or neither",
    );
  }
  if (caKeyPem === undefined && serverCertPem === "") {
    throw new ConfigurationError(
      fullKey("tls.caKeyPem"),
      "is required when only tls.caCertPem is supplied: without it no server certificate can be issued. " +
        'Fix: pulumi config set --secret tls.caKeyPem -- "$(cat ca-key.pem)", or supply tls.serverCertPem and tls.serverKeyPem',
    );
  }
  if (caKeyPem === undefined && opts.mutualTls) {
    throw new ConfigurationError(
      fullKey("tls.caKeyPem"),
      "is required for mutual TLS: client certificates are issued from the CA. " +
        'Fix: pulumi config set --secret tls.caKeyPem -- "$(cat ca-key.pem)"',
    );
  }

  const now = opts.now ?? new Date();
  const ca = parseCertificate("tls.caCertPem", caCertPem);
  if (!ca.ca) {
    throw new ConfigurationError(
      fullKey("tls.caCertPem"),
      "is not a CA certificate (basicConstraints CA:FALSE)",
    );
  }
  if (new Date(ca.validTo).getTime() <= now.getTime()) {
    throw new ConfigurationError(fullKey("tls.caCertPem"), `expired on ${ca.validTo}; supply a current CA`);
  }
  const result: SuppliedTls = { caCertPem };
  if (caKeyPem !== undefined) {
    const caKey = parsePrivateKey("tls.caKeyPem", caKeyPem);
    if (!ca.checkPrivateKey(caKey)) {
      throw new ConfigurationError(
        fullKey("tls.caKeyPem"),
        "does not belong to the certificate in tls.caCertPem",
      );
    }
    result.caKeyPem = caKeyPem;
  }
  if (serverCertPem !== "" && serverKeyPem !== undefined) {
    const server = parseCertificate("tls.serverCertPem", serverCertPem);
    if (!server.checkIssued(ca) || !server.verify(ca.publicKey)) {
      throw new ConfigurationError(fullKey("tls.serverCertPem"), "was not issued by the CA in tls.caCertPem");
    }
    if (!server.checkPrivateKey(parsePrivateKey("tls.serverKeyPem", serverKeyPem))) {
      throw new ConfigurationError(
        fullKey("tls.serverKeyPem"),
        "does not belong to the certificate in tls.serverCertPem",
      );
    }
    if (server.checkHost(opts.serverName) === undefined) {
      throw new ConfigurationError(
        fullKey("tls.serverCertPem"),
        `does not name the Redis alias "${opts.serverName}" (clients verify it); issue it with DNS:${opts.serverName} in its subjectAltName`,
      );
    }
    if (
      new Date(server.validFrom).getTime() > now.getTime() ||
      new Date(server.validTo).getTime() <= now.getTime()
    ) {
      throw new ConfigurationError(
        fullKey("tls.serverCertPem"),
        `is not valid now (valid ${server.validFrom} to ${server.validTo}); supply a current certificate`,
      );
    }
    result.server = {
      certPem: serverCertPem,
      keyPem: serverKeyPem,
      expiresAt: new Date(server.validTo).toISOString(),
    };
  }
  return result;
}
