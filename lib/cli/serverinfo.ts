/**
 * `--serverinfo` and `--rmqs`: the two modes that talk to a server without sending mail.
 *
 * @module
 */

import type { Account } from "../config/account.ts";
import type { Capabilities } from "../smtp/capabilities.ts";
import { SmtpError } from "../smtp/errors.ts";
import { SmtpConnection, tlsInfoLines } from "../delivery/connection.ts";

/** The fixed order in which msmtp lists authentication methods. */
const AUTH_ORDER = [
  "PLAIN",
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
  "EXTERNAL",
  "GSSAPI",
  "CRAM-MD5",
  "DIGEST-MD5",
  "LOGIN",
  "NTLM",
  "OAUTHBEARER",
  "XOAUTH2",
];

const MIB = 1024 * 1024;

/** msmtp's description of a SIZE limit. */
export function describeSize(size: number): string {
  if (size === 0) return "Maximum message size is unlimited";
  const unit = size > MIB
    ? ` = ${(size / MIB).toFixed(2)} MiB`
    : size > 1024
    ? ` = ${(size / 1024).toFixed(2)} KiB`
    : "";
  return `Maximum message size is ${size} bytes${unit}`;
}

/**
 * msmtp's `Capabilities:` block for the capabilities it knows.
 *
 * @example Usage
 * ```ts
 * import { formatCapabilities } from "./serverinfo.ts";
 * import { noCapabilities } from "../smtp/capabilities.ts";
 * console.log(formatCapabilities({ ...noCapabilities(), pipelining: true }));
 * // ["Capabilities:", "    PIPELINING:", "        Support for command grouping for faster transmission"]
 * ```
 */
export function formatCapabilities(caps: Capabilities): string[] {
  const out: string[] = [];
  const entry = (name: string, ...text: string[]) =>
    out.push(`    ${name}:`, ...text.map((t) => `        ${t}`));
  if (caps.size !== undefined) entry(`SIZE ${caps.size}`, describeSize(caps.size));
  if (caps.pipelining) entry("PIPELINING", "Support for command grouping for faster transmission");
  if (caps.etrn) entry("ETRN", "Support for RMQS (Remote Message Queue Starting)");
  if (caps.dsn) entry("DSN", "Support for Delivery Status Notifications");
  if (caps.starttls) entry("STARTTLS", "Support for TLS encryption via the STARTTLS command");
  if (caps.authAdvertised) {
    const methods = AUTH_ORDER.filter((m) => caps.auth.has(m)).map((m) => m + " ").join("");
    entry("AUTH", "Supported authentication methods:", methods);
  }
  return out.length === 0 ? ["No special capabilities."] : ["Capabilities:", ...out];
}

/** What msmtp shows after STARTTLS: every capability seen before or after the upgrade. */
function union(a: Capabilities, b: Capabilities): Capabilities {
  return {
    ...b,
    size: b.size ?? a.size,
    pipelining: a.pipelining || b.pipelining,
    etrn: a.etrn || b.etrn,
    dsn: a.dsn || b.dsn,
    starttls: a.starttls || b.starttls,
    authAdvertised: a.authAdvertised || b.authAdvertised,
    auth: new Set([...a.auth, ...b.auth]),
  };
}

/** The first name /etc/hosts gives an address, else the address (getnameinfo's fallback). */
async function hostNameOf(ip: string): Promise<string> {
  try {
    for (const line of (await Deno.readTextFile("/etc/hosts")).split("\n")) {
      const [addr, name] = line.replace(/#.*/, "").trim().split(/\s+/);
      if (addr === ip && name) return name;
    }
  } catch { /* no hosts file: numeric form */ }
  try {
    const [name] = await Deno.resolveDns(reverseName(ip), "PTR");
    if (name) return name.replace(/\.$/, "");
  } catch { /* no reverse entry */ }
  return ip;
}

function reverseName(ip: string): string {
  return ip.includes(":") ? `${ip}.invalid` : `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
}

/** Runs `--serverinfo` and returns the lines to print. */
export async function serverInfo(
  account: Account,
  debug?: (text: string) => void,
): Promise<string[]> {
  const s = account.settings;
  const open = await SmtpConnection.open(s, {
    showCertificate: true,
    authenticate: false,
    ...(debug ? { debug } : {}),
  });
  try {
    const proto = s.protocol === "lmtp" ? "LMTP" : "SMTP";
    const ip = open.peerAddress;
    const where = s.socket
      ? `${proto} server at ${s.socket}:`
      : `${proto} server at ${s.host} (${
        ip ? `${await hostNameOf(ip)} [${ip}]` : s.host
      }), port ${s.port}:`;
    const lines = [where, ...open.greeting.lines.map((l) => `    ${l}`)];
    if (open.tls) lines.push(...tlsInfoLines(open.tls));
    const caps = open.capabilitiesBeforeTls
      ? union(open.capabilitiesBeforeTls, open.capabilities)
      : open.capabilities;
    lines.push(...formatCapabilities(caps));
    if (!open.tls && caps.starttls) {
      lines.push("This server might advertise more or other capabilities when TLS is active.");
    }
    await open.quit();
    return lines;
  } finally {
    open.close();
  }
}

/** Runs `--rmqs=ARG`: ETRN after authenticating when the account says so. */
export async function remoteQueueStart(
  account: Account,
  argument: string,
  env: Readonly<Record<string, string>>,
  debug?: (text: string) => void,
): Promise<void> {
  const s = account.settings;
  const open = await SmtpConnection.open(s, {
    ...(debug ? { debug } : {}),
    env,
    authenticate: false,
  });
  try {
    // msmtp checks ETRN support before it authenticates
    open.session.checkEtrn();
    await open.authenticate();
    await open.session.etrn(argument);
    await open.quit();
  } catch (error) {
    if (error instanceof SmtpError && error.quitAllowed) await open.quit();
    throw error;
  } finally {
    open.close();
  }
}
