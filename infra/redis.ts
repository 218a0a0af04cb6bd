/**
 * SecureRedis: a Redis that only its internal network reaches, that speaks
 * TLS only (where TLS is on), that accepts only named ACL users, that runs
 * hardened, and whose secrets rotate without replacing its container.
 *
 * Resources (children named from the component's name):
 *   <name>-image          the Redis image (kept locally on destroy)
 *   <name>-config         volume with the ACL file, TLS material and the
 *                         healthcheck password, mounted read-only into Redis
 *   <name>-data           volume for snapshots (only when persistence is on)
 *   <name>-<client>-secrets  one volume per client (the backend) for its files
 *   <name>-configurator   short-lived container that writes those volumes and
 *                         applies the new users and certificates to the
 *                         running Redis in place (configurator.ts)
 *   <name>-server         the Redis container itself
 *
 * The Redis container's inputs contain no secret and nothing that changes
 * on a rotation: rotating passwords, keys or certificates replaces only the
 * configurator (its `uploads` change), which updates the running Redis
 * (`ACL SETUSER`, `CONFIG SET tls-*`) without a restart or a dropped client.
 * Pure renderers (ACL, server arguments, healthcheck, script, container spec)
 * live in their own modules and are tested without Pulumi.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { RedisPersistence } from "../lib/config/tiers.js";
import { aclPasswordHash, renderAclFile } from "./acl.js";
import type { AclUser, EvictionPolicy, UserAndGroup } from "./config.js";
import { renderConfiguratorScript, type ConfiguratorPlan, type DeliveryTarget } from "./configurator.js";
import { hardening, scratchTmpfs, type HardeningSpec } from "./container-hardening.js";
import { HEALTHCHECK_TIMING, renderHealthcheckTest } from "./healthcheck.js";
import {
  CONFIGURATOR_INBOX,
  CONFIGURATOR_VOLUMES,
  OPERATOR_FILES,
  REDIS_FILES,
  REDIS_SECRETS_DIR,
  livePath,
} from "./layout.js";
import { toDockerLabels } from "./network.js";
import { renderRedisServerCommand } from "./redis-server-args.js";
import type { RedisVersion } from "./redis-version.js";
import type { ClientRole, KeyPair } from "./tls.js";

/** Where Redis keeps snapshots (the official images' working directory). */
export const REDIS_DATA_DIR = "/data";
/** The configuration container's view of the Redis volume: `<volumes root>/redis`. */
const SERVER_TARGET = "redis";
const OPERATOR_TARGET = "operator";
/** Each redis-cli call of the configurator gives up after this long. */
const CONFIGURATOR_COMMAND_TIMEOUT_SECONDS = 20;
/** 15 tries 2 s apart: a Redis restart (or replacement) in progress gets half a minute. */
const CONFIGURATOR_REACH_ATTEMPTS = 15;
/** The configurator does little: copy files, run redis-cli a few times. */
const CONFIGURATOR_MEMORY_MB = 64;
/** Time Redis gets to finish a snapshot when it is stopped. */
const STOP_GRACE_SECONDS = 30;
/** How long `pulumi up` waits for a new Redis container to become healthy. */
const HEALTHY_TIMEOUT_SECONDS = 120;

export interface RedisTlsArgs {
  /** Require client certificates (`tls-auth-clients yes`). */
  mutual: boolean;
  caCertPem: pulumi.Input<string>;
  server: KeyPair;
  /** Client certificates under mutual TLS; `healthcheck` and `operator` are used here. */
  clients: Readonly<Partial<Record<ClientRole, KeyPair>>>;
}

/** Files a client of Redis (the backend) receives on its own volume. */
export interface ClientBundle {
  /** Short name: the volume is `<name prefix>-<name>-secrets`. */
  name: string;
  /** The client container's user; owns the files (mode 0400). */
  owner: UserAndGroup;
  /** File name → content (secrets are Pulumi secrets). */
  files: Readonly<Record<string, pulumi.Input<string>>>;
}

