/**
 * Runs the real program entry (infra/index.ts) under `pulumi.runtime.setMocks`
 * for a stack, the way the CLI would: project defaults from Pulumi.yaml, then
 * the stack file's config, then a test's overrides, all as the string values
 * the CLI passes. Each run re-evaluates the program (`vi.resetModules` +
 * dynamic import), so one test file can run several configurations, e.g.
 * generation n and n+1 of a rotation.
 *
 * The mocks behave like the providers where it matters:
 * - random and TLS resources return realistic values, as Pulumi secrets,
 *   each containing a canary string (`CANARY`) that tests search for in
 *   places no secret may appear;
 * - a resource's id is a hash of its inputs, so anything that consumes an id
 *   sees a change exactly when the provider would replace the resource;
 * - containers started with `attach` report exit code 0, as the Docker
 *   provider does after a successful run.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { parse } from "yaml";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const STACKS = ["dev", "staging", "prod"] as const;
export type StackName = (typeof STACKS)[number];

/** Marks every mock secret; no secret may show up where this string is searched for. */
export const CANARY = "CANARY";

export interface RecordedResource {
  type: string;
  name: string;
  id: string;
  /** Inputs as the engine receives them; secret values are wrapped (see `isSecretValue`). */
  inputs: Record<string, unknown>;
}

export interface ProgramRun {
  stack: StackName;
  resources: RecordedResource[];
  /** Every exported output, resolved. */
  outputs: Record<string, unknown>;
  /** Whether each exported output is a Pulumi secret. */
  outputIsSecret: Record<string, boolean>;
  /** Every secret value the mocks produced (passwords, keys, private keys). */
  secrets: string[];
}

export interface RunOptions {
  /** Config overrides, keys without the namespace (`rotation.passwordGeneration`). */
  config?: Record<string, string>;
  /** Keys (without namespace) of `config` that are set as secrets. */
  secretKeys?: string[];
  /** Run as `pulumi preview` (unknown ids and outputs). */
  preview?: boolean;
}

type YamlScalar = string | number | boolean;

