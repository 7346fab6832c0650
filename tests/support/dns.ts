/**
 * A private DNS for the direct-delivery tests, on loopback: NSD serves the test zones
 * authoritatively (some of them DNSSEC-signed with `ldns-signzone`), and a validating
 * Unbound in front of it answers queries, with the signed zones' keys as trust anchors.
 * Queries go to {@linkcode TestDns.port} on 127.0.0.1; signed answers carry the AD bit,
 * answers from unsigned zones do not, exactly as from a real validating resolver.
 *
 * Both servers run in the foreground as child processes and are stopped by their PID.
 * Debian packages: `nsd`, `unbound`, `ldnsutils` (see scripts/install.sh).
 *
 * @module
 */

import { canConnect, delay, freePort, killOnExit } from "./process.ts";

/** One zone of the test DNS. */
export interface TestZone {
  /** The zone name without the final dot (`direct.test`). */
  name: string;
  /**
   * Resource records in zone-file syntax, owner names relative to the zone or absolute
   * with a final dot (`"@ MX 10 mx1"`, `"mx1 A 127.0.0.2"`). SOA and NS are added.
   */
  records: string[];
  /** Sign the zone and make its key a trust anchor of the resolver. */
  signed?: boolean;
}

/** A running test DNS; call {@linkcode TestDns.stop} when done. */
export interface TestDns {
  /** The validating resolver's address. */
  address: "127.0.0.1";
  /** The validating resolver's UDP/TCP port. */
  port: number;
  /** `127.0.0.1:PORT`, the form of the `dns_server` command. */
  server: string;
  /** The temporary directory holding zones, keys, configuration and logs. */
  dir: string;
  /** Stops both servers and removes the directory. */
  stop(): Promise<void>;
}

const BINARIES = ["/usr/sbin/nsd", "/usr/sbin/unbound", "/usr/bin/ldns-signzone"];

/**
 * Tells why the test DNS cannot run here, or `undefined` if it can.
 *
 * @example Usage
 * ```ts
 * import { dnsUnavailable } from "./dns.ts";
 * Deno.test({ name: "…", ignore: dnsUnavailable() !== undefined, fn() {} });
 * ```
 */
export function dnsUnavailable(): string | undefined {
  for (const binary of BINARIES) {
    try {
      Deno.statSync(binary);
    } catch {
      return `${binary} is missing: install nsd, unbound and ldnsutils (scripts/install.sh)`;
    }
  }
  return undefined;
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

function zoneText(zone: TestZone): string {
  return [
    `$ORIGIN ${zone.name}.`,
    "$TTL 60",
    `@ SOA ns.${zone.name}. hostmaster.${zone.name}. 1 3600 600 86400 60`,
    `@ NS ns.${zone.name}.`,
    "ns A 127.0.0.1",
    ...zone.records,
  ].join("\n") + "\n";
}

/** Signs a zone file; returns the KSK's DS record (the trust anchor). */
async function signZone(dir: string, zone: TestZone): Promise<string> {
  const ksk = await run("ldns-keygen", ["-a", "ECDSAP256SHA256", "-k", zone.name], dir);
  const zsk = await run("ldns-keygen", ["-a", "ECDSAP256SHA256", zone.name], dir);
  await run("ldns-signzone", ["-n", `${zone.name}.zone`, ksk, zsk], dir);
  await Deno.rename(`${dir}/${zone.name}.zone.signed`, `${dir}/${zone.name}.zone`);
  const dsFile = await run("ldns-key2ds", ["-n", "-2", `${ksk}.key`], dir);
  return dsFile.split("\n").find((l) => /\sDS\s/.test(l)) ?? dsFile;
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  log: () => Promise<string>,
  what: string,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 100; i++) {
    if (exited) break;
    if (await canConnect(port)) return;
    await delay(50);
  }
  throw new Error(`${what} did not start on port ${port}: ${await log()}`);
}

