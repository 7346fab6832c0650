/**
 * One delivery attempt at one address of one mail host: connect to port 25, greet, EHLO
 * with the host's name, STARTTLS as the TLS policy says, then MAIL, RCPT and DATA, with an
 * outcome per recipient. A refused recipient does not abort the others.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { connect } from "../net/connect.ts";
import type { TlsInfo, TlsOptions } from "../net/transport.ts";
import { SmtpError, SmtpReplyError } from "../smtp/errors.ts";
import { TlsError } from "../net/errors.ts";
import type { Reply } from "../smtp/reply.ts";
import type { DsnOptions } from "../smtp/command.ts";
import { SmtpSession } from "../smtp/session.ts";

/**
 * How TLS is used with one host:
 * - `opportunistic`: STARTTLS when offered, the certificate not checked; a failed handshake
 *   falls back to plain text (no policy applies to the host).
 * - `verify`: STARTTLS required, the certificate checked against `trustFile` and the MX
 *   name (MTA-STS `enforce`); with `testing`, a failure is only reported and the mail goes
 *   out as with `opportunistic` (MTA-STS `testing`).
 * - `dane`: STARTTLS required and the certificate chain checked against TLSA records.
 */
export type TlsPolicy =
  | { kind: "opportunistic" }
  | { kind: "verify"; trustFile: string; testing: boolean; source: string }
  | { kind: "dane"; check: (info: TlsInfo) => Promise<string | undefined> };

/** What one attempt needs. */
export interface HopRequest {
  /** The IP address to connect to. */
  address: string;
  /** The mail host's name (certificate name, log lines). */
  host: string;
  port: number;
  /** EHLO argument. */
  domain: string;
  from: string;
  recipients: string[];
  dsn?: DsnOptions;
  /** A fresh DATA payload (CRLF, dot-stuffed) per call. */
  openData: () => ReadableStream<Uint8Array>;
  policy: TlsPolicy;
  timeoutMs: number;
  /** The local address to connect from (`source_ip`). */
  sourceIp?: string | null;
  debug?: (text: string) => void;
  /** Receives notes worth logging (a TLS fallback, an MTA-STS testing failure). */
  note?: (text: string) => void;
}

/** The outcome of one recipient at one host. */
export interface HopRecipient {
  recipient: string;
  status: "delivered" | "temporary" | "permanent";
  reply?: Reply;
  message?: string;
  exitCode: ExitCode;
}

/** How an attempt ended. */
export type HopResult =
  | {
    /** The host took part in a transaction: outcomes per recipient. */
    kind: "transaction";
    tls: boolean;
    /** The final reply to the data, when some recipient got the mail. */
    reply?: Reply;
    recipients: HopRecipient[];
  }
  | {
    /** No transaction: the host could not be reached or refused the session. */
    kind: "unreachable";
    message: string;
    reply?: Reply;
  };

/** A host does not meet the TLS a policy requires (temporary: try another host, or later). */
class TlsPolicyError extends PostieError {
  constructor(message: string) {
    super(message, ExitCode.TEMPFAIL);
    this.name = "TlsPolicyError";
  }
}

const NO_CHECK: Omit<TlsOptions, "hostname"> = {
  trustFile: null,
  certcheck: false,
  fingerprint: null,
  certFile: null,
  keyFile: null,
};

interface Opened {
  session: SmtpSession;
  tls: boolean;
}

function statusOf(code: number): "temporary" | "permanent" {
  return code >= 400 && code <= 499 ? "temporary" : "permanent";
}

/** Opens a session, applying the TLS policy; `plain` skips STARTTLS (fallback). */
async function open(req: HopRequest, plain: boolean, verify: boolean): Promise<Opened> {
  const transport = await connect({
    host: req.address,
    port: req.port,
    sourceIp: req.sourceIp ?? null,
    timeoutMs: req.timeoutMs,
    showCertificate: req.policy.kind === "dane",
  });
  const session = new SmtpSession(transport, req.debug ? { debug: req.debug } : {});
  try {
    await session.greet();
    const caps = await session.ehlo(req.domain);
    const required = req.policy.kind === "dane" ||
      (req.policy.kind === "verify" && verify);
    if (plain) return { session, tls: false };
    if (!caps.starttls) {
      if (required) {
        throw new TlsPolicyError(
          `${req.host} does not offer STARTTLS, which ${policyName(req.policy)} requires`,
        );
      }
      return { session, tls: false };
    }
    const options: TlsOptions = req.policy.kind === "verify" && verify
      ? { ...NO_CHECK, hostname: req.host, trustFile: req.policy.trustFile, certcheck: true }
      : { ...NO_CHECK, hostname: req.host };
    const info = await session.startTls(options);
    if (req.policy.kind === "dane") {
      const problem = await req.policy.check(info);
      if (problem !== undefined) {
        throw new TlsPolicyError(`${req.host}: ${problem}`);
      }
    }
    return { session, tls: true };
  } catch (error) {
    session.close();
    throw error;
  }
}

function policyName(policy: TlsPolicy): string {
  return policy.kind === "dane" ? "DANE" : policy.kind === "verify" ? policy.source : "policy";
}

