/**
 * Hardening every long-running container of the stack gets. Pure data, so
 * tests can check it without Pulumi.
 */
import type { UserAndGroup } from "./config.js";

/** Restart after a crash or a daemon restart, but not after an operator's `docker stop`. */
export const RESTART_POLICY = "unless-stopped";

/** Bounded json-file logs: a chatty container cannot fill the host's disk. */
export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" } as const;

/** tmpfs for scratch files: not executable, no setuid, no device files, small. */
export function scratchTmpfs(sizeMb: number, owner?: UserAndGroup, mode = "1777"): string {
  const ownership = owner === undefined ? "" : `,uid=${owner.uid},gid=${owner.gid}`;
  return `rw,noexec,nosuid,nodev,size=${sizeMb}m,mode=${mode}${ownership}`;
}

export interface HardeningSpec {
  user: string;
  readOnly: boolean;
  capabilities: { drops: string[]; adds?: string[] };
  securityOpts: string[];
  memory: number;
  memorySwap: number;
  restart: string;
  logDriver: string;
  logOpts: Record<string, string>;
}

/**
 * Non-root user, read-only root filesystem, every capability dropped, no
 * privilege gain through setuid binaries, a memory limit with swap disabled
 * (swapped pages of a cache or a secret would land on the host's disk),
 * restart policy and bounded logs.
 */
export function hardening(user: UserAndGroup, memoryLimitMb: number): HardeningSpec {
  return {
    user: `${user.uid}:${user.gid}`,
    readOnly: true,
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
    memory: memoryLimitMb,
    memorySwap: memoryLimitMb,
    restart: RESTART_POLICY,
    logDriver: "json-file",
    logOpts: { ...LOG_OPTIONS },
  };
}
