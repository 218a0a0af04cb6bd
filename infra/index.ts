/**
 * The Pulumi program: stack config → tier policy → secrets and TLS material
 * → networks → SecureRedis → Backend → outputs.
 *
 *   pulumi up --stack dev|staging|prod        (docs/deploy.md)
 *
 * Configuration errors stop the program before any resource is registered,
 * with a message that names the config key and the fix.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../lib/errors.js";
import { Backend } from "./backend.js";
import { ACL_USERS, BACKEND_ALIAS, REDIS_ALIAS, resolveConfig, type ResolvedConfig } from "./config.js";
import { BACKEND_FILES } from "./layout.js";
import { SecureNetworks } from "./network.js";
import { SecureRedis } from "./redis.js";
import { formatVersion } from "./redis-version.js";
import { StackSecrets } from "./secrets.js";
import { StackTls } from "./tls.js";

/**
 * Whether a config key was set with `--secret`. The SDK knows it (the CLI
 * passes the list in PULUMI_CONFIG_SECRET_KEYS) but exports the check only
 * from its runtime module's JavaScript, not its types; undefined when absent.
 */
function secretKeyCheck(): ((key: string) => boolean | undefined) | undefined {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  const check = runtime.isConfigSecret;
  return typeof check === "function" ? (key) => check(key) : undefined;
}