/**
 * Starts NSD with the zones and a validating Unbound in front of it.
 *
 * @example Usage
 * ```ts ignore
 * import { startDns } from "./dns.ts";
 * const dns = await startDns([{ name: "direct.test", records: ["@ MX 10 mx1", "mx1 A 127.0.0.2"] }]);
 * try {
 *   const mx = await Deno.resolveDns("direct.test", "MX", {
 *     nameServer: { ipAddr: dns.address, port: dns.port },
 *   });
 * } finally {
 *   await dns.stop();
 * }
 * ```
 */
export async function startDns(zones: TestZone[]): Promise<TestDns> {
  const reason = dnsUnavailable();
  if (reason) throw new Error(`cannot start the test DNS: ${reason}`);
  const dir = await Deno.makeTempDir({ prefix: "postie-dns-" });
  const children: { child: Deno.ChildProcess; cancel: () => void }[] = [];
  const stop = async (): Promise<void> => {
    for (const { child, cancel } of children.splice(0)) {
      cancel();
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 3000);
      await child.status;
      clearTimeout(timer);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const anchors: string[] = [];
    for (const zone of zones) {
      await Deno.writeTextFile(`${dir}/${zone.name}.zone`, zoneText(zone));
      if (zone.signed) anchors.push(await signZone(dir, zone));
    }
    const nsdPort = freePort();
    await Deno.writeTextFile(
      `${dir}/nsd.conf`,
      [
        "server:",
        "  ip-address: 127.0.0.1",
        `  port: ${nsdPort}`,
        '  username: ""',
        '  chroot: ""',
        `  zonesdir: "${dir}"`,
        '  database: ""',
        `  zonelistfile: "${dir}/zone.list"`,
        `  xfrdfile: "${dir}/xfrd.state"`,
        `  pidfile: "${dir}/nsd.pid"`,
        `  logfile: "${dir}/nsd.log"`,
        "  server-count: 1",
        "  verbosity: 1",
        "remote-control:",
        "  control-enable: no",
        ...zones.flatMap((z) => ["zone:", `  name: "${z.name}"`, `  zonefile: "${z.name}.zone"`]),
      ].join("\n") + "\n",
    );
    const nsd = new Deno.Command("/usr/sbin/nsd", {
      args: ["-d", "-c", `${dir}/nsd.conf`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    children.push({ child: nsd, cancel: killOnExit(nsd.pid) });
    await waitForPort(
      nsdPort,
      nsd,
      () => Deno.readTextFile(`${dir}/nsd.log`).catch(() => ""),
      "nsd",
    );

    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/unbound.conf`,
      [
        "server:",
        "  interface: 127.0.0.1",
        `  port: ${port}`,
        "  do-daemonize: no",
        '  username: ""',
        '  chroot: ""',
        `  directory: "${dir}"`,
        `  pidfile: "${dir}/unbound.pid"`,
        `  logfile: "${dir}/unbound.log"`,
        "  use-syslog: no",
        "  verbosity: 1",
        "  val-log-level: 2",
        "  num-threads: 1",
        "  do-ip6: no",
        "  access-control: 127.0.0.0/8 allow",
        "  do-not-query-localhost: no",
        "  qname-minimisation: no",
        '  module-config: "validator iterator"',
        // every test starts from nothing cached
        "  cache-max-ttl: 0",
        "  cache-max-negative-ttl: 0",
        // unbound answers the RFC 6761 names (test., invalid.) itself unless told not to
        ...["test", "invalid", "example", "local"].map((tld) =>
          `  local-zone: "${tld}." nodefault`
        ),
        ...anchors.map((ds) => `  trust-anchor: "${ds.replace(/\s+/g, " ")}"`),
        "remote-control:",
        "  control-enable: no",
        ...zones.flatMap((z) => [
          "stub-zone:",
          `  name: "${z.name}"`,
          `  stub-addr: 127.0.0.1@${nsdPort}`,
        ]),
      ].join("\n") + "\n",
    );
    const unbound = new Deno.Command("/usr/sbin/unbound", {
      args: ["-d", "-c", `${dir}/unbound.conf`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    children.push({ child: unbound, cancel: killOnExit(unbound.pid) });
    await waitForPort(
      port,
      unbound,
      () => Deno.readTextFile(`${dir}/unbound.log`).catch(() => ""),
      "unbound",
    );
    return { address: "127.0.0.1", port, server: `127.0.0.1:${port}`, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
