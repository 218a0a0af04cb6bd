/**
 * The Redis test image on the real Docker engine, hardened the way a
 * deployment should be: TLS-only, ACL file (default user off), non-root, no
 * capabilities, read-only root filesystem, port published on loopback only;
 * and an `internal: true` network that containers elsewhere cannot reach.
 * Also the proof that scripts/build-test-images.sh and test/helpers/docker.ts
 * work.
 *
 * Seen on this engine (Docker 20.10), not asserted here: `internal` stops
 * forwarding (no egress, no other networks), but a container on an internal
 * network can still open connections to the Docker host's own listeners
 * (e.g. a 0.0.0.0-bound service, via its bridge gateway IP).
 */
import { randomBytes } from "node:crypto";
import { Wait, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containerIp,
  docker,
  ensureTestImages,
  execIn,
  HardenedContainer,
  probeTcp,
  REDIS_UID,
  useDockerScope,
  type DockerNetwork,
} from "../helpers/docker.js";
import {
  clientTls,
  errorCode,
  expectConnectionFailure,
  sendRawCommand,
  withRedisClient,
  type RedisEndpoint,
} from "../helpers/redis-client.js";
import { createTlsFixtures, disposeTlsFixtures, type TlsFixtures } from "../helpers/tls-fixtures.js";

const TLS_PORT = 6380;
const FRONT_ALIAS = "redis";
const INTERNAL_ALIAS = "redis-internal";
const APP_PASSWORD = randomBytes(24).toString("hex");
const HEALTH_PASSWORD = randomBytes(24).toString("hex");
/** Default user off; `app` for the tests; `health` may only PING (for the container healthcheck). */
const ACL = [
  "user default off",
  `user app on >${APP_PASSWORD} ~* &* +@all`,
  `user health on >${HEALTH_PASSWORD} -@all +ping`,
  "",
].join("\n");
const APP = { username: "app", password: APP_PASSWORD } as const;

const scope = useDockerScope();
let fixtures: TlsFixtures;
let redisImage: string;
let frontNet: DockerNetwork;
let internalNet: DockerNetwork;
let front: StartedTestContainer;
let internal: StartedTestContainer;
let probeFront: StartedTestContainer;
let probeInternal: StartedTestContainer;

/** Hardened TLS-only redis: read-only rootfs, tmpfs /data and /tmp, certs + ACL in a volume at /tls. */
function redisContainer(network: DockerNetwork, alias: string): HardenedContainer {
  return (
    new HardenedContainer(redisImage)
      .withNetworkOnly(network.name, alias)
      .withLeastPrivilege(`${REDIS_UID}:${REDIS_UID}`)
      .withReadOnlyRootFilesystem()
      .withTmpFs({
        "/data": `rw,noexec,nosuid,size=64m,uid=${REDIS_UID},gid=${REDIS_UID},mode=0700`,
        "/tmp": "rw,noexec,nosuid,size=16m,mode=1777",
      })
      // Read-only rootfs: files go into a volume at /tls, owned by redis so the key can be 0400.
      .withVolumeFiles(
        "/tls",
        [
          { name: "ca.crt", content: fixtures.ca.cert, mode: 0o444 },
          { name: "server.crt", content: fixtures.server.cert, mode: 0o444 },
          { name: "server.key", content: fixtures.server.key, mode: 0o400 },
          { name: "users.acl", content: ACL, mode: 0o400 },
        ],
        { uid: REDIS_UID, gid: REDIS_UID },
      )
      .withCommand([
        "redis-server",
        "--port",
        "0",
        "--tls-port",
        String(TLS_PORT),
        "--tls-cert-file",
        "/tls/server.crt",
        "--tls-key-file",
        "/tls/server.key",
        "--tls-ca-cert-file",
        "/tls/ca.crt",
        "--tls-auth-clients",
        "no",
        "--aclfile",
        "/tls/users.acl",
        "--protected-mode",
        "yes",
        "--dir",
        "/data",
        "--save",
        "",
        "--appendonly",
        "no",
      ])
      .withStartupTimeout(60_000)
  );
}

