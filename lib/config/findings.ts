/**
 * The one shape of a security finding, shared by the configuration
 * validator and the live audit, and the one scoring formula.
 *
 * Score (documented in docs/validator.md):
 *
 *   score = max(0, 100 - sum of SEVERITY_PENALTY[finding.severity])
 *
 * computed after every check has run, over the complete list of findings.
 * It depends on nothing but the findings, so the same input always gives
 * the same score.
 */

export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Points a finding of each severity costs. One critical can never pass any tier; one high fails production and staging. */
export const SEVERITY_PENALTY: Readonly<Record<Severity, number>> = {
  critical: 40,
  high: 20,
  medium: 5,
  low: 1,
  info: 0,
};

export interface Finding {
  /** Stable identifier (e.g. "tls.plaintext-url"): tooling may match on it; it never changes meaning. */
  id: string;
  severity: Severity;
  /** What is wrong, naming the setting or server property. Never a secret value. */
  message: string;
  /** What to do about it. */
  remediation: string;
}

/** The score of a complete list of findings (see the module comment). */
export function scoreFindings(findings: readonly Finding[]): number {
  const penalty = findings.reduce((sum, finding) => sum + SEVERITY_PENALTY[finding.severity], 0);
  return Math.max(0, 100 - penalty);
}

/** Most severe first, then by id, then by message: a stable order for output and comparison. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
      compareStrings(a.id, b.id) ||
      compareStrings(a.message, b.message),
  );
}

/** How many findings of each severity. */
export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const finding of findings) counts[finding.severity]++;
  return counts;
}

export function hasCritical(findings: readonly Finding[]): boolean {
  return findings.some((finding) => finding.severity === "critical");
}

/** Code-unit order, independent of the locale the process runs in. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
