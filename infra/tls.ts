/**
 * TLS material for a stack: a CA, a server certificate for the Redis alias,
 * and, under mutual TLS, client certificates for the backend (`app`), the
 * container healthcheck and the configuration container (`operator`).
 * Lifetimes and early renewal come from the tier table; `pulumi up` after the
 * early-renewal point re-issues a certificate, and the configuration
 * container hands it to the running Redis (`CONFIG SET tls-*`), so a renewal
 * replaces no Redis container. `rotation.certificateGeneration` forces a new
 * key and certificate before then.
 *
 * A user may bring the CA (and the program issues from it) or the server
 * certificate too (see supplied-tls.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { CertificatePolicy } from "../lib/config/tiers.js";
import type { SuppliedTls } from "./supplied-tls.js";

export type ClientRole = "app" | "healthcheck" | "operator";
export const CLIENT_ROLES: readonly ClientRole[] = ["app", "healthcheck", "operator"];

const HOURS_PER_DAY = 24;

/** Validity and early renewal of leaf certificates, in hours, from the tier. */
export function leafLifetime(policy: CertificatePolicy): {
  validityPeriodHours: number;
  earlyRenewalHours: number;
} {
  return {
    validityPeriodHours: policy.validityDays * HOURS_PER_DAY,
    earlyRenewalHours: policy.renewBeforeDays * HOURS_PER_DAY,
  };
}

/**
 * The CA's validity and early renewal, in hours. The CA is renewed while a
 * full leaf lifetime remains, so no leaf it signs can outlive it.
 */
export function caLifetime(policy: CertificatePolicy): {
  validityPeriodHours: number;
  earlyRenewalHours: number;
} {
  return {
    validityPeriodHours: policy.caValidityDays * HOURS_PER_DAY,
    earlyRenewalHours: policy.validityDays * HOURS_PER_DAY,
  };
}

/** ECDSA P-256: what every TLS 1.2/1.3 client supports, with small keys and fast handshakes. */
const KEY_ALGORITHM = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

export interface CertificateNames {
  dnsNames: string[];
  ipAddresses: string[];
}

export interface KeyPair {
  certPem: pulumi.Output<string>;
  /** Always a Pulumi secret. */
  keyPem: pulumi.Output<string>;
}

export interface StackTlsArgs {
  /** Stack name, for certificate subjects. */
  stack: string;
  policy: CertificatePolicy;
  /** Raised by one to issue new server and client keys and certificates now. */
  generation: number;
  /** Names clients verify: the Redis alias, plus loopback for the in-container healthcheck. */
  serverNames: CertificateNames;
  /** Issue client certificates (mutual TLS). */
  mutual: boolean;
  /** Certificates the user brought, if any. */
  supplied: SuppliedTls | undefined;
}

export class StackTls extends pulumi.ComponentResource {
  /** The CA certificate clients and Redis trust (public). */
  readonly caCertPem: pulumi.Output<string>;
  readonly server: KeyPair;
  /** When the server certificate expires (RFC 3339). */
  readonly serverExpiresAt: pulumi.Output<string>;
  /** Client certificates under mutual TLS, by role. */
  readonly clients: Readonly<Partial<Record<ClientRole, KeyPair>>>;

  constructor(name: string, args: StackTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-redis:tls:StackTls", name, {}, opts);
    const parent = { parent: this };
    const leaf = leafLifetime(args.policy);
    const generation = `g${args.generation}`;
    const organization = "secure-redis";

    let caCertPem: pulumi.Output<string>;
    let caKeyPem: pulumi.Output<string> | undefined;
    if (args.supplied === undefined) {
      const caKey = new tls.PrivateKey(`${name}-ca-key`, KEY_ALGORITHM, parent);
      const ca = new tls.SelfSignedCert(
        `${name}-ca`,
        {
          privateKeyPem: caKey.privateKeyPem,
          isCaCertificate: true,
          ...caLifetime(args.policy),
          allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
          subject: { organization, commonName: `secure-redis ${args.stack} CA` },
        },
        parent,
      );
      caCertPem = ca.certPem;
      caKeyPem = pulumi.secret(caKey.privateKeyPem);
    } else {
      caCertPem = pulumi.output(args.supplied.caCertPem);
      caKeyPem =
        args.supplied.caKeyPem === undefined ? undefined : pulumi.secret(args.supplied.caKeyPem.reveal());
    }
    this.caCertPem = caCertPem;

    const issue = (
      role: string,
      uses: string[],
      names: CertificateNames | undefined,
    ): KeyPair & { expiresAt: pulumi.Output<string> } => {
      if (caKeyPem === undefined) {
        // supplied-tls.ts refuses configurations that reach this.
        throw new Error(`cannot issue the ${role} certificate without the CA key`);
      }
      const key = new tls.PrivateKey(`${name}-${role}-key-${generation}`, KEY_ALGORITHM, parent);
      const request = new tls.CertRequest(
        `${name}-${role}-csr-${generation}`,
        {
          privateKeyPem: key.privateKeyPem,
          subject: { organization, commonName: names?.dnsNames[0] ?? `${role}.${args.stack}.secure-redis` },
          dnsNames: names?.dnsNames ?? [],
          ipAddresses: names?.ipAddresses ?? [],
        },
        parent,
      );
      const cert = new tls.LocallySignedCert(
        `${name}-${role}-cert-${generation}`,
        {
          certRequestPem: request.certRequestPem,
          caCertPem,
          caPrivateKeyPem: caKeyPem,
          ...leaf,
          allowedUses: uses,
        },
        parent,
      );
      return {
        certPem: cert.certPem,
        keyPem: pulumi.secret(key.privateKeyPem),
        expiresAt: cert.validityEndTime,
      };
    };

    const suppliedServer = args.supplied?.server;
    if (suppliedServer !== undefined) {
      this.server = {
        certPem: pulumi.output(suppliedServer.certPem),
        keyPem: pulumi.secret(suppliedServer.keyPem.reveal()),
      };
      this.serverExpiresAt = pulumi.output(suppliedServer.expiresAt);
    } else {
      const server = issue(
        "server",
        ["digital_signature", "key_encipherment", "server_auth"],
        args.serverNames,
      );
      this.server = { certPem: server.certPem, keyPem: server.keyPem };
      this.serverExpiresAt = server.expiresAt;
    }

    const clients: Partial<Record<ClientRole, KeyPair>> = {};
    if (args.mutual) {
      for (const role of CLIENT_ROLES) {
        const client = issue(`${role}-client`, ["digital_signature", "client_auth"], undefined);
        clients[role] = { certPem: client.certPem, keyPem: client.keyPem };
      }
    }
    this.clients = clients;
    this.registerOutputs({ caCertPem: this.caCertPem, serverExpiresAt: this.serverExpiresAt });
  }
}
