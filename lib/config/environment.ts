/**
 * Which environment (tier) a process runs in, from environment variables only.
 *
 * Rules (docs/configuration.md, "Environment detection"):
 * - `SECURE_REDIS_ENV` is an explicit choice and wins outright (confidence 1).
 * - Otherwise `APP_ENV`, `ENVIRONMENT`, `NODE_ENV`, `DEPLOYMENT_ENV` are
 *   signals, in that priority, each with a weight. The highest-priority
 *   recognised signal names the environment; the confidence is its weight
 *   times the share of all signal weight that agrees with it, so a
 *   conflicting (or unrecognisable) signal lowers it.
 * - No signal, or a confidence below `MIN_DETECTION_CONFIDENCE`, gives
 *   "unknown, treated as production": guessing development wrongly turns
 *   security off, guessing production wrongly only asks for configuration.
 * - Files such as `.git` or `.env` are not signals: a production image may
 *   well contain them, and a laptop may lack them.
 */
import { ENVIRONMENTS, MIN_DETECTION_CONFIDENCE, type Environment } from "./tiers.js";

/** The explicit variable; it alone is enough. */
export const EXPLICIT_ENVIRONMENT_VARIABLE = "SECURE_REDIS_ENV";

/**
 * The implicit signals, highest priority first, with their weight: how far
 * a value there, alone, is trusted. NODE_ENV is lower than the app-level
 * variables because build tooling sets it to "production" for any optimised
 * build, staging included.
 */
export const ENVIRONMENT_SIGNALS = [
  { variable: "APP_ENV", weight: 0.95 },
  { variable: "ENVIRONMENT", weight: 0.9 },
  { variable: "NODE_ENV", weight: 0.8 },
  { variable: "DEPLOYMENT_ENV", weight: 0.75 },
] as const;

/** Spellings seen in the wild, by tier. `preprod` is staging: it is not where real users are. */
const ALIASES: Readonly<Record<Environment, readonly string[]>> = {
  development: ["development", "dev", "develop", "local"],
  testing: ["testing", "test", "tests", "ci"],
  staging: ["staging", "stage", "stg", "preprod", "pre-prod", "preproduction", "pre-production", "uat"],
  production: ["production", "prod", "prd", "live"],
};

const BY_ALIAS = new Map<string, Environment>(
  ENVIRONMENTS.flatMap((env) => ALIASES[env].map((alias) => [alias, env] as [string, Environment])),
);

/** The tier a value names (case and surrounding blanks ignored), or undefined. */
export function parseEnvironmentName(value: string): Environment | undefined {
  return BY_ALIAS.get(value.trim().toLowerCase());
}

export interface EnvironmentSignal {
  /** The variable read. */
  variable: string;
  /** Its value (environment names are not secrets). */
  value: string;
  /** The tier it names, or null when the value names none. */
  environment: Environment | null;
  /** Trust in this signal alone (1 for the explicit variable). */
  weight: number;
}

export interface EnvironmentDetection {
  /** The tier whose policy applies: the detected one, or production when unknown. */
  environment: Environment;
  /** What was detected; "unknown" when nothing or nothing trustworthy was. */
  detected: Environment | "unknown";
  /** 0 to 1; below `MIN_DETECTION_CONFIDENCE` the result is "unknown". */
  confidence: number;
  /** Every signal read, in priority order. */
  signals: EnvironmentSignal[];
  /** One line for logs, e.g. "staging (APP_ENV=preprod, confidence 0.95)". */
  summary: string;
}

/** Detects the environment from `env`. Pure: reads nothing but the object it is given. */
export function detectEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentDetection {
  const explicit = env[EXPLICIT_ENVIRONMENT_VARIABLE]?.trim();
  if (explicit !== undefined && explicit !== "") {
    const named = parseEnvironmentName(explicit) ?? null;
    const signal = {
      variable: EXPLICIT_ENVIRONMENT_VARIABLE,
      value: explicit,
      environment: named,
      weight: 1,
    };
    // An explicit but unrecognisable choice is not overridden by weaker signals: it is unknown.
    return named === null
      ? unknown([signal], 0, `${EXPLICIT_ENVIRONMENT_VARIABLE}=${explicit} names no environment`)
      : known(named, 1, [signal]);
  }

  const signals: EnvironmentSignal[] = [];
  for (const { variable, weight } of ENVIRONMENT_SIGNALS) {
    const value = env[variable]?.trim();
    if (value === undefined || value === "") continue;
    signals.push({ variable, value, environment: parseEnvironmentName(value) ?? null, weight });
  }
  const leader = signals.find((signal) => signal.environment !== null);
  if (leader === undefined || leader.environment === null) {
    return unknown(signals, 0, signals.length === 0 ? "no signal" : "no signal names an environment");
  }
  const total = signals.reduce((sum, signal) => sum + signal.weight, 0);
  const agreeing = signals
    .filter((signal) => signal.environment === leader.environment)
    .reduce((sum, signal) => sum + signal.weight, 0);
  const confidence = leader.weight * (agreeing / total);
  // Compared unrounded: 0.695 must not pass a 0.7 threshold by rounding.
  if (confidence < MIN_DETECTION_CONFIDENCE) {
    return unknown(signals, round(confidence), "signals disagree");
  }
  return known(leader.environment, round(confidence), signals);
}

function known(
  environment: Environment,
  confidence: number,
  signals: EnvironmentSignal[],
): EnvironmentDetection {
  const used = signals
    .filter((signal) => signal.environment === environment)
    .map((signal) => `${signal.variable}=${signal.value}`)
    .join(", ");
  return {
    environment,
    detected: environment,
    confidence,
    signals,
    summary: `${environment} (${used}, confidence ${confidence.toFixed(2)})`,
  };
}

function unknown(signals: EnvironmentSignal[], confidence: number, why: string): EnvironmentDetection {
  const seen = signals.map((signal) => `${signal.variable}=${signal.value}`).join(", ");
  return {
    environment: "production",
    detected: "unknown",
    confidence,
    signals,
    summary: `unknown, treated as production (${why}${seen === "" ? "" : `: ${seen}`}; set ${EXPLICIT_ENVIRONMENT_VARIABLE})`,
  };
}

/** Two decimals: confidences are compared with a threshold and shown to people, not used in arithmetic. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
