/**
 * Test PKI generated with the real `openssl` CLI: a CA, certificates it signs
 * (server, client, an expired server), and an unrelated "untrusted" CA with
 * its own server and client certificates. EC P-256 keys; a full set takes
 * 0.2-0.4 s (19 openssl runs, in parallel where possible).
 *
 *   const tls = await createTlsFixtures(undefined, { dnsNames: ["redis"] });
 *   startRedisServer({ tls: serverTls(tls) });            // see redis-server.ts
 *   connectRedisClient(server, { tls: clientTls(tls) });  // see redis-client.ts
 *
 * openssl runs through execFile with argument arrays (never a shell); names
 * that end up in `-subj` or in the extension file are validated first.
 *
 * Caching: without `dir`, one set per distinct option set is generated per
 * test process (vitest isolates each test file, so in practice per file) into
 * a temp dir that is removed by `disposeTlsFixtures()` (call it in afterAll,
 * or use `useTlsFixtures()`), or else when the test process ends. With `dir`,
 * the caller owns the directory. A cached set whose files were deleted is
 * regenerated.
 *
 * OpenSSL 3.0 (Debian 12) has no `x509 -not_before/-not_after` (3.4+) and
 * refuses negative `-days`, so the expired certificate is issued with
 * `openssl ca -startdate/-enddate` from a throwaway CA database.
 */
import { onProcessEnd, sweepStaleTempDirs } from "./process-cleanup.js";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
import { MissingComponentError, requireExecutable } from "./components.js";

const execFileAsync = promisify(execFile);

/** A certificate and its private key: file paths plus PEM contents. */
export interface CertKeyPair {
  /** Path of the PEM certificate. */
  readonly certPath: string;
  /** Path of the PEM private key (PKCS#8, unencrypted). */
  readonly keyPath: string;
  /** The PEM certificate. */
  readonly cert: string;
  /** The PEM private key. */
  readonly key: string;
}

export interface TlsFixtureOptions {
  /** Extra DNS SANs for the server certificates, e.g. a container alias `redis`. */
  dnsNames?: readonly string[];
  /** Extra IP SANs for the server certificates (127.0.0.1 is always there). */
  ipAddresses?: readonly string[];
  /** Common name of the client certificate (default `app`). */
  clientCommonName?: string;
  /** Validity of the non-expired certificates in days (default 7). */
  validDays?: number;
}

export interface TlsFixtures {
  /** Directory holding every file. */
  readonly dir: string;
  /** The trusted CA. Give `ca.certPath` to redis `tls-ca-cert-file` and `ca.cert` to clients. */
  readonly ca: CertKeyPair;
  /** Server certificate signed by `ca`; SANs: DNS:localhost, IP:127.0.0.1 + options. */
  readonly server: CertKeyPair;
  /** Client certificate signed by `ca` (extendedKeyUsage clientAuth), for mutual TLS. */
  readonly client: CertKeyPair;
  /** Server certificate signed by `ca`, same SANs as `server`, valid 2020-01-01..2020-01-02. */
  readonly expiredServer: CertKeyPair;
  /** A second CA that nothing else trusts. */
  readonly untrustedCa: CertKeyPair;
  /** Server certificate (same SANs as `server`) signed by `untrustedCa`. */
  readonly untrustedServer: CertKeyPair;
  /** Client certificate signed by `untrustedCa`. */
  readonly untrustedClient: CertKeyPair;
  /** The DNS SANs of the server certificates (localhost first). */
  readonly dnsNames: readonly string[];
  /** The IP SANs of the server certificates (127.0.0.1 first). */
  readonly ipAddresses: readonly string[];
}

/** Valid notBefore/notAfter of `expiredServer` (openssl `ca` format). */
export const EXPIRED_VALIDITY = { start: "20200101000000Z", end: "20200102000000Z" } as const;

const DNS_NAME =
  /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const COMMON_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

interface NormalizedOptions {
  dnsNames: string[];
  ipAddresses: string[];
  clientCommonName: string;
  validDays: number;
}

function normalize(opts: TlsFixtureOptions): NormalizedOptions {
  const dnsNames = unique(["localhost", ...(opts.dnsNames ?? [])]);
  for (const name of dnsNames) {
    if (!DNS_NAME.test(name)) throw new Error(`createTlsFixtures: not a DNS name: ${JSON.stringify(name)}`);
  }
  const ipAddresses = unique(["127.0.0.1", ...(opts.ipAddresses ?? [])]);
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new Error(`createTlsFixtures: not an IP address: ${JSON.stringify(ip)}`);
  }
  const clientCommonName = opts.clientCommonName ?? "app";
  if (!COMMON_NAME.test(clientCommonName)) {
    throw new Error(`createTlsFixtures: unsupported client common name: ${JSON.stringify(clientCommonName)}`);
  }
  const validDays = opts.validDays ?? 7;
  if (!Number.isInteger(validDays) || validDays < 1) {
    throw new Error(`createTlsFixtures: validDays must be a positive integer, got ${validDays}`);
  }
  return { dnsNames, ipAddresses, clientCommonName, validDays };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await execFileAsync("openssl", args, { cwd, timeout: 30_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new MissingComponentError("openssl");
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0] ?? ""} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