export interface SecureRedisArgs {
  /** Prefix of Docker object names (containers, volumes), e.g. `secure-redis-dev`. */
  namePrefix: string;
  /** Redis (or Valkey) image; needs redis-server, redis-cli and a POSIX shell. */
  image: string;
  /** The release in the image; decides which commands the ACL may name. */
  serverVersion: RedisVersion;
  /** Non-root uid:gid Redis runs as; owns the files on the configuration volume. */
  user: UserAndGroup;
  /** The port Redis listens on (TLS-only when `tls` is set). */
  port: number;
  /** Container memory limit (MiB). */
  memoryLimitMb: number;
  /** Redis `maxmemory` (MiB), below the container limit. */
  maxmemoryMb: number;
  evictionPolicy: EvictionPolicy;
  persistence: RedisPersistence;
  /** The app user's key namespace (`~<namespace>:*`). */
  keyNamespace: string;
  /** The internal network's name: Redis's only network. */
  internalNetwork: pulumi.Input<string>;
  /** The alias Redis has on the internal network (the server certificate names it). */
  alias: string;
  /** TLS material; undefined only in development with TLS turned off. */
  tls: RedisTlsArgs | undefined;
  /** ACL passwords per user, current first, then previous. */
  passwords: Readonly<Record<AclUser, readonly pulumi.Output<string>[]>>;
  /** Secrets delivered to clients' volumes after Redis accepted the new generation. */
  clients: readonly ClientBundle[];
  /** Labels for every Docker object (no secrets, nothing that changes on rotation). */
  labels: Readonly<Record<string, string>>;
}

/** The Redis container's settings that are plain data (no resource references). */
export interface RedisContainerSpec extends HardeningSpec {
  command: string[];
  tmpfs: Record<string, string>;
  healthcheck: {
    tests: string[];
    interval: string;
    timeout: string;
    retries: number;
    startPeriod: string;
  };
}

type RedisContainerInput = Pick<
  SecureRedisArgs,
  "user" | "port" | "memoryLimitMb" | "maxmemoryMb" | "evictionPolicy" | "persistence"
> & { tls: { mutual: boolean } | undefined };

/** The Redis container: hardening, command line, tmpfs and healthcheck. */
export function redisContainerSpec(args: RedisContainerInput): RedisContainerSpec {
  const live = (file: string): string => livePath(REDIS_SECRETS_DIR, file);
  const tmpfs: Record<string, string> = { "/tmp": scratchTmpfs(16) };
  if (args.persistence === "none") {
    // Nothing may reach the disk; Redis still needs a writable working directory.
    tmpfs[REDIS_DATA_DIR] = scratchTmpfs(16, args.user, "0700");
  }
  const tls = args.tls;
  return {
    ...hardening(args.user, args.memoryLimitMb),
    command: renderRedisServerCommand({
      port: args.port,
      tls:
        tls === undefined
          ? undefined
          : {
              certFile: live(REDIS_FILES.serverCert),
              keyFile: live(REDIS_FILES.serverKey),
              caFile: live(REDIS_FILES.ca),
              authClients: tls.mutual,
            },
      aclFile: live(REDIS_FILES.acl),
      dataDir: REDIS_DATA_DIR,
      maxmemoryMb: args.maxmemoryMb,
      evictionPolicy: args.evictionPolicy,
      persistence: args.persistence,
    }),
    tmpfs,
    healthcheck: {
      tests: renderHealthcheckTest({
        port: args.port,
        passwordFile: live(REDIS_FILES.healthcheckPassword),
        tls:
          tls === undefined
            ? undefined
            : {
                caFile: live(REDIS_FILES.ca),
                ...(tls.mutual
                  ? { certFile: live(REDIS_FILES.healthcheckCert), keyFile: live(REDIS_FILES.healthcheckKey) }
                  : {}),
              },
      }),
      ...HEALTHCHECK_TIMING,
    },
  };
}

