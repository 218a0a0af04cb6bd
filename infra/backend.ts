/**
 * Backend: the reference service that uses Redis the way a team's app would.
 * It sits on both networks (internal to reach Redis, edge to be reached),
 * gets where Redis is (`REDIS_URL`, `REDIS_USERNAME`) as environment values,
 * and every secret as a file on a read-only volume (mode 0400, owned by its
 * user), named by `*_FILE` variables: never a secret in `envs` or `command`,
 * which `docker inspect` and `ps` show.
 *
 * The secrets volume is written by SecureRedis's configuration container
 * after Redis accepted the new generation; the backend's
 * `SECURE_REDIS_SECRETS_REVISION` follows each delivery, so a rotation
 * restarts the backend onto the new password and key ring (replacing the
 * backend is fine: it holds no state).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../lib/config/tiers.js";
import type { BackendPublish, UserAndGroup } from "./config.js";
import { hardening, scratchTmpfs, type HardeningSpec } from "./container-hardening.js";
import { BACKEND_FILES, BACKEND_SECRETS_DIR, livePath } from "./layout.js";
import { toDockerLabels } from "./network.js";

export interface BackendArgs {
  /** Prefix of Docker object names, e.g. `secure-redis-dev`. */
  namePrefix: string;
  /** The backend image (built from backend/Dockerfile). */
  image: string;
  /** Non-root uid:gid of the image's service user; owns the secret files. */
  user: UserAndGroup;
  /** The port the service listens on inside the container. */
  port: number;
  /** Publish the port on the host at this address, or undefined to keep it on the edge network. */
  publish: BackendPublish | undefined;
  memoryLimitMb: number;
  environment: Environment;
  /** `rediss://redis:6379`: no credentials in it. */
  redisUrl: string;
  /** The ACL user the backend logs in as. */
  redisUsername: string;
  /** The app user's key namespace (`<namespace>:*`). */
  keyNamespace: string;
  /** TLS towards Redis: the CA file is delivered; under mutual TLS the client pair too. */
  tls: { mutual: boolean } | undefined;
  /** The secrets volume SecureRedis writes (mounted read-only). */
  secretsVolume: pulumi.Input<string>;
  /** Changes on every delivery of new secrets; restarts the backend onto them. */
  secretsRevision: pulumi.Input<string>;
  /** Network names: internal (Redis) and edge (published side). */
  internalNetwork: pulumi.Input<string>;
  edgeNetwork: pulumi.Input<string>;
  /** The backend's alias on the edge network. */
  alias: string;
  labels: Readonly<Record<string, string>>;
}

/** Environment values: locations and names only, every secret by `*_FILE` path. */
export function backendEnvironment(
  args: Pick<BackendArgs, "environment" | "port" | "redisUrl" | "redisUsername" | "keyNamespace" | "tls">,
): string[] {
  const file = (name: string): string => livePath(BACKEND_SECRETS_DIR, name);
  const env: Record<string, string> = {
    NODE_ENV: "production",
    SECURE_REDIS_ENV: args.environment, // read by loadSettings/detectEnvironment; it outranks NODE_ENV
    PORT: String(args.port),
    REDIS_URL: args.redisUrl,
    REDIS_USERNAME: args.redisUsername,
    REDIS_KEY_NAMESPACE: args.keyNamespace,
    REDIS_PASSWORD_FILE: file(BACKEND_FILES.password),
    REDIS_ENCRYPTION_KEYS_FILE: file(BACKEND_FILES.encryptionKeys),
    REDIS_CACHE_KEY_SECRET_FILE: file(BACKEND_FILES.keyHashingSecret),
  };
  if (args.tls !== undefined) env.REDIS_TLS_CA_FILE = file(BACKEND_FILES.ca);
  if (args.tls?.mutual === true) {
    env.REDIS_TLS_CERT_FILE = file(BACKEND_FILES.clientCert);
    env.REDIS_TLS_KEY_FILE = file(BACKEND_FILES.clientKey);
  }
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}

/** The backend's healthcheck: its own /healthz over loopback, with the Node binary the image runs. */
export function backendHealthcheckTest(port: number): string[] {
  return [
    "CMD",
    "node",
    "-e",
    `fetch("http://127.0.0.1:${port}/healthz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
  ];
}

export interface BackendContainerSpec extends HardeningSpec {
  tmpfs: Record<string, string>;
  healthcheck: { tests: string[]; interval: string; timeout: string; retries: number; startPeriod: string };
  ports: { internal: number; external: number; ip: string; protocol: string }[];
}

export function backendContainerSpec(
  args: Pick<BackendArgs, "user" | "memoryLimitMb" | "port" | "publish">,
): BackendContainerSpec {
  return {
    ...hardening(args.user, args.memoryLimitMb),
    tmpfs: { "/tmp": scratchTmpfs(32) },
    healthcheck: {
      tests: backendHealthcheckTest(args.port),
      interval: "15s",
      timeout: "5s",
      retries: 3,
      startPeriod: "15s",
    },
    ports:
      args.publish === undefined
        ? []
        : [
            {
              internal: args.port,
              external: args.publish.hostPort,
              ip: args.publish.address,
              protocol: "tcp",
            },
          ],
  };
}

export class Backend extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** How to reach the service: the published host URL, else its URL on the edge network. */
  readonly url: string;

  constructor(name: string, args: BackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-redis:backend:Backend", name, {}, opts);
    if (!/^rediss?:\/\/[^@/]+$/.test(args.redisUrl)) {
      // Credentials in the URL would put a secret into `envs`.
      throw new Error(`Backend ${name}: redisUrl must be scheme://host:port without credentials`);
    }
    const parent = { parent: this };
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, parent);
    const spec = backendContainerSpec(args);
    this.container = new docker.Container(
      `${name}-server`,
      {
        // A published port can be bound by one container only, so a published backend has a
        // fixed name and is replaced by deleting first; otherwise the new container starts
        // before the old one stops and a rotation leaves no gap.
        name: args.publish === undefined ? undefined : `${args.namePrefix}-backend`,
        image: image.imageId,
        ...spec,
        envs: pulumi
          .output(args.secretsRevision)
          .apply((revision) => [...backendEnvironment(args), `SECURE_REDIS_SECRETS_REVISION=${revision}`]),
        mounts: [{ type: "volume", source: args.secretsVolume, target: BACKEND_SECRETS_DIR, readOnly: true }],
        networksAdvanced: [{ name: args.internalNetwork }, { name: args.edgeNetwork, aliases: [args.alias] }],
        labels: toDockerLabels({ ...args.labels, "org.secure-redis.role": "backend" }),
        destroyGraceSeconds: 10,
      },
      {
        ...parent,
        replaceOnChanges: ["healthcheck", "tmpfs"],
        deleteBeforeReplace: args.publish !== undefined,
      },
    );
    this.url =
      args.publish === undefined
        ? `http://${args.alias}:${args.port} (edge network only)`
        : `http://${args.publish.address.includes(":") ? `[${args.publish.address}]` : args.publish.address}:${args.publish.hostPort}`;
    this.registerOutputs({ container: this.container.name, url: this.url });
  }
}