function serial(): string {
  // Positive, 16 bytes, never starting with 0x00 (openssl drops leading zero bytes).
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString("hex");
}

async function genKey(dir: string, name: string): Promise<string> {
  const keyPath = join(dir, `${name}.key`);
  await openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath]);
  return keyPath;
}

async function pair(certPath: string, keyPath: string): Promise<CertKeyPair> {
  const [cert, key] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  return { certPath, keyPath, cert, key };
}

async function makeCa(dir: string, name: string, commonName: string, days: number): Promise<CertKeyPair> {
  const keyPath = await genKey(dir, name);
  const certPath = join(dir, `${name}.crt`);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    keyPath,
    "-sha256",
    "-days",
    String(days),
    "-set_serial",
    `0x${serial()}`,
    "-subj",
    `/O=secure-redis tests/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-addext",
    "subjectKeyIdentifier=hash",
    "-out",
    certPath,
  ]);
  return pair(certPath, keyPath);
}

type LeafKind = "server" | "client";

function extensions(kind: LeafKind, opts: NormalizedOptions): string {
  const lines = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${kind === "server" ? "serverAuth" : "clientAuth"}`,
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid",
  ];
  if (kind === "server") {
    const sans = [...opts.dnsNames.map((n) => `DNS:${n}`), ...opts.ipAddresses.map((ip) => `IP:${ip}`)];
    lines.push(`subjectAltName=${sans.join(",")}`);
  } else {
    lines.push(`subjectAltName=DNS:${opts.clientCommonName.replace(/[^A-Za-z0-9.-]/g, "-")}`);
  }
  return `${lines.join("\n")}\n`;
}

interface LeafRequest {
  name: string;
  kind: LeafKind;
  commonName: string;
  issuer: CertKeyPair;
  /** Fixed validity in openssl `ca` format; otherwise valid from now for `opts.validDays`. */
  validity?: { start: string; end: string };
}

async function makeLeaf(dir: string, req: LeafRequest, opts: NormalizedOptions): Promise<CertKeyPair> {
  const keyPath = await genKey(dir, req.name);
  const csrPath = join(dir, `${req.name}.csr`);
  const extPath = join(dir, `${req.name}.ext`);
  const certPath = join(dir, `${req.name}.crt`);
  await writeFile(extPath, extensions(req.kind, opts));
  await openssl(dir, [
    "req",
    "-new",
    "-key",
    keyPath,
    "-subj",
    `/O=secure-redis tests/CN=${req.commonName}`,
    "-out",
    csrPath,
  ]);
  if (req.validity === undefined) {
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      csrPath,
      "-CA",
      req.issuer.certPath,
      "-CAkey",
      req.issuer.keyPath,
      "-set_serial",
      `0x${serial()}`,
      "-days",
      String(opts.validDays),
      "-sha256",
      "-extfile",
      extPath,
      "-out",
      certPath,
    ]);
  } else {
    await signWithExplicitDates(dir, req, csrPath, extPath, certPath);
  }
  return pair(certPath, keyPath);
}

/** `openssl ca` is the only OpenSSL 3.0 signer that takes explicit notBefore/notAfter dates. */
async function signWithExplicitDates(
  dir: string,
  req: LeafRequest,
  csrPath: string,
  extPath: string,
  certPath: string,
): Promise<void> {
  const caDir = join(dir, `${req.name}.ca-db`);
  await mkdir(join(caDir, "newcerts"), { recursive: true });
  await writeFile(join(caDir, "index.txt"), "");
  await writeFile(join(caDir, "serial"), `${serial()}\n`);
  const config = [
    "[ ca ]",
    "default_ca = fixture_ca",
    "[ fixture_ca ]",
    `database = ${join(caDir, "index.txt")}`,
    `new_certs_dir = ${join(caDir, "newcerts")}`,
    `serial = ${join(caDir, "serial")}`,
    "default_md = sha256",
    "policy = fixture_policy",
    "unique_subject = no",
    "copy_extensions = none",
    "[ fixture_policy ]",
    "commonName = supplied",
    "organizationName = optional",
    "",
  ].join("\n");
  const configPath = join(caDir, "ca.cnf");
  await writeFile(configPath, config);
  await openssl(dir, [
    "ca",
    "-batch",
    "-notext",
    "-config",
    configPath,
    "-cert",
    req.issuer.certPath,
    "-keyfile",
    req.issuer.keyPath,
    "-in",
    csrPath,
    "-startdate",
    req.validity!.start,
    "-enddate",
    req.validity!.end,
    "-extfile",
    extPath,
    "-out",
    certPath,
  ]);
  await rm(caDir, { recursive: true, force: true });
}

