/**
 * The server's EHLO/LHLO capabilities as a typed record (msmtp's `smtp_cap_t`), never as
 * raw lines. Recomputed after STARTTLS because a server may offer more under TLS.
 *
 * @module
 */

import type { Reply } from "./reply.ts";

/** What the server advertised in its EHLO or LHLO reply. */
export interface Capabilities {
  /**
   * `SIZE n` (RFC 1870): the maximum message size, 0 meaning unlimited; undefined when
   * not advertised or not a valid number (msmtp ignores `SIZE` without a number).
   */
  size: number | undefined;
  /** `PIPELINING` (RFC 2920). */
  pipelining: boolean;
  /** `ETRN` (RFC 1985). */
  etrn: boolean;
  /** `DSN` (RFC 3461). */
  dsn: boolean;
  /** `STARTTLS` (RFC 3207). */
  starttls: boolean;
  /** Whether an `AUTH` (or the broken `AUTH=`) line was present, even with no method. */
  authAdvertised: boolean;
  /** The SASL mechanisms offered, upper case. */
  auth: ReadonlySet<string>;
  /** `8BITMIME` (RFC 6152); msmtp 1.8.23 ignores it. */
  eightBitMime: boolean;
  /** `SMTPUTF8` (RFC 6531). */
  smtputf8: boolean;
  /** `CHUNKING` (RFC 3030); msmtp ignores it. */
  chunking: boolean;
  /** `ENHANCEDSTATUSCODES` (RFC 2034). */
  enhancedStatusCodes: boolean;
}

/**
 * The capabilities of a server that answered HELO (or nothing yet): none at all.
 *
 * @example Usage
 * ```ts
 * import { noCapabilities } from "./capabilities.ts";
 * console.log(noCapabilities().pipelining); // false
 * ```
 */
export function noCapabilities(): Capabilities {
  return {
    size: undefined,
    pipelining: false,
    etrn: false,
    dsn: false,
    starttls: false,
    authAdvertised: false,
    auth: new Set(),
    eightBitMime: false,
    smtputf8: false,
    chunking: false,
    enhancedStatusCodes: false,
  };
}

/**
 * Reads the capabilities from an EHLO/LHLO reply. The first line is the server's name and
 * is skipped; keywords are case-insensitive; `AUTH=` lines from old servers count.
 *
 * @example Usage
 * ```ts
 * import { parseCapabilities } from "./capabilities.ts";
 * const caps = parseCapabilities({
 *   lines: ["mail.example", "PIPELINING", "SIZE 35882577", "AUTH PLAIN LOGIN"],
 * });
 * console.log(caps.size, caps.pipelining, [...caps.auth]); // 35882577 true ["PLAIN", "LOGIN"]
 * ```
 */
export function parseCapabilities(reply: { lines: readonly string[] } | Reply): Capabilities {
  const caps = noCapabilities();
  const auth = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const text = line.toUpperCase();
    const keyword = /^[^ =\t]*/.exec(text)![0];
    switch (keyword) {
      case "PIPELINING":
        caps.pipelining = true;
        break;
      case "ETRN":
        caps.etrn = true;
        break;
      case "DSN":
        caps.dsn = true;
        break;
      case "STARTTLS":
        caps.starttls = true;
        break;
      case "8BITMIME":
        caps.eightBitMime = true;
        break;
      case "SMTPUTF8":
        caps.smtputf8 = true;
        break;
      case "CHUNKING":
        caps.chunking = true;
        break;
      case "ENHANCEDSTATUSCODES":
        caps.enhancedStatusCodes = true;
        break;
      case "SIZE": {
        // strtol semantics as in msmtp: leading blanks, a plain number, nothing after it.
        const m = /^[ \t]*\+?(\d+)$/.exec(text.slice(4));
        if (m) {
          const n = Number(m[1]);
          if (Number.isSafeInteger(n)) caps.size = n;
        }
        break;
      }
      case "AUTH": {
        const sep = text[4];
        if (sep === " " || sep === "=") {
          caps.authAdvertised = true;
          for (const mech of text.slice(5).split(/[ \t]+/)) if (mech) auth.add(mech);
        }
        break;
      }
    }
  }
  caps.auth = auth;
  return caps;
}