/** A long-running busybox container with the CA cert, to probe from inside a network. */
function probeContainer(network: DockerNetwork): HardenedContainer {
  return new HardenedContainer(redisImage)
    .withNetworkOnly(network.name)
    .withLeastPrivilege(`${REDIS_UID}:${REDIS_UID}`)
    .withCopyContentToContainer([{ content: fixtures.ca.cert, target: "/tls/ca.crt", mode: 0o444 }])
    .withCommand(["sh", "-c", "echo probe ready; exec sleep 3600"])
    .withWaitStrategy(Wait.forLogMessage("probe ready"))
    .withStartupTimeout(30_000);
}

/**
 * redis-cli over TLS (CA-verified) from inside `from`, as `app`. redis-cli 7.0
 * has no connect timeout, so busybox `timeout` bounds it to 4 s (exit 137 when killed).
 */
async function redisCliPing(from: StartedTestContainer, host: string) {
  return execIn(from, [
    "timeout",
    "-s",
    "KILL",
    "4",
    "redis-cli",
    "--tls",
    "--cacert",
    "/tls/ca.crt",
    "--sni",
    host,
    "-h",
    host,
    "-p",
    String(TLS_PORT),
    "--user",
    "app",
    "--pass",
    APP_PASSWORD,
    "--no-auth-warning",
    "PING",
  ]);
}

interface InspectInfo {
  Config: { User: string };
  HostConfig: {
    ReadonlyRootfs: boolean;
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> | null;
  };
  NetworkSettings: { Networks: Record<string, unknown>; Ports: Record<string, unknown> | null };
  State: { Health?: { Status: string } };
}

async function inspect(container: StartedTestContainer): Promise<InspectInfo> {
  const [info] = JSON.parse(await docker(["inspect", container.getId()])) as InspectInfo[];
  if (info === undefined) throw new Error(`docker inspect ${container.getId()}: no result`);
  return info;
}

beforeAll(async () => {
  const images = await ensureTestImages();
  redisImage = images.redis;
  fixtures = await createTlsFixtures(undefined, { dnsNames: [FRONT_ALIAS, INTERNAL_ALIAS] });
  [frontNet, internalNet] = await Promise.all([scope.network(), scope.network({ internal: true })]);
  [front, internal, probeFront, probeInternal] = await Promise.all([
    scope.start(
      redisContainer(frontNet, FRONT_ALIAS)
        .withLoopbackPort(TLS_PORT)
        .withHealthCheck({
          test: [
            "CMD",
            "redis-cli",
            "--tls",
            "--cacert",
            "/tls/ca.crt",
            "-p",
            String(TLS_PORT),
            "--user",
            "health",
            "--pass",
            HEALTH_PASSWORD,
            "--no-auth-warning",
            "PING",
          ],
          interval: 1_000,
          timeout: 3_000,
          retries: 10,
        })
        .withWaitStrategy(
          Wait.forAll([Wait.forLogMessage("Ready to accept connections"), Wait.forHealthCheck()]),
        ),
    ),
    scope.start(
      redisContainer(internalNet, INTERNAL_ALIAS).withWaitStrategy(
        Wait.forLogMessage("Ready to accept connections"),
      ),
    ),
    scope.start(probeContainer(frontNet)),
    scope.start(probeContainer(internalNet)),
  ]);
});

afterAll(async () => {
  await disposeTlsFixtures();
});