function loadConfig(): ResolvedConfig {
  try {
    return resolveConfig(
      { values: pulumi.runtime.allConfig(), isSecret: secretKeyCheck() },
      pulumi.getStack(),
    );
  } catch (error) {
    // RunError: the CLI prints the message alone, without a stack trace of the program.
    if (error instanceof ConfigurationError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

const config = loadConfig();
const { tier } = config;
const namePrefix = `secure-redis-${config.stack}`;
const labels = {
  "org.secure-redis.stack": config.stack,
  "org.secure-redis.tier": tier.environment,
};

const secrets = new StackSecrets(`${namePrefix}-secrets`, {
  tier,
  passwordGeneration: config.rotation.passwordGeneration,
  keyGeneration: config.rotation.keyGeneration,
  supplied: config.supplied,
});

const tls = config.tls.enabled
  ? new StackTls(`${namePrefix}-tls`, {
      stack: config.stack,
      policy: tier.certificate,
      generation: config.rotation.certificateGeneration,
      serverNames: { dnsNames: [REDIS_ALIAS, "localhost"], ipAddresses: ["127.0.0.1"] },
      mutual: config.tls.mutual,
      supplied: config.tls.supplied,
    })
  : undefined;

const networks = new SecureNetworks(`${namePrefix}-networks`, {
  namePrefix,
  isolatedGateway: config.network.isolatedGateway,
  labels,
});

const backendTls = tls === undefined ? undefined : { mutual: config.tls.mutual };
const backendFiles: Record<string, pulumi.Input<string>> = {
  [BACKEND_FILES.password]: secrets.passwords.app[0]!,
  [BACKEND_FILES.encryptionKeys]: pulumi.secret(
    pulumi.all(secrets.encryptionKeys).apply((keys) => keys.join(",")),
  ),
  [BACKEND_FILES.keyHashingSecret]: secrets.keyHashingSecret,
};
if (tls !== undefined) {
  backendFiles[BACKEND_FILES.ca] = tls.caCertPem;
  const app = tls.clients.app;
  if (config.tls.mutual && app !== undefined) {
    backendFiles[BACKEND_FILES.clientCert] = app.certPem;
    backendFiles[BACKEND_FILES.clientKey] = app.keyPem;
  }
}

const redis = new SecureRedis(`${namePrefix}-redis`, {
  namePrefix,
  image: config.redis.image,
  serverVersion: config.redis.serverVersion,
  user: config.redis.user,
  port: config.redis.port,
  memoryLimitMb: config.redis.memoryLimitMb,
  maxmemoryMb: config.redis.maxmemoryMb,
  evictionPolicy: config.redis.evictionPolicy,
  persistence: config.redis.persistence,
  keyNamespace: config.redis.keyNamespace,
  internalNetwork: networks.internal.name,
  alias: REDIS_ALIAS,
  tls:
    tls === undefined
      ? undefined
      : { mutual: config.tls.mutual, caCertPem: tls.caCertPem, server: tls.server, clients: tls.clients },
  passwords: secrets.passwords,
  clients: [{ name: "backend", owner: config.backend.user, files: backendFiles }],
  labels,
});

const backend = config.backend.enabled
  ? new Backend(`${namePrefix}-backend`, {
      namePrefix,
      image: config.backend.image,
      user: config.backend.user,
      port: config.backend.port,
      publish: config.backend.publish,
      memoryLimitMb: config.backend.memoryLimitMb,
      environment: tier.environment,
      redisUrl: redis.endpoint,
      redisUsername: "app",
      keyNamespace: config.redis.keyNamespace,
      tls: backendTls,
      secretsVolume: redis.clientVolumes.backend!.name,
      secretsRevision: redis.deliveryRevision,
      internalNetwork: networks.internal.name,
      edgeNetwork: networks.edge.name,
      alias: BACKEND_ALIAS,
      labels,
    })
  : undefined;

/** Where the backend answers: the published host URL, else its URL on the edge network. */
export const backendUrl =
  backend?.url ?? `disabled (backend.enabled=false); secrets volume: ${namePrefix}-backend-secrets`;
/** Where Redis answers: on the internal network only. */
export const redisEndpoint = redis.endpoint;
/** What this stack enforces, for review (no secret in it). */
export const securitySummary = {
  tier: tier.environment,
  redisImage: config.redis.image,
  redisVersion: formatVersion(config.redis.serverVersion),
  tls: config.tls.enabled,
  tlsProtocols: config.tls.enabled ? "TLSv1.2 TLSv1.3" : "none (development, tls.enabled=false)",
  mutualTls: config.tls.mutual,
  certificateExpiry: tls === undefined ? "no certificate (TLS off)" : tls.serverExpiresAt,
  certificateGeneration: config.rotation.certificateGeneration,
  aclUsers: [
    "default (off)",
    ...ACL_USERS.map((user) => (user === "app" ? `app (~${config.redis.keyNamespace}:*)` : user)),
  ],
  passwordGeneration: config.rotation.passwordGeneration,
  passwordsPerUser: secrets.passwords.app.length,
  passwordsSupplied: ACL_USERS.filter((user) => config.supplied.passwords[user] !== undefined),
  keyGeneration: config.rotation.keyGeneration,
  encryptionKeysInRing: secrets.encryptionKeys.length,
  encryptionKeysSupplied: config.supplied.encryptionKeys !== undefined,
  redisPublishedPorts: "none",
  redisNetworks: ["internal"],
  isolatedGateway: config.network.isolatedGateway,
  persistence: config.redis.persistence,
  memoryLimitMb: config.redis.memoryLimitMb,
  maxmemoryMb: config.redis.maxmemoryMb,
  evictionPolicy: config.redis.evictionPolicy,
  deliveryRevision: redis.deliveryRevision,
};

/** Secret outputs: read with `pulumi stack output --show-secrets <name>`. */
export const appPassword = secrets.passwords.app[0]!;
export const adminPassword = secrets.passwords.admin[0]!;
export const healthcheckPassword = secrets.passwords.healthcheck[0]!;
export const encryptionKeys = pulumi.secret(
  pulumi.all(secrets.encryptionKeys).apply((keys) => keys.join(",")),
);
export const keyHashingSecret = secrets.keyHashingSecret;
/** The rendered ACL (password hashes only; still kept secret). */
export const aclFile = redis.aclFile;
/** The CA certificate clients trust (public). */
export const tlsCaCertificate = tls === undefined ? "" : tls.caCertPem;
/** Mutual TLS: the client pair an operator presents (the backend's own is on its volume). */
export const operatorClientCertificate = tls?.clients.operator?.certPem ?? "";
export const operatorClientKey = tls?.clients.operator?.keyPem ?? pulumi.secret("");