async function generate(dir: string, opts: NormalizedOptions): Promise<TlsFixtures> {
  requireExecutable("openssl");
  await mkdir(dir, { recursive: true });
  const [ca, untrustedCa] = await Promise.all([
    makeCa(dir, "ca", "secure-redis test CA", opts.validDays + 1),
    makeCa(dir, "untrusted-ca", "untrusted test CA", opts.validDays + 1),
  ]);
  const [server, client, expiredServer, untrustedServer, untrustedClient] = await Promise.all([
    makeLeaf(dir, { name: "server", kind: "server", commonName: "localhost", issuer: ca }, opts),
    makeLeaf(dir, { name: "client", kind: "client", commonName: opts.clientCommonName, issuer: ca }, opts),
    makeLeaf(
      dir,
      {
        name: "expired-server",
        kind: "server",
        commonName: "localhost",
        issuer: ca,
        validity: EXPIRED_VALIDITY,
      },
      opts,
    ),
    makeLeaf(
      dir,
      { name: "untrusted-server", kind: "server", commonName: "localhost", issuer: untrustedCa },
      opts,
    ),
    makeLeaf(
      dir,
      { name: "untrusted-client", kind: "client", commonName: opts.clientCommonName, issuer: untrustedCa },
      opts,
    ),
  ]);
  return {
    dir,
    ca,
    server,
    client,
    expiredServer,
    untrustedCa,
    untrustedServer,
    untrustedClient,
    dnsNames: opts.dnsNames,
    ipAddresses: opts.ipAddresses,
  };
}

function allPaths(f: TlsFixtures): string[] {
  return [
    f.ca,
    f.server,
    f.client,
    f.expiredServer,
    f.untrustedCa,
    f.untrustedServer,
    f.untrustedClient,
  ].flatMap((p) => [p.certPath, p.keyPath]);
}

const cache = new Map<string, Promise<TlsFixtures>>();
const ownedDirs = new Set<string>();
/** Caller-given dir -> cache key of the fixtures in it (file names are fixed, so one set per dir). */
const dirOwners = new Map<string, string>();
/** How many `useTlsFixtures` users hold each cached set (by dir). */
const holders = new Map<string, number>();
const DIR_PREFIX = "secure-redis-tls-";

function removeOwnedDirsSync(): void {
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  ownedDirs.clear();
}

/**
 * Generates (or returns the cached) test PKI. See the module comment.
 *
 * @param dir  where to write the files; omitted: a temp dir owned and removed by this module
 * @param opts extra SANs, client CN, validity
 */
export async function createTlsFixtures(dir?: string, opts: TlsFixtureOptions = {}): Promise<TlsFixtures> {
  const normalized = normalize(opts);
  const key = JSON.stringify([dir === undefined ? null : resolve(dir), normalized]);
  if (dir !== undefined) {
    const other = dirOwners.get(resolve(dir));
    if (other !== undefined && other !== key) {
      throw new Error(
        `createTlsFixtures: ${dir} already holds fixtures made with other options; use another dir`,
      );
    }
    dirOwners.set(resolve(dir), key);
  }
  const cached = cache.get(key);
  if (cached !== undefined) {
    const fixtures = await cached.catch(() => undefined);
    if (fixtures !== undefined && allPaths(fixtures).every((p) => existsSync(p))) return fixtures;
    cache.delete(key);
  }
  const pending = (async () => {
    let target = dir === undefined ? undefined : resolve(dir);
    if (target === undefined) {
      onProcessEnd(removeOwnedDirsSync);
      sweepStaleTempDirs(DIR_PREFIX);
      target = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
      ownedDirs.add(target);
    }
    return generate(target, normalized);
  })();
  cache.set(key, pending);
  pending.catch(() => cache.delete(key));
  return pending;
}

/**
 * Removes every temp dir created by `createTlsFixtures()` without a `dir` and
 * clears the cache. Call it from `afterAll` (a backstop also runs when the
 * test process ends).
 */
export async function disposeTlsFixtures(): Promise<void> {
  const pending = [...cache.values()];
  cache.clear();
  dirOwners.clear();
  holders.clear();
  await Promise.allSettled(pending);
  removeOwnedDirsSync();
}

/**
 * Vitest helper: fixtures (shared through the cache) acquired in `beforeAll`
 * and released in `afterAll`; the temp dir is removed when its last user
 * releases it. Call at file/describe level; use the accessor inside tests.
 */
export function useTlsFixtures(opts: TlsFixtureOptions = {}): () => TlsFixtures {
  let fixtures: TlsFixtures | undefined;
  beforeAll(async () => {
    fixtures = await createTlsFixtures(undefined, opts);
    holders.set(fixtures.dir, (holders.get(fixtures.dir) ?? 0) + 1);
  });
  afterAll(async () => {
    if (fixtures === undefined) return;
    const left = (holders.get(fixtures.dir) ?? 1) - 1;
    if (left > 0) {
      holders.set(fixtures.dir, left);
      return;
    }
    holders.delete(fixtures.dir);
    for (const [key, pending] of cache) {
      if ((await pending.catch(() => undefined))?.dir === fixtures.dir) cache.delete(key);
    }
    ownedDirs.delete(fixtures.dir);
    await rm(fixtures.dir, { recursive: true, force: true });
  });
  return () => {
    if (fixtures === undefined) throw new Error("useTlsFixtures: no fixtures (beforeAll failed?)");
    return fixtures;
  };
}