/** The configurator's plan: which files go where, and how it reaches Redis. */
export function configuratorPlan(args: {
  alias: string;
  port: number;
  redisUser: UserAndGroup;
  serverFiles: readonly string[];
  adminPasswordCount: number;
  tls: { mutual: boolean } | undefined;
  clients: readonly { name: string; owner: UserAndGroup; files: readonly string[] }[];
  /** Tries (2 s apart) to reach Redis before concluding it is not running. */
  reachAttempts?: number;
  /** Where things are; the defaults are the containers' paths (tests run the script on the host). */
  paths?: { inbox: string; volumesRoot: string; redisSecretsDir: string };
}): ConfiguratorPlan {
  const paths = args.paths ?? {
    inbox: CONFIGURATOR_INBOX,
    volumesRoot: CONFIGURATOR_VOLUMES,
    redisSecretsDir: REDIS_SECRETS_DIR,
  };
  const inbox = (target: string, file: string): string => `${paths.inbox}/${target}/${file}`;
  const live = (file: string): string => livePath(paths.redisSecretsDir, file);
  const server: DeliveryTarget = { name: SERVER_TARGET, owner: args.redisUser, files: args.serverFiles };
  return {
    inbox: paths.inbox,
    volumesRoot: paths.volumesRoot,
    server,
    reload: {
      host: args.alias,
      port: args.port,
      tls:
        args.tls === undefined
          ? undefined
          : {
              caFile: inbox(SERVER_TARGET, REDIS_FILES.ca),
              ...(args.tls.mutual
                ? {
                    certFile: inbox(OPERATOR_TARGET, OPERATOR_FILES.clientCert),
                    keyFile: inbox(OPERATOR_TARGET, OPERATOR_FILES.clientKey),
                  }
                : {}),
            },
      adminPasswordFiles: Array.from({ length: args.adminPasswordCount }, (_, index) =>
        inbox(OPERATOR_TARGET, OPERATOR_FILES.adminPassword(index)),
      ),
      aclFile: inbox(SERVER_TARGET, REDIS_FILES.acl),
      serverTlsFiles:
        args.tls === undefined
          ? undefined
          : {
              certFile: live(REDIS_FILES.serverCert),
              keyFile: live(REDIS_FILES.serverKey),
              caFile: live(REDIS_FILES.ca),
            },
    },
    clients: args.clients.map((client) => ({ name: client.name, owner: client.owner, files: client.files })),
    commandTimeoutSeconds: CONFIGURATOR_COMMAND_TIMEOUT_SECONDS,
    reachAttempts: args.reachAttempts ?? CONFIGURATOR_REACH_ATTEMPTS,
  };
}

function upload(
  target: string,
  file: string,
  content: pulumi.Input<string>,
): docker.types.input.ContainerUpload {
  // Owned by root, readable by root only: the configurator runs as root (it must chown).
  return {
    file: `${CONFIGURATOR_INBOX}/${target}/${file}`,
    content,
    permissions: "0400",
    owner: "0",
    group: "0",
  };
}