function readYaml(path: string): Record<string, unknown> {
  return parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/** The project's config schema: full key → { type, default, description }. */
export function projectConfigSchema(): Record<
  string,
  { type: string; default: YamlScalar; description: string }
> {
  const project = readYaml(`${ROOT}/Pulumi.yaml`);
  return project.config as Record<string, { type: string; default: YamlScalar; description: string }>;
}

/** A stack file's config section: full key → value. */
export function stackFileConfig(stack: StackName): Record<string, unknown> {
  const file = readYaml(`${ROOT}/Pulumi.${stack}.yaml`);
  return (file.config ?? {}) as Record<string, unknown>;
}

/** The config map the CLI hands the program: project defaults, overlaid by the stack file, as strings. */
export function cliConfig(stack: StackName, overrides: Record<string, string> = {}): Record<string, string> {
  const config: Record<string, string> = {};
  for (const [key, spec] of Object.entries(projectConfigSchema())) config[key] = String(spec.default);
  for (const [key, value] of Object.entries(stackFileConfig(stack))) {
    if (typeof value === "object" && value !== null)
      throw new Error(`${key}: the harness cannot decrypt secure values`);
    config[key] = String(value);
  }
  for (const [key, value] of Object.entries(overrides)) config[`secure-redis:${key}`] = value;
  return config;
}

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

/** A password of `length` characters from the URL-safe alphabet, one of each class, with the canary inside. */
function mockPassword(name: string, length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";
  const digest = createHash("sha512").update(name).digest();
  let body = "";
  for (let i = 0; body.length < length; i++) body += alphabet[digest[i % digest.length]! % alphabet.length];
  return `aZ9-${CANARY}${body}`.slice(0, length);
}

function mockCertificate(label: string): string {
  const body = Buffer.from(`mock certificate ${label}`).toString("base64");
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** True for a value the engine received as a secret. */
export function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** The value inside a secret wrapper (or the value itself). */
export function unwrap<T = unknown>(value: unknown): T {
  return (isSecretValue(value) ? value.value : value) as T;
}

let latestResources: readonly RecordedResource[] = [];

/** The resources the latest run registered (also when it failed). */
export function latestRegistrations(): readonly RecordedResource[] {
  return latestResources;
}

export async function runProgram(stack: StackName, options: RunOptions = {}): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  latestResources = resources;
  const secrets: string[] = [];
  const secret = (value: string): pulumi.Output<string> => {
    secrets.push(value);
    return pulumi.secret(value);
  };

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        // Inputs are plain data here; a stable hash of them stands for "the provider's view".
        const inputs = args.inputs as Record<string, unknown>;
        const id = `${args.name}-${sha(JSON.stringify(inputs)).slice(0, 12)}`;
        resources.push({ type: args.type, name: args.name, id, inputs });
        const hours = Number(unwrap(inputs.validityPeriodHours) ?? 0);
        const expires = new Date(Date.UTC(2030, 0, 1) + hours * 3_600_000).toISOString();
        switch (args.type) {
          case "random:index/randomPassword:RandomPassword": {
            const result = mockPassword(args.name, Number(inputs.length));
            return {
              id,
              state: {
                ...inputs,
                result: secret(result),
                bcryptHash: secret(`$2a$10$${CANARY}${sha(result)}`),
              },
            };
          }
          case "random:index/randomBytes:RandomBytes": {
            const bytes = createHash("sha256").update(`${CANARY}:${args.name}`).digest();
            secrets.push(bytes.toString("base64url"));
            return {
              id,
              state: {
                ...inputs,
                base64: secret(bytes.toString("base64")),
                hex: secret(bytes.toString("hex")),
              },
            };
          }
          case "tls:index/privateKey:PrivateKey": {
            const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
            const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
            return {
              id,
              state: {
                ...inputs,
                privateKeyPem: secret(pem),
                publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
              },
            };
          }
          case "tls:index/selfSignedCert:SelfSignedCert":
          case "tls:index/locallySignedCert:LocallySignedCert":
            return {
              id,
              state: {
                ...inputs,
                certPem: mockCertificate(args.name),
                validityEndTime: expires,
                readyForRenewal: false,
              },
            };
          case "tls:index/certRequest:CertRequest":
            return {
              id,
              state: {
                ...inputs,
                certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${args.name}\n-----END CERTIFICATE REQUEST-----\n`,
              },
            };
          case "docker:index/remoteImage:RemoteImage":
            return {
              id,
              state: { ...inputs, imageId: `sha256:${sha(String(inputs.name))}`, repoDigest: "" },
            };
          case "docker:index/container:Container":
            return {
              id,
              state: {
                ...inputs,
                name: inputs.name ?? `${args.name}-${id.slice(-7)}`,
                ...(inputs.attach === true
                  ? { exitCode: 0, containerLogs: "secure-redis configurator: installed\n" }
                  : {}),
              },
            };
          default:
            return { id, state: { ...inputs, name: inputs.name ?? args.name } };
        }
      },
      call(args) {
        return args.inputs as Record<string, unknown>;
      },
    },
    "secure-redis",
    stack,
    options.preview ?? false,
  );
  const config = cliConfig(stack, options.config);
  pulumi.runtime.setAllConfig(
    config,
    (options.secretKeys ?? []).map((key) => `secure-redis:${key}`),
  );

  vi.resetModules();
  const program = (await import("../../infra/index.js")) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  const outputIsSecret: Record<string, boolean> = {};
  for (const [name, exported] of Object.entries(program)) {
    // Outputs of any shape; awaited as unknown.
    const output = pulumi.output(exported as pulumi.Input<string>) as pulumi.Output<unknown>;
    outputs[name] = await new Promise((resolve) => output.apply(resolve));
    outputIsSecret[name] = await pulumi.isSecret(output);
  }
  await settled(resources);
  return { stack, resources, outputs, outputIsSecret, secrets };
}

/** Waits until no resource registration arrived for a few turns of the event loop. */
async function settled(resources: readonly unknown[]): Promise<void> {
  let seen = -1;
  for (let quiet = 0; quiet < 5;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (resources.length === seen) quiet++;
    else {
      seen = resources.length;
      quiet = 0;
    }
  }
}

/** Runs the program expecting it to fail; returns the error. */
export async function programError(stack: StackName, options: RunOptions = {}): Promise<Error> {
  try {
    await runProgram(stack, options);
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`non-Error thrown: ${String(error)}`, { cause: error });
  }
  throw new Error("expected the program to fail");
}

export function resourcesOfType(run: ProgramRun, type: string): RecordedResource[] {
  return run.resources.filter((resource) => resource.type === type);
}

export function resourceNamed(run: ProgramRun, name: string): RecordedResource {
  const found = run.resources.find((resource) => resource.name === name);
  if (found === undefined)
    throw new Error(`no resource named ${name}; have: ${run.resources.map((r) => r.name).join(", ")}`);
  return found;
}

export const CONTAINER = "docker:index/container:Container";

export function redisContainer(run: ProgramRun): RecordedResource {
  return resourceNamed(run, `secure-redis-${run.stack}-redis-server`);
}

export function configurator(run: ProgramRun): RecordedResource {
  return resourceNamed(run, `secure-redis-${run.stack}-redis-configurator`);
}

export function backendContainer(run: ProgramRun): RecordedResource {
  return resourceNamed(run, `secure-redis-${run.stack}-backend-server`);
}

/** The configurator's uploads as path → { content, secret }. */
/**
 * The configurator's uploads as path → content. (The engine marks the whole
 * `uploads` property secret when any content is; `uploadsAreSecret` says so.)
 */
export function uploadedFiles(run: ProgramRun): Map<string, { content: string; permissions: unknown }> {
  const uploads = unwrap<Array<Record<string, unknown>>>(configurator(run).inputs.uploads) ?? [];
  return new Map(
    uploads.map((upload) => [
      String(upload.file),
      { content: String(unwrap(upload.content)), permissions: upload.permissions },
    ]),
  );
}

export function uploadsAreSecret(run: ProgramRun): boolean {
  return isSecretValue(configurator(run).inputs.uploads);
}

/** One delivered file's content, by target (`redis`, `backend`, `operator`) and name. */
export function deliveredFile(run: ProgramRun, target: string, file: string): string {
  const found = uploadedFiles(run).get(`/run/secure-redis-inbox/${target}/${file}`);
  if (found === undefined) throw new Error(`no delivered file ${target}/${file}`);
  return found.content;
}