/** Opens a session; TLS failures fall back as the policy allows. */
async function openWithPolicy(req: HopRequest): Promise<Opened> {
  const policy = req.policy;
  try {
    return await open(req, false, true);
  } catch (error) {
    if (!(error instanceof PostieError) || !isTlsFailure(error)) throw error;
    if (policy.kind === "dane" || (policy.kind === "verify" && !policy.testing)) throw error;
    if (policy.kind === "verify") {
      req.note?.(
        `${policy.source}: ${req.host} [${req.address}] would fail: ${error.message}`,
      );
      try {
        return await open(req, false, false);
      } catch (second) {
        if (!(second instanceof PostieError) || !isTlsFailure(second)) throw second;
      }
    }
    req.note?.(`${req.host} [${req.address}]: ${error.message}; sending without TLS`);
    return await open(req, true, false);
  }
}

/** TLS went wrong: the handshake, the certificate, STARTTLS refused or missing. */
function isTlsFailure(error: PostieError): boolean {
  return error instanceof TlsError || error instanceof TlsPolicyError ||
    (error instanceof SmtpError && error.stage === "starttls");
}

/**
 * Makes one delivery attempt. Never throws for a failure of the host: the result says
 * whether a transaction took place and how each recipient fared.
 *
 * @example Usage
 * ```ts ignore
 * import { attemptHop } from "./hop.ts";
 * const result = await attemptHop({
 *   address: "192.0.2.1", host: "mx.example.org", port: 25, domain: "client.example",
 *   from: "a@client.example", recipients: ["b@example.org"], timeoutMs: 60_000,
 *   openData: () => ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\nhi\r\n")]),
 *   policy: { kind: "opportunistic" },
 * });
 * ```
 */
export async function attemptHop(req: HopRequest): Promise<HopResult> {
  const outcomes: HopRecipient[] = [];
  let remaining = [...req.recipients];
  let finalReply: Reply | undefined;
  let tls = false;
  let opened: Opened | undefined;
  // Refused recipients are reported one by one (partial), except when every one is refused:
  // the SMTP layer then reports only the first, and the others are asked again in a new
  // session. Bounded: each round settles at least one recipient.
  for (let round = 0; remaining.length > 0 && round <= req.recipients.length; round++) {
    try {
      opened = await openWithPolicy(req);
    } catch (error) {
      if (!(error instanceof PostieError)) throw error;
      if (round === 0) {
        return {
          kind: "unreachable",
          message: error.message,
          ...(error instanceof SmtpReplyError ? { reply: error.reply } : {}),
        };
      }
      for (const recipient of remaining) {
        outcomes.push({
          recipient,
          status: "temporary",
          message: error.message,
          exitCode: ExitCode.TEMPFAIL,
        });
      }
      remaining = [];
      break;
    }
    tls = opened.tls;
    const session = opened.session;
    try {
      const result = await session.send(
        { from: req.from, recipients: remaining, ...(req.dsn ? { dsn: req.dsn } : {}) },
        req.openData(),
        { partial: true },
      );
      finalReply = result.reply;
      for (const recipient of result.accepted) {
        outcomes.push({
          recipient,
          status: "delivered",
          exitCode: ExitCode.OK,
          ...(result.reply ? { reply: result.reply } : {}),
        });
      }
      for (const refusal of result.rejected) {
        const status = statusOf(refusal.reply.code);
        outcomes.push({
          recipient: refusal.address,
          status,
          reply: refusal.reply,
          message: `recipient address ${refusal.address} not accepted by the server`,
          exitCode: status === "temporary" ? ExitCode.TEMPFAIL : ExitCode.DATAERR,
        });
      }
      remaining = [];
      await session.quit();
    } catch (error) {
      if (!(error instanceof PostieError)) throw error;
      if (error instanceof SmtpReplyError && error.stage === "rcpt") {
        const refused = remaining.find((r) =>
          error.message === `recipient address ${r} not accepted by the server`
        ) ?? remaining[0];
        const status = statusOf(error.reply.code);
        outcomes.push({
          recipient: refused,
          status,
          reply: error.reply,
          message: error.message,
          exitCode: status === "temporary" ? ExitCode.TEMPFAIL : error.exitCode,
        });
        remaining = remaining.filter((r) =>
          r !== refused
        );
      } else {
        const reply = error instanceof SmtpReplyError ? error.reply : undefined;
        const status = reply ? statusOf(reply.code) : "temporary";
        for (const recipient of remaining) {
          outcomes.push({
            recipient,
            status,
            message: error.message,
            exitCode: status === "temporary" ? ExitCode.TEMPFAIL : error.exitCode,
            ...(reply ? { reply } : {}),
          });
        }
        remaining = [];
      }
    } finally {
      session.close();
    }
  }
  // in envelope order, whatever order the replies were sorted into
  const order = new Map(req.recipients.map((r, i) => [r, i]));
  outcomes.sort((a, b) => (order.get(a.recipient) ?? 0) - (order.get(b.recipient) ?? 0));
  return {
    kind: "transaction",
    tls,
    recipients: outcomes,
    ...(finalReply ? { reply: finalReply } : {}),
  };
}