export class SecureRedis extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly configurator: docker.Container;
  readonly configVolume: docker.Volume;
  readonly dataVolume: docker.Volume | undefined;
  /** Each client's secrets volume, by client name. */
  readonly clientVolumes: Readonly<Record<string, docker.Volume>>;
  /** `rediss://<alias>:<port>` (or `redis://` without TLS): reachable on the internal network only. */
  readonly endpoint: string;
  /**
   * Changes whenever new secrets were delivered: the configurator's id, once
   * it exited 0. Clients put it in their inputs to restart onto the new
   * files; it fails `pulumi up` if the configurator did not succeed.
   */
  readonly deliveryRevision: pulumi.Output<string>;
  /** The rendered ACL file (a Pulumi secret: it holds password hashes). */
  readonly aclFile: pulumi.Output<string>;

  constructor(name: string, args: SecureRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-redis:redis:SecureRedis", name, {}, opts);
    if (args.maxmemoryMb >= args.memoryLimitMb) {
      throw new Error(`SecureRedis ${name}: maxmemoryMb must stay below memoryLimitMb`);
    }
    for (const user of ["app", "admin", "healthcheck"] as const) {
      if (args.passwords[user].length === 0)
        throw new Error(`SecureRedis ${name}: the ${user} user has no password`);
    }
    if (
      args.tls?.mutual === true &&
      (args.tls.clients.healthcheck === undefined || args.tls.clients.operator === undefined)
    ) {
      throw new Error(
        `SecureRedis ${name}: mutual TLS needs the healthcheck and operator client certificates`,
      );
    }
    const parent = { parent: this };
    const labels = toDockerLabels(args.labels);
    const prefix = args.namePrefix;

    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, parent);

    // Named volumes survive container replacement; a name exists once per host, so replace by deleting first.
    const volume = (suffix: string): docker.Volume =>
      new docker.Volume(
        `${name}-${suffix}`,
        { name: `${prefix}-${suffix}`, labels },
        { ...parent, deleteBeforeReplace: true },
      );
    this.configVolume = volume("config");
    this.dataVolume = args.persistence === "none" ? undefined : volume("data");
    const clientVolumes: Record<string, docker.Volume> = {};
    for (const client of args.clients) clientVolumes[client.name] = volume(`${client.name}-secrets`);
    this.clientVolumes = clientVolumes;

    this.aclFile = pulumi.secret(
      pulumi
        .all([
          pulumi.all([...args.passwords.app]),
          pulumi.all([...args.passwords.admin]),
          pulumi.all([...args.passwords.healthcheck]),
        ])
        .apply(([app, admin, healthcheck]) =>
          renderAclFile({
            keyNamespace: args.keyNamespace,
            serverVersion: args.serverVersion,
            passwordHashes: {
              app: app.map(aclPasswordHash),
              admin: admin.map(aclPasswordHash),
              healthcheck: healthcheck.map(aclPasswordHash),
            },
          }),
        ),
    );

    // What the Redis volume holds: the ACL, TLS material, the healthcheck's password (and certificate).
    const serverFiles: Record<string, pulumi.Input<string>> = {
      [REDIS_FILES.acl]: this.aclFile,
      [REDIS_FILES.healthcheckPassword]: pulumi.secret(args.passwords.healthcheck[0]!),
    };
    const operatorFiles: Record<string, pulumi.Input<string>> = {};
    args.passwords.admin.forEach((password, index) => {
      operatorFiles[OPERATOR_FILES.adminPassword(index)] = pulumi.secret(password);
    });
    if (args.tls !== undefined) {
      serverFiles[REDIS_FILES.serverCert] = args.tls.server.certPem;
      serverFiles[REDIS_FILES.serverKey] = pulumi.secret(args.tls.server.keyPem);
      serverFiles[REDIS_FILES.ca] = args.tls.caCertPem;
      const { healthcheck, operator } = args.tls.clients;
      if (args.tls.mutual && healthcheck !== undefined && operator !== undefined) {
        serverFiles[REDIS_FILES.healthcheckCert] = healthcheck.certPem;
        serverFiles[REDIS_FILES.healthcheckKey] = pulumi.secret(healthcheck.keyPem);
        operatorFiles[OPERATOR_FILES.clientCert] = operator.certPem;
        operatorFiles[OPERATOR_FILES.clientKey] = pulumi.secret(operator.keyPem);
      }
    }

    const plan = configuratorPlan({
      alias: args.alias,
      port: args.port,
      redisUser: args.user,
      serverFiles: Object.keys(serverFiles),
      adminPasswordCount: args.passwords.admin.length,
      tls: args.tls === undefined ? undefined : { mutual: args.tls.mutual },
      clients: args.clients.map((client) => ({
        name: client.name,
        owner: client.owner,
        files: Object.keys(client.files),
      })),
    });
    const uploads = [
      ...Object.entries(serverFiles).map(([file, content]) => upload(SERVER_TARGET, file, content)),
      ...Object.entries(operatorFiles).map(([file, content]) => upload(OPERATOR_TARGET, file, content)),
      ...args.clients.flatMap((client) =>
        Object.entries(client.files).map(([file, content]) => upload(client.name, file, content)),
      ),
    ];

    this.configurator = new docker.Container(
      `${name}-configurator`,
      {
        image: image.imageId,
        entrypoints: ["/bin/sh", "-c"],
        command: [renderConfiguratorScript(plan)],
        // Root, but only to hand files to the service users: CHOWN is its one capability.
        user: "0:0",
        capabilities: { drops: ["ALL"], adds: ["CHOWN"] },
        securityOpts: ["no-new-privileges:true"],
        // `uploads` cannot reach a read-only root filesystem (the provider copies into "/");
        // the script deletes its inputs before it exits.
        readOnly: false,
        tmpfs: { "/tmp": scratchTmpfs(8) },
        memory: CONFIGURATOR_MEMORY_MB,
        memorySwap: CONFIGURATOR_MEMORY_MB,
        mounts: [
          {
            type: "volume",
            source: this.configVolume.name,
            target: `${CONFIGURATOR_VOLUMES}/${SERVER_TARGET}`,
          },
          ...args.clients.map((client) => ({
            type: "volume",
            source: clientVolumes[client.name]!.name,
            target: `${CONFIGURATOR_VOLUMES}/${client.name}`,
          })),
        ],
        networksAdvanced: [{ name: args.internalNetwork }],
        uploads,
        // Run to completion during `pulumi up`; the exit code is checked below.
        attach: true,
        logs: true,
        mustRun: false,
        restart: "no",
        labels: toDockerLabels({ ...args.labels, "org.secure-redis.role": "configurator" }),
      },
      // Its log never holds a secret, but it is stored in state: keep it encrypted anyway.
      { ...parent, additionalSecretOutputs: ["containerLogs"] },
    );

    this.deliveryRevision = pulumi
      .all([this.configurator.exitCode, this.configurator.id, this.configurator.urn])
      .apply(([exitCode, id, urn]) => {
        if (exitCode !== 0) {
          throw new Error(
            `the configuration container exited with code ${String(exitCode)}, so the new secrets were not ` +
              `delivered; read its log (docker logs ${id}), fix the cause, then run: pulumi up --replace '${urn}'`,
          );
        }
        return id;
      });

    const spec = redisContainerSpec({
      user: args.user,
      port: args.port,
      memoryLimitMb: args.memoryLimitMb,
      maxmemoryMb: args.maxmemoryMb,
      evictionPolicy: args.evictionPolicy,
      persistence: args.persistence,
      tls: args.tls === undefined ? undefined : { mutual: args.tls.mutual },
    });
    const mounts: docker.types.input.ContainerMount[] = [
      { type: "volume", source: this.configVolume.name, target: REDIS_SECRETS_DIR, readOnly: true },
    ];
    if (this.dataVolume !== undefined) {
      mounts.push({ type: "volume", source: this.dataVolume.name, target: REDIS_DATA_DIR });
    }
    this.container = new docker.Container(
      `${name}-server`,
      {
        name: `${prefix}-redis`,
        image: image.imageId,
        ...spec,
        mounts,
        // The internal network only, and no `ports`: nothing outside that network reaches Redis.
        networksAdvanced: [{ name: args.internalNetwork, aliases: [args.alias] }],
        labels: toDockerLabels({ ...args.labels, "org.secure-redis.role": "redis" }),
        wait: true,
        waitTimeout: HEALTHY_TIMEOUT_SECONDS,
        destroyGraceSeconds: STOP_GRACE_SECONDS,
      },
      {
        ...parent,
        // First deployment: the configuration volume must be written before Redis starts.
        dependsOn: [this.configurator],
        // The provider ignores changes to these two; force a replacement instead of drifting.
        replaceOnChanges: ["healthcheck", "tmpfs"],
        // Two Redis containers must never share the alias (split cache) or the data volume.
        deleteBeforeReplace: true,
      },
    );

    this.endpoint = `${args.tls === undefined ? "redis" : "rediss"}://${args.alias}:${args.port}`;
    this.registerOutputs({
      container: this.container.name,
      endpoint: this.endpoint,
      deliveryRevision: this.deliveryRevision,
    });
  }
}
