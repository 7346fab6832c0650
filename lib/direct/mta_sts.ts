/**
 * MTA-STS (RFC 8461): a domain publishes `v=STSv1; id=…` at `_mta-sts.DOMAIN` and a policy
 * at `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`; with `mode: enforce` its mail goes
 * only to MX hosts matching the policy's `mx` patterns, only over TLS with a certificate
 * valid for the MX name. Policies are cached on disk for their `max_age` and fetched again
 * when the TXT record's id changes.
 *
 * The policy is fetched over a connection of postie's own (lib/net), so that
 * `mta-sts.DOMAIN` is resolved through the configured resolver and the certificate is
 * checked against `tls_trust_file`.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { connect } from "../net/connect.ts";
import type { DomainPolicy } from "./deliver.ts";
import type { Resolver } from "./dns.ts";

/** A parsed MTA-STS policy. */
export interface StsPolicy {
  version: "STSv1";
  mode: "enforce" | "testing" | "none";
  /** The `mx` patterns, lower case, in order, without duplicates. */
  mx: string[];
  /** Seconds the policy may be cached. */
  maxAge: number;
}

/**
 * A policy text that is not a valid RFC 8461 policy, or a policy that could not be fetched.
 *
 * @example Usage
 * ```ts
 * import { StsError } from "./mta_sts.ts";
 * console.log(new StsError("invalid mode field").message); // "invalid mode field"
 * ```
 */
export class StsError extends PostieError {
  /** An MTA-STS failure (temporary: the policy may be fixed or reachable later). */
  constructor(message: string, cause?: unknown) {
    super(message, ExitCode.TEMPFAIL, cause === undefined ? {} : { cause });
    this.name = "StsError";
  }
}

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (a year). */
const MAX_AGE_LIMIT = 31_557_600;
/** The `sts-policy-ext-name` rule. */
const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** An `mx` pattern: a domain name, optionally with `*.` in front. */
const MX_PATTERN =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
/** Fetched policies larger than this are refused (RFC 8461 §3.3 suggests 64 KiB). */
const MAX_POLICY_BYTES = 64 * 1024;

/**
 * Parses a policy body strictly by RFC 8461 §3.2: `key: value` lines ended by LF or CRLF;
 * `version` must be `STSv1`; `mode` one of `enforce`, `testing`, `none`; `max_age` up to
 * 31557600; at least one `mx` unless the mode is `none`. Unknown fields are ignored; of a
 * repeated field other than `mx` the first counts.
 *
 * @throws {StsError} naming the field at fault.
 *
 * @example Usage
 * ```ts
 * import { parseStsPolicy } from "./mta_sts.ts";
 * const policy = parseStsPolicy("version: STSv1\r\nmode: enforce\r\nmx: *.example.org\r\nmax_age: 86400\r\n");
 * console.log(policy); // { version: "STSv1", mode: "enforce", mx: ["*.example.org"], maxAge: 86400 }
 * ```
 */
export function parseStsPolicy(text: string): StsPolicy {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  let badMx: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    if (!FIELD_NAME.test(key)) continue;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (key === "mx") {
      if (!MX_PATTERN.test(value)) badMx ??= value;
      const pattern = value.toLowerCase();
      if (!mx.includes(pattern)) mx.push(pattern);
    } else if (!fields.has(key)) {
      fields.set(key, value);
    }
  }
  if (fields.get("version") !== "STSv1") throw new StsError("invalid or missing version field");
  const mode = fields.get("mode");
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") {
    throw new StsError(mode === undefined ? "missing mode field" : `invalid mode field ${mode}`);
  }
  const age = fields.get("max_age");
  if (age === undefined || !/^[0-9]{1,10}$/.test(age) || Number(age) > MAX_AGE_LIMIT) {
    throw new StsError("invalid or missing max_age field");
  }
  if (badMx !== undefined) throw new StsError(`invalid mx field ${badMx}`);
  if (mode !== "none" && mx.length === 0) throw new StsError("missing mx field");
  return { version: "STSv1", mode, mx, maxAge: Number(age) };
}

/**
 * The id of a domain's MTA-STS TXT record: exactly one of the TXT strings must start with
 * `v=STSv1`, with an `id` of 1 to 32 letters and digits; otherwise there is no policy.
 *
 * @example Usage
 * ```ts
 * import { stsRecordId } from "./mta_sts.ts";
 * console.log(stsRecordId(["v=STSv1; id=20261202T0800;"])); // "20261202T0800"
 * console.log(stsRecordId(["v=STSv1; id=a", "v=STSv1; id=b"])); // undefined
 * ```
 */
export function stsRecordId(txt: readonly string[]): string | undefined {
  const records = txt.filter((t) => /^v=STSv1(;|$)/.test(t));
  if (records.length !== 1) return undefined;
  let id: string | undefined;
  for (const part of records[0].split(";")) {
    const match = /^[ \t]*([A-Za-z0-9_.-]+)=([^;]*?)[ \t]*$/.exec(part);
    if (match === null) {
      if (part.trim() === "") continue;
      return undefined;
    }
    if (match[1] === "id" && id === undefined) id = match[2];
  }
  return id !== undefined && /^[A-Za-z0-9]{1,32}$/.test(id) ? id : undefined;
}

