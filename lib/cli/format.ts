/** Text rendering of findings for the terminal (JSON output needs none: findings are plain data). */
import { countBySeverity, SEVERITIES, type Finding } from "../config/findings.js";

export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return "  no findings\n";
  return findings
    .map(
      (finding) =>
        `  ${finding.severity.toUpperCase().padEnd(8)} ${finding.id}\n` +
        `           ${finding.message}\n` +
        `           fix: ${finding.remediation}\n`,
    )
    .join("");
}

/** "1 critical, 2 high, 1 info" (severities with no finding left out). */
export function summarizeFindings(findings: readonly Finding[]): string {
  const counts = countBySeverity(findings);
  const parts = SEVERITIES.filter((severity) => counts[severity] > 0).map(
    (severity) => `${counts[severity]} ${severity}`,
  );
  return parts.length === 0 ? "no findings" : parts.join(", ");
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
