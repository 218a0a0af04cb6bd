/**
 * The two Docker networks of a stack:
 * - internal: Redis and its clients only. `internal: true` gives it no route
 *   out and no port publishing; optionally (Docker 28+) the isolated gateway
 *   mode also removes the host's own address from it, so not even a process
 *   on the Docker host can reach Redis over it.
 * - edge: the backend's network, where its port is published and where a
 *   reverse proxy would join it.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Docker 28's bridge option that leaves the host without an address on the network. */
export const ISOLATED_GATEWAY_OPTIONS: Readonly<Record<string, string>> = {
  "com.docker.network.bridge.gateway_mode_ipv4": "isolated",
  "com.docker.network.bridge.gateway_mode_ipv6": "isolated",
};

export interface InternalNetworkSpec {
  internal: true;
  driver: "bridge";
  attachable: false;
  ipv6: false;
  options: Record<string, string>;
}

/**
 * The internal network's settings. The isolated gateway mode is off by
 * default: Docker before 28 does not know it (Debian 12 ships 20.10).
 */
export function internalNetworkSpec(isolatedGateway: boolean): InternalNetworkSpec {
  return {
    internal: true,
    driver: "bridge",
    attachable: false,
    ipv6: false,
    options: isolatedGateway ? { ...ISOLATED_GATEWAY_OPTIONS } : {},
  };
}

export interface SecureNetworksArgs {
  /** Prefix of the Docker network names (`<prefix>-internal`, `<prefix>-edge`), e.g. `secure-redis-dev`. */
  namePrefix: string;
  /** Use Docker 28's isolated gateway mode on the internal network (the host gets no address on it). */
  isolatedGateway: boolean;
  /** Labels put on both networks. */
  labels: Readonly<Record<string, string>>;
}

export function toDockerLabels(labels: Readonly<Record<string, string>>): { label: string; value: string }[] {
  return Object.entries(labels).map(([label, value]) => ({ label, value }));
}

export class SecureNetworks extends pulumi.ComponentResource {
  /** Redis's network: internal, no egress, nothing published. */
  readonly internal: docker.Network;
  /** The backend's outward-facing network. */
  readonly edge: docker.Network;

  constructor(name: string, args: SecureNetworksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-redis:network:SecureNetworks", name, {}, opts);
    const spec = internalNetworkSpec(args.isolatedGateway);
    this.internal = new docker.Network(
      `${name}-internal`,
      {
        name: `${args.namePrefix}-internal`,
        ...spec,
        labels: toDockerLabels({ ...args.labels, "org.secure-redis.network": "internal" }),
      },
      // A named network cannot exist twice: replace it by deleting first.
      { parent: this, deleteBeforeReplace: true },
    );
    this.edge = new docker.Network(
      `${name}-edge`,
      {
        name: `${args.namePrefix}-edge`,
        driver: "bridge",
        internal: false,
        attachable: false,
        ipv6: false,
        labels: toDockerLabels({ ...args.labels, "org.secure-redis.network": "edge" }),
      },
      { parent: this, deleteBeforeReplace: true },
    );
    this.registerOutputs({ internal: this.internal.name, edge: this.edge.name });
  }
}