/**
 * Whether an MX host name matches one of a policy's patterns: equal without case, or
 * `*.suffix` standing for exactly one leftmost label.
 *
 * @example Usage
 * ```ts
 * import { mxMatches } from "./mta_sts.ts";
 * console.log(mxMatches("mx1.example.org", ["*.example.org"])); // true
 * console.log(mxMatches("a.mx1.example.org", ["*.example.org"])); // false
 * ```
 */
export function mxMatches(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "" || name.includes("*")) return false;
  return patterns.some((raw) => {
    const pattern = raw.toLowerCase().replace(/\.$/, "");
    if (!pattern.startsWith("*.")) return pattern === name;
    const suffix = pattern.slice(1);
    const label = name.slice(0, name.length - suffix.length);
    return name.endsWith(suffix) && label.length > 0 && !label.includes(".");
  });
}

/** How to fetch a policy. */
export interface StsFetchOptions {
  resolver: Resolver;
  /** PEM file of trusted CAs or `system` (`tls_trust_file`). */
  trustFile: string;
  /** Bound on connecting, the handshake and each read and write, in ms. */
  timeoutMs: number;
  /** The HTTPS port (tests); 443. */
  port?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Splits an HTTP/1.1 response into status, headers and the (de-chunked) body. */
function parseHttpResponse(bytes: Uint8Array): { status: number; type: string; body: string } {
  const text = decoder.decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new StsError("the policy server sent no complete HTTP response");
  const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (status === null) throw new StsError("the policy server sent no HTTP response");
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  let body = text.slice(end + 4);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    let out = "";
    let rest = body;
    for (let i = 0; i < 10_000; i++) {
      const lineEnd = rest.indexOf("\r\n");
      if (lineEnd < 0) break;
      const size = parseInt(rest.slice(0, lineEnd), 16);
      if (!Number.isFinite(size) || size === 0) break;
      out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
    body = out;
  } else if (headers.has("content-length")) {
    body = body.slice(0, Number(headers.get("content-length")));
  }
  return { status: Number(status[1]), type: headers.get("content-type") ?? "", body };
}

/**
 * Fetches and parses `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`, resolving the host
 * through `resolver`, checking its certificate against `trustFile`, following no
 * redirects (RFC 8461 §3.3).
 *
 * @throws {StsError} no address, connection or TLS failure, not a 200 `text/plain`
 * answer, a body over 64 KiB, or an invalid policy.
 *
 * @example Usage
 * ```ts ignore
 * import { fetchStsPolicy } from "./mta_sts.ts";
 * import { createResolver } from "./dns.ts";
 * const policy = await fetchStsPolicy("example.org", {
 *   resolver: createResolver(undefined), trustFile: "system", timeoutMs: 10_000,
 * });
 * ```
 */
export async function fetchStsPolicy(domain: string, options: StsFetchOptions): Promise<StsPolicy> {
  const host = `mta-sts.${domain}`;
  const addresses = await options.resolver.addresses(host);
  if (addresses.length === 0) throw new StsError(`${host} has no address`);
  let lastError: unknown;
  for (const address of addresses) {
    let transport;
    try {
      transport = await connect({
        host: address,
        port: options.port ?? 443,
        timeoutMs: options.timeoutMs,
        tls: {
          implicit: true,
          hostname: host,
          trustFile: options.trustFile,
          certcheck: true,
          fingerprint: null,
          certFile: null,
          keyFile: null,
        },
      });
    } catch (error) {
      lastError = error;
      continue;
    }
    // the whole exchange, not only each read, is bounded: a server trickling bytes is slow
    const deadline = setTimeout(() => transport.close(), options.timeoutMs);
    try {
      await transport.write(encoder.encode(
        `GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: postie\r\n` +
          "Accept: text/plain\r\nConnection: close\r\n\r\n",
      ));
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (let chunk = await transport.read(); chunk !== null; chunk = await transport.read()) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > MAX_POLICY_BYTES + 16 * 1024) {
          throw new StsError(`the policy at ${host} is larger than 64 KiB`);
        }
      }
      const all = new Uint8Array(size);
      let offset = 0;
      for (const c of chunks) {
        all.set(c, offset);
        offset += c.length;
      }
      const response = parseHttpResponse(all);
      if (response.status !== 200) {
        throw new StsError(`the policy server ${host} answered HTTP ${response.status}`);
      }
      if (!/^text\/plain\s*(;|$)/i.test(response.type)) {
        throw new StsError(`the policy at ${host} is not text/plain`);
      }
      return parseStsPolicy(response.body);
    } catch (error) {
      if (error instanceof StsError) throw error;
      lastError = error;
    } finally {
      clearTimeout(deadline);
      transport.close();
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new StsError(`cannot fetch the MTA-STS policy from ${host}: ${reason}`, lastError);
}

/** A cached policy: the TXT id it belongs to and when it expires. */
interface CacheEntry {
  id: string;
  /** Milliseconds since the epoch. */
  expires: number;
  policy: StsPolicy;
}

/** Where and how policies are looked up and cached. */
export interface StsLookupOptions extends StsFetchOptions {
  /** The cache directory (created when missing, mode 0700); none: nothing is cached. */
  cacheDir?: string;
  /** The current time (tests); `Date.now()` by default. */
  now?: () => number;
  /** Receives a line for each notable event (fetch failures, a stale cache used). */
  note?: (text: string) => void;
}

function cacheFile(dir: string, domain: string): string {
  return `${dir}/${domain.toLowerCase().replace(/[^a-z0-9.-]/g, "_")}.json`;
}

async function readCache(dir: string, domain: string): Promise<CacheEntry | undefined> {
  try {
    const entry = JSON.parse(await Deno.readTextFile(cacheFile(dir, domain))) as CacheEntry;
    // re-parsed by the same rules: a damaged cache file is no cache
    if (typeof entry.id !== "string" || typeof entry.expires !== "number") return undefined;
    const p = entry.policy;
    parseStsPolicy(
      `version: ${p.version}\nmode: ${p.mode}\nmax_age: ${p.maxAge}\n${
        p.mx.map((m) => `mx: ${m}\n`).join("")
      }`,
    );
    return entry;
  } catch {
    return undefined;
  }
}

async function writeCache(dir: string, domain: string, entry: CacheEntry): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = cacheFile(dir, domain);
  const tmp = `${file}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(entry) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, file);
}

/**
 * The MTA-STS policy in force for a domain, or undefined when none applies: the cached one
 * while its TXT id is unchanged and it has not expired, else a fresh one (cached for its
 * `max_age`). When the TXT record cannot be read or the fetch fails, a policy still in the
 * cache stays in force (RFC 8461 §5.1); without one there is no policy.
 *
 * @example Usage
 * ```ts ignore
 * import { lookupStsPolicy } from "./mta_sts.ts";
 * const policy = await lookupStsPolicy("example.org", {
 *   resolver, trustFile: "system", timeoutMs: 10_000, cacheDir: "/var/cache/postie/mta-sts",
 * });
 * ```
 */
export async function lookupStsPolicy(
  domain: string,
  options: StsLookupOptions,
): Promise<StsPolicy | undefined> {
  const now = options.now?.() ?? Date.now();
  const note = options.note ?? (() => {});
  const cacheDir = options.cacheDir;
  const cached = cacheDir === undefined ? undefined : await readCache(cacheDir, domain);
  const live = cached !== undefined && cached.expires > now ? cached : undefined;
  let id: string | undefined;
  try {
    id = stsRecordId(await options.resolver.txt(`_mta-sts.${domain}`));
  } catch (error) {
    if (!(error instanceof PostieError)) throw error;
    note(`MTA-STS: ${error.message}${live ? "; using the cached policy" : ""}`);
    return live?.policy;
  }
  if (id === undefined) return live?.policy;
  if (live !== undefined && live.id === id) return live.policy;
  try {
    const policy = await fetchStsPolicy(domain, options);
    if (cacheDir !== undefined) {
      await writeCache(cacheDir, domain, { id, expires: now + policy.maxAge * 1000, policy })
        .catch((error) => note(`MTA-STS: cannot cache the policy of ${domain}: ${error}`));
    }
    return policy;
  } catch (error) {
    if (!(error instanceof PostieError)) throw error;
    note(
      `MTA-STS: ${domain}: ${error.message}; ` +
        (live ? "using the cached policy" : "delivering without a policy"),
    );
    return live?.policy;
  }
}

/**
 * The delivery rules of a policy: `enforce` and `testing` restrict MX hosts and require a
 * verified certificate (`testing` only reports violations); `none` is no policy.
 *
 * @example Usage
 * ```ts
 * import { stsDomainPolicy } from "./mta_sts.ts";
 * const rules = stsDomainPolicy(
 *   { version: "STSv1", mode: "enforce", mx: ["*.example.org"], maxAge: 60 },
 *   "system",
 * );
 * console.log(rules?.allows("mx1.example.org"), rules?.allows("mx.other.net")); // true false
 * ```
 */
export function stsDomainPolicy(
  policy: StsPolicy | undefined,
  trustFile: string,
): DomainPolicy | undefined {
  if (policy === undefined || policy.mode === "none") return undefined;
  const testing = policy.mode === "testing";
  return {
    allows: (host) => mxMatches(host, policy.mx),
    tls: { kind: "verify", trustFile, testing, source: `MTA-STS ${policy.mode}` },
    describe: `MTA-STS ${policy.mode}`,
    testing,
  };
}
