/**
 * `--configure=ADDRESS`: an account for a mail address from its domain's SRV records
 * (RFC 6186/8314): `_submissions._tcp` (implicit TLS) first, then `_submission._tcp`
 * (STARTTLS). Prints msmtp's configuration excerpt.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";

/** One SRV answer. */
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** Looks up the SRV records of a name; an empty list when there are none. */
export type SrvResolver = (name: string) => Promise<SrvRecord[]>;

const FAILED = "automatic configuration based on SRV records failed";

/** The records of `name` through Deno's resolver, bounded in time; none on any failure. */
export async function denoResolveSrv(name: string): Promise<SrvRecord[]> {
  try {
    return await Deno.resolveDns(name, "SRV", { signal: AbortSignal.timeout(10_000) });
  } catch {
    return [];
  }
}

/** The record to use: lowest priority, then highest weight (RFC 2782). */
function best(records: SrvRecord[]): SrvRecord | undefined {
  return [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
}

/** Whether `host` lies within `domain`, compared from the end as msmtp does. */
function hostMatchesDomain(host: string, domain: string): boolean {
  return domain.length > 0 && host.toLowerCase().endsWith(domain.toLowerCase());
}

/**
 * The configuration excerpt for `address`, to be added to `configFile`.
 *
 * @throws {PostieError} `invalid mail address` (EX_DATAERR) or no SRV records (EX_NOHOST).
 * @example Usage
 * ```ts
 * import { configureAccount } from "./configure.ts";
 * const text = await configureAccount("joe@example.org", "~/.msmtprc", () =>
 *   Promise.resolve([{ priority: 0, weight: 1, port: 465, target: "smtp.example.org." }]));
 * console.log(text.split("\n")[4]); // "host smtp.example.org"
 * ```
 */
export async function configureAccount(
  address: string,
  configFile: string,
  resolveSrv: SrvResolver = denoResolveSrv,
): Promise<string> {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) {
    throw new PostieError(`${FAILED}: invalid mail address`, ExitCode.DATAERR);
  }
  const localPart = address.slice(0, at);
  const domain = address.slice(at + 1);
  const submissions = `_submissions._tcp.${domain}`;
  const submission = `_submission._tcp.${domain}`;
  let record = best(await resolveSrv(submissions));
  const starttls = record === undefined;
  if (starttls) record = best(await resolveSrv(submission));
  if (record === undefined) {
    throw new PostieError(
      `${FAILED}: no SRV records for ${submissions} or ${submission}`,
      ExitCode.NOHOST,
    );
  }
  const host = record.target.replace(/\.$/, "");
  return [
    `# - copy this to your configuration file ${configFile}`,
    ...(hostMatchesDomain(host, domain)
      ? []
      : ["# - warning: the host does not match the mail domain; please check"]),
    "# - add your password to the key ring:",
    `#   secret-tool store --label=msmtp host ${host} service smtp user ${localPart}`,
    `account ${address}`,
    `host ${host}`,
    `port ${record.port}`,
    "tls on",
    `tls_starttls ${starttls ? "on" : "off"}`,
    "auth on",
    `user ${localPart}`,
    `from ${address}`,
    "",
  ].join("\n");
}