describe("TLS-only Redis container (hardened)", () => {
  const endpoint = (): RedisEndpoint => ({ host: "127.0.0.1", port: front.getMappedPort(TLS_PORT) });

  it("runs as uid 999 with no capabilities, read-only rootfs, port on loopback only, healthy", async () => {
    expect((await execIn(front, ["stat", "-c", "%u %a", "/tls/server.key"])).stdout.trim()).toBe(
      `${REDIS_UID} 400`,
    );
    const info = await inspect(front);
    expect(info.Config.User).toBe(`${REDIS_UID}:${REDIS_UID}`);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
    expect(info.HostConfig.PortBindings).toEqual({
      [`${TLS_PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "0" }],
    });
    expect(info.State.Health?.Status).toBe("healthy");
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([frontNet.name]);

    const status = await execIn(front, ["cat", "/proc/1/status"]);
    expect(status.stdout).toMatch(new RegExp(`^Uid:\\s+${REDIS_UID}\\s+${REDIS_UID}\\s`, "m"));
    expect(status.stdout).toMatch(/^CapEff:\s+0+$/m);
    const write = await execIn(front, ["touch", "/usr/bin/evil"]);
    expect(write.exitCode).not.toBe(0);
    expect(write.output).toMatch(/Read-only file system/);
    expect((await execIn(front, ["touch", "/data/ok"])).exitCode).toBe(0);
  });

  it("serves SET/GET to `app` over TLS with CA verification (servername = the network alias)", async () => {
    const key = `e2e:${randomBytes(6).toString("hex")}`;
    const tls = clientTls(fixtures, { servername: FRONT_ALIAS });
    await withRedisClient(endpoint(), { tls, ...APP }, async (client) => {
      expect(await client.set(key, "value-1")).toBe("OK");
      expect(await client.get(key)).toBe("value-1");
      expect(await client.acl("WHOAMI")).toBe("app");
    });
  });

  it("refuses unauthenticated access and the healthcheck user beyond PING", async () => {
    expect(await sendRawCommand(endpoint(), ["PING"], { tls: clientTls(fixtures) })).toMatch(/^-NOAUTH/);
    expect((await expectConnectionFailure(endpoint(), { tls: clientTls(fixtures) })).message).toMatch(
      /NOAUTH/,
    );
    const wrong = await expectConnectionFailure(endpoint(), {
      tls: clientTls(fixtures),
      username: "app",
      password: "wrong",
    });
    expect(wrong.message).toMatch(/WRONGPASS/);
    const health = { username: "health", password: HEALTH_PASSWORD };
    // No ready check: it runs INFO, which `health` may not.
    const options = { tls: clientTls(fixtures), ...health, redisOptions: { enableReadyCheck: false } };
    await withRedisClient(endpoint(), options, async (client) => {
      expect(await client.ping()).toBe("PONG");
      await expect(client.get("anything")).rejects.toThrow(/NOPERM/);
    });
  });

  it("rejects a client that does not trust the CA", async () => {
    const error = await expectConnectionFailure(endpoint(), {
      tls: clientTls(fixtures, { ca: "untrusted" }),
      ...APP,
    });
    expect(errorCode(error)).toBe("SELF_SIGNED_CERT_IN_CHAIN");
  });

  it("has no plaintext listener: only the TLS port answers inside the network", async () => {
    expect((await probeTcp(probeFront, FRONT_ALIAS, TLS_PORT)).reachable).toBe(true);
    expect((await probeTcp(probeFront, FRONT_ALIAS, 6379)).reachable).toBe(false);
  });
});

describe("internal network isolation", () => {
  it("the internal Redis is on the internal network only and publishes no port", async () => {
    const info = await inspect(internal);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([internalNet.name]);
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(Object.values(info.NetworkSettings.Ports ?? {}).filter((b) => b !== null)).toEqual([]);
    const net = JSON.parse(await docker(["network", "inspect", internalNet.name])) as Array<{
      Internal: boolean;
    }>;
    expect(net[0]?.Internal).toBe(true);
  });

  it("is reachable (TCP and authenticated TLS PING) from a container on the same internal network", async () => {
    expect(await probeTcp(probeInternal, INTERNAL_ALIAS, TLS_PORT)).toMatchObject({ reachable: true });
    const ping = await redisCliPing(probeInternal, INTERNAL_ALIAS);
    expect(ping.stdout.trim()).toBe("PONG");
  });

  it("is NOT reachable from a container on another network, by name or by IP", async () => {
    // Control: the outside probe works and reaches Redis on its own network.
    expect((await probeTcp(probeFront, FRONT_ALIAS, TLS_PORT)).reachable).toBe(true);
    expect((await redisCliPing(probeFront, FRONT_ALIAS)).stdout.trim()).toBe("PONG");

    const ip = containerIp(internal, internalNet);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Blocked connects hang until the probe's timeout, so the three probes run together.
    const [byName, byIp, ping] = await Promise.all([
      probeTcp(probeFront, INTERNAL_ALIAS, TLS_PORT),
      probeTcp(probeFront, ip, TLS_PORT),
      redisCliPing(probeFront, ip),
    ]);
    expect(byName.reachable).toBe(false);
    expect(byName.output).toMatch(/bad address/); // the name does not even resolve
    expect(byIp.reachable).toBe(false);
    expect(ping.exitCode).not.toBe(0);
    expect(ping.stdout.trim()).not.toBe("PONG");
  });

  it("containers on the internal network cannot reach containers on other networks", async () => {
    expect((await probeTcp(probeInternal, containerIp(front, frontNet), TLS_PORT)).reachable).toBe(false);
  });
});
