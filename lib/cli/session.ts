/**
 * Opening an SMTP/LMTP session for an account: connect (TCP, unix socket, SOCKS5,
 * implicit TLS), greeting, EHLO/LHLO, STARTTLS and EHLO again, as every mode needs.
 *
 * @module
 */

import type { Settings } from "../config/account.ts";
import { connect, type NetTransport } from "../net/connect.ts";
import { formatCertificateInfo, formatTlsParameters } from "../net/cert_info.ts";
import type { TlsInfo, TlsOptions } from "../net/transport.ts";
import type { Capabilities } from "../smtp/capabilities.ts";
import type { Reply } from "../smtp/reply.ts";
import { SmtpError } from "../smtp/errors.ts";
import { SmtpSession } from "../smtp/session.ts";

/** An established session, ready for AUTH and the mail. */
export interface OpenSession {
  session: SmtpSession;
  transport: NetTransport;
  greeting: Reply;
  capabilities: Capabilities;
  /** The TLS session, when TLS is active. */
  tls: TlsInfo | null;
  /** The capabilities of the EHLO before STARTTLS, when STARTTLS was used. */
  startTlsCapabilities?: Capabilities;
}

/** How to open a session. */
export interface OpenOptions {
  /** Receives `--debug` lines (transcript and TLS details), each ending in a newline. */
  debug?: (text: string) => void;
  /** Ask the TLS layer for the server certificate (`--serverinfo`). */
  showCertificate?: boolean;
  /** The wait for the answer to the end of the mail, in seconds (default: `timeout`). */
  endOfDataTimeout?: number;
}

/** The TLS options of an account (`tls_host_override` names the certificate's host). */
export function tlsOptions(s: Settings): TlsOptions {
  return {
    hostname: s.tls_host_override ?? s.host ?? "",
    trustFile: s.tls_trust_file,
    certcheck: s.tls_certcheck,
    fingerprint: s.tls_fingerprint,
    certFile: s.tls_cert_file,
    keyFile: s.tls_key_file,
    crlFile: s.tls_crl_file,
  };
}

/** msmtp's TLS block of `--debug` and `--serverinfo`. */
export function tlsInfoLines(info: TlsInfo): string[] {
  return [
    ...formatTlsParameters(info),
    ...(info.certificate ? formatCertificateInfo(info.certificate) : []),
  ];
}

/**
 * Connects and greets: the returned session has seen the greeting and EHLO (after
 * STARTTLS when the account asks for it). On failure the connection is closed.
 *
 * @example Usage
 * ```ts ignore
 * import { openSession } from "./session.ts";
 * const open = await openSession(account.settings);
 * await open.session.quit();
 * open.session.close();
 * ```
 */
export async function openSession(s: Settings, options: OpenOptions = {}): Promise<OpenSession> {
  const debug = options.debug;
  const tls = s.tls ? { ...tlsOptions(s), implicit: !s.tls_starttls } : null;
  const transport = await connect({
    host: s.host ?? "",
    port: s.port,
    socket: s.socket,
    proxyHost: s.proxy_host,
    proxyPort: s.proxy_port || null,
    sourceIp: s.source_ip,
    timeoutMs: s.timeout * 1000,
    ...(options.endOfDataTimeout === undefined
      ? {}
      : { endOfDataTimeoutMs: options.endOfDataTimeout * 1000 }),
    tls,
    showCertificate: options.showCertificate === true || debug !== undefined,
  });
  const session = new SmtpSession(transport, debug ? { debug } : {});
  try {
    if (tls?.implicit && debug && transport.tlsInfo) {
      debug(tlsInfoLines(transport.tlsInfo).map((l) => l + "\n").join(""));
    }
    const greeting = await session.greet();
    let capabilities = await session.ehlo(s.domain, s.protocol === "lmtp");
    let tlsInfo = transport.tlsInfo;
    const before = capabilities;
    if (tls && !tls.implicit) {
      tlsInfo = await session.startTls(tls, {
        onHandshake: (info) => debug?.(tlsInfoLines(info).map((l) => l + "\n").join("")),
      });
      capabilities = session.capabilities;
    }
    return {
      session,
      transport,
      greeting,
      capabilities,
      tls: tlsInfo,
      ...(tls && !tls.implicit ? { startTlsCapabilities: before } : {}),
    };
  } catch (error) {
    // msmtp says goodbye when the dialogue is still in step (STARTTLS not offered)
    if (error instanceof SmtpError && error.quitAllowed) await session.quit();
    session.close();
    throw error;
  }
}
