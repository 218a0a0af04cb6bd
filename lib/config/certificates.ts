/**
 * Certificate checks shared by the validator (files) and the audit (the
 * certificate a server presents): validity window against a tier's renewal
 * window, with `node:crypto`'s X509Certificate.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Finding } from "./findings.js";
import type { CertificatePolicy } from "./tiers.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text (a CA bundle may hold several). Throws on a malformed one. */
export function parseCertificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => new X509Certificate(block));
}

/**
 * Findings about one certificate's validity at `now`: expired (critical), not
 * yet valid (high), or expiring within `renewBeforeDays` (medium).
 * `label` says which certificate, e.g. "REDIS_TLS_CERT_FILE (/path)".
 */
export function certificateValidityFindings(
  cert: X509Certificate,
  label: string,
  policy: CertificatePolicy,
  now: number,
  idPrefix: string,
): Finding[] {
  const notAfter = Date.parse(cert.validTo);
  const notBefore = Date.parse(cert.validFrom);
  const subject = cert.subject.replace(/\n/g, ", ");
  if (notAfter <= now) {
    return [
      {
        id: `${idPrefix}.certificate-expired`,
        severity: "critical",
        message: `${label}: the certificate (${subject}) expired on ${isoDate(notAfter)}`,
        remediation: "Issue a new certificate and deploy it; clients that verify refuse an expired one.",
      },
    ];
  }
  if (notBefore > now) {
    return [
      {
        id: `${idPrefix}.certificate-not-yet-valid`,
        severity: "high",
        message: `${label}: the certificate (${subject}) is valid only from ${isoDate(notBefore)}`,
        remediation: "Check the clock of the machine that issued it, or wait until it becomes valid.",
      },
    ];
  }
  const daysLeft = Math.floor((notAfter - now) / DAY_MS);
  if (daysLeft < policy.renewBeforeDays) {
    return [
      {
        id: `${idPrefix}.certificate-expiring`,
        severity: "medium",
        message: `${label}: the certificate (${subject}) expires on ${isoDate(notAfter)}, in ${daysLeft} days (renew within ${policy.renewBeforeDays})`,
        remediation: "Renew the certificate now and deploy it before it expires.",
      },
    ];
  }
  return [];
}

/** Whether `keyPem` is the private key of `cert`. Throws when the key does not parse. */
export function keyMatchesCertificate(cert: X509Certificate, keyPem: string): boolean {
  return cert.checkPrivateKey(createPrivateKey(keyPem));
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
