/**
 * TLS on top of an open {@linkcode ByteStream}: STARTTLS and implicit TLS alike.
 *
 * Two engines, chosen per connection:
 * - `Deno.startTls` (rustls) when it can do everything asked: certificate checks on, no client
 *   certificate, nobody needs to see the certificate, and the roots it trusts are the ones
 *   asked for: the system's, or a trust file once Deno's default roots are empty (a trust file
 *   must *replace* the roots, msmtp trusts only the file, but `caCerts` only *adds* to the
 *   default ones; see roots.ts). It verifies host names and IP SANs itself, and it needs no
 *   extra module: booting Node compatibility for `node:tls` costs as much as the handshake.
 * - `node:tls` for everything else: its `ca` replaces the roots. It can also skip checks
 *   (`tls_certcheck off`, fingerprint pinning), present a client certificate, run over any
 *   stream (unix sockets, SOCKS, `source_ip` sockets) and show the peer certificate for
 *   `--serverinfo` and `--debug`.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { certificateInfoFromDer } from "./cert_info.ts";
import {
  crlFileError,
  DeadlineExceeded,
  keyFileError,
  TIMED_OUT,
  tlsHandshakeFailed,
  tlsHandshakeTimedOut,
  tlsVerificationFailed,
  trustFileError,
} from "./errors.ts";
import {
  explicitDefaultRoots,
  rootStoreState,
  usingDefaultRoots,
  withEmptyDefaultRoots,
} from "./roots.ts";
import { type ByteStream, DenoConnStream, NodeSocketStream, withDeadline } from "./tcp.ts";
import type { TlsInfo, TlsOptions } from "./transport.ts";
import type { Crl } from "./crl.ts";

/** How a fingerprint is compared: the digest is chosen by its length, as msmtp does. */
export interface Fingerprint {
  /** The digest the pinned value was made with. */
  algorithm: "sha256" | "sha1" | "md5";
  /** Upper-case hex without separators. */
  hex: string;
}

/** TLS settings checked and files loaded, ready for a handshake. */
export interface PreparedTls {
  /** The settings as given. */
  options: TlsOptions;
  /** Whether the chain and host name are verified (certcheck on, no fingerprint). */
  verify: boolean;
  /** PEM certificates that replace the default roots; undefined means the default roots. */
  ca?: string[];
  /** The pinned fingerprint, when it replaces chain verification. */
  fingerprint?: Fingerprint;
  /** Client certificate (PEM text). */
  cert?: string;
  /** Client key (PEM text). */
  key?: string;
  /** The CRLs of `tls_crl_file`, checked after the handshake. */
  crls?: Crl[];
}

/** GnuTLS's status sentences, so messages read exactly as msmtp's (trailing space included). */
const NOT_TRUSTED = "The certificate is NOT trusted. ";
const STATUS = {
  issuer: "The certificate issuer is unknown. ",
  name: "The name in the certificate does not match the expected. ",
  expired: "The certificate chain uses expired certificate. ",
  notYet: "The certificate chain uses not yet valid certificate. ",
  notCa: "The certificate issuer is not a CA. ",
  signature: "The signature in the certificate is invalid. ",
  revoked: "The certificate chain is revoked. ",
} as const;

const UNEXPECTED_PACKET = "An unexpected TLS packet was received.";
const PREMATURE_END = "The TLS connection was non-properly terminated.";
const FATAL_ALERT = "A TLS fatal alert has been received.";

function configError(message: string): PostieError {
  return new PostieError(message, ExitCode.CONFIG);
}

function parseFingerprint(text: string): Fingerprint {
  const hex = text.replace(/[:\s]/g, "").toUpperCase();
  const algorithm = hex.length === 64 ? "sha256" : hex.length === 40 ? "sha1" : "md5";
  if (!/^[0-9A-F]+$/.test(hex) || ![64, 40, 32].includes(hex.length)) {
    throw configError(`invalid tls_fingerprint ${text}`);
  }
  return { algorithm, hex };
}

async function readPem(file: string, onError: (detail: string, cause: unknown) => Error) {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    throw onError("Error while reading file.", error);
  }
}

/**
 * Checks the TLS settings and reads the trust, certificate and key files, before any
 * connection is made (msmtp reports these before connecting too). Errors: unreadable files
 * (66), inconsistent settings (78).
 *
 * @example Usage
 * ```ts
 * import { prepareTls } from "./tls.ts";
 * const prepared = await prepareTls({
 *   hostname: "mail.example.org", trustFile: "system", certcheck: true,
 *   fingerprint: null, certFile: null, keyFile: null,
 * });
 * console.log(prepared.verify); // true
 * ```
 */
export async function prepareTls(options: TlsOptions): Promise<PreparedTls> {
  if (options.keyFile && !options.certFile) {
    throw configError("tls_key_file requires tls_cert_file");
  }
  if (options.certFile && !options.keyFile) {
    throw configError("tls_cert_file requires tls_key_file");
  }
  const prepared: PreparedTls = { options, verify: false };
  // msmtp's precedence: certcheck off beats a fingerprint, which beats the trust file.
  if (options.certcheck && options.fingerprint) {
    prepared.fingerprint = parseFingerprint(options.fingerprint);
  } else if (options.certcheck) {
    if (!options.trustFile) {
      throw configError(
        "tls requires either tls_trust_file (highly recommended) or tls_fingerprint " +
          "or a disabled tls_certcheck",
      );
    }
    prepared.verify = true;
    if (options.trustFile !== "system") {
      const file = options.trustFile;
      const pem = await readPem(file, (detail, cause) => trustFileError(file, detail, cause));
      const certificates = pem.match(
        /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----[\s\S]*?-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g,
      );
      // GnuTLS says "Success." here (it found zero certificates without an error code).
      if (!certificates) throw trustFileError(file, "No certificate was found.");
      prepared.ca = certificates;
    }
  }
  if (options.certFile && options.keyFile) {
    const { certFile, keyFile } = options;
    const fail = (detail: string, cause: unknown): Error =>
      keyFileError(keyFile, certFile, detail, cause);
    prepared.cert = await readPem(certFile, fail);
    prepared.key = await readPem(keyFile, fail);
    await checkKeyPair(prepared.cert, prepared.key, fail);
  }
  if (options.crlFile && prepared.verify) {
    const file = options.crlFile;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (error) {
      throw crlFileError(file, "Error while reading file.", error);
    }
    const { parseCrls } = await import("./crl.ts");
    try {
      prepared.crls = parseCrls(bytes);
    } catch (error) {
      throw crlFileError(file, (error as Error).message, error);
    }
  }
  return prepared;
}

async function checkKeyPair(
  cert: string,
  key: string,
  fail: (detail: string, cause: unknown) => Error,
): Promise<void> {
  const { X509Certificate, createPrivateKey, createPublicKey } = await import("node:crypto");
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw fail("The requested data were not available.", error);
  }
  let certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw fail("The requested data were not available.", error);
  }
  const fromKey = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  const fromCert = certificate.publicKey.export({ type: "spki", format: "der" });
  if (!sameBytes(new Uint8Array(fromKey), new Uint8Array(fromCert))) {
    throw fail("The certificate and the given key do not match.", null);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** What the connection layer asks of a handshake. */
export interface HandshakeOptions {
  /** Covers the whole handshake (0 = none); msmtp has no such limit. */
  timeoutMs: number;
  /** The caller will print the certificate (`--serverinfo`, `--debug`). */
  showCertificate: boolean;
}

/** A finished handshake: the encrypted stream and what is known about the session. */
export interface TlsSession {
  /** The encrypted stream; the plaintext one must no longer be used. */
  stream: ByteStream;
  /** Protocol, cipher and (node:tls path) the peer certificate. */
  info: TlsInfo;
}

/**
 * Whether `Deno.startTls` can serve this connection (see the module notes).
 *
 * @example Usage
 * ```ts
 * import { prepareTls, usesNativeTls } from "./tls.ts";
 * const prepared = await prepareTls({
 *   hostname: "h", trustFile: "system", certcheck: true, fingerprint: null,
 *   certFile: null, keyFile: null,
 * });
 * console.log(usesNativeTls(prepared, true, false)); // true
 * ```
 */
export function usesNativeTls(
  prepared: PreparedTls,
  overTcp: boolean,
  showCertificate: boolean,
): boolean {
  if (
    !prepared.verify || prepared.cert !== undefined || prepared.crls !== undefined || !overTcp ||
    showCertificate
  ) return false;
  const roots = rootStoreState();
  // system trust: Deno's default roots, unless they were emptied for a trust file;
  // a trust file: only where the default roots are (or may still be made) empty
  return prepared.ca === undefined ? roots !== "empty" : roots === "unused" || roots === "empty";
}

/**
 * Runs the TLS handshake over `stream` and verifies the server as the settings ask.
 * Errors: `TLS handshake failed: …` (76), `TLS certificate verification failed: …` (69).
 * On failure the stream is closed.
 *
 * @example Usage
 * ```ts
 * import { connectTcp } from "./tcp.ts";
 * import { prepareTls, startTlsSession } from "./tls.ts";
 * const prepared = await prepareTls({
 *   hostname: "mail.example.org", trustFile: "system", certcheck: true,
 *   fingerprint: null, certFile: null, keyFile: null,
 * });
 * const tcp = await connectTcp({ host: "mail.example.org", port: 465, timeoutMs: 30_000 });
 * const session = await startTlsSession(tcp, prepared, { timeoutMs: 30_000, showCertificate: false });
 * session.stream.close();
 * ```
 */
export async function startTlsSession(
  stream: ByteStream,
  prepared: PreparedTls,
  options: HandshakeOptions,
): Promise<TlsSession> {
  const tcpConn = stream.tcpConn;
  if (tcpConn && usesNativeTls(prepared, true, options.showCertificate)) {
    return await nativeHandshake(tcpConn, prepared, options.timeoutMs);
  }
  return await nodeHandshake(stream, prepared, options.timeoutMs);
}

async function nativeHandshake(
  conn: Deno.TcpConn,
  prepared: PreparedTls,
  timeoutMs: number,
): Promise<TlsSession> {
  let tlsConn: Deno.TlsConn | null = null;
  const closeAll = (): void => {
    try {
      (tlsConn ?? conn).close();
    } catch {
      // Already closed.
    }
  };
  try {
    const start = async () => {
      tlsConn = await Deno.startTls(conn, {
        hostname: prepared.options.hostname,
        ...(prepared.ca === undefined ? {} : { caCerts: prepared.ca }),
      });
      await tlsConn.handshake();
      return tlsConn;
    };
    // a trust file: only its certificates (usesNativeTls made sure the roots can be empty)
    if (prepared.ca === undefined) usingDefaultRoots();
    const handshake = prepared.ca === undefined ? start() : withEmptyDefaultRoots(start);
    const done = await withDeadline(handshake, timeoutMs, closeAll);
    return { stream: new DenoConnStream(done, false), info: {} };
  } catch (error) {
    closeAll();
    throw nativeTlsError(error);
  }
}

/** rustls's words (`invalid peer certificate: UnknownIssuer`) → msmtp's. */
function nativeTlsError(error: unknown): PostieError {
  if (error instanceof DeadlineExceeded) return tlsHandshakeTimedOut(error);
  const message = error instanceof Error ? error.message : String(error);
  const certificate = /invalid peer certificate: (.*)/.exec(message);
  if (certificate) {
    // rustls names most errors (`Expired`), and describes some with their context
    // (`certificate not valid for name "…"; certificate is only valid for …`).
    const detail = certificate[1];
    const status = {
      UnknownIssuer: STATUS.issuer,
      NotValidForName: STATUS.name,
      Expired: STATUS.expired,
      NotValidYet: STATUS.notYet,
      BadSignature: STATUS.signature,
      Revoked: STATUS.revoked,
      CaUsedAsEndEntity: STATUS.notCa,
    }[/^\w+/.exec(detail)?.[0] ?? ""] ??
      (/^certificate not valid for name/.test(detail)
        ? STATUS.name
        : /^certificate expired/.test(detail)
        ? STATUS.expired
        : /^certificate not valid yet/.test(detail)
        ? STATUS.notYet
        : `${detail}. `);
    return tlsVerificationFailed(NOT_TRUSTED + status, error);
  }
  return tlsHandshakeFailed(handshakeDetail(error), error);
}

/** The handshake failures both engines share, in GnuTLS's words. */
function handshakeDetail(error: unknown): string {
  if (error instanceof DeadlineExceeded) return TIMED_OUT;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (
    code === "ERR_SSL_WRONG_VERSION_NUMBER" || /corrupt message|InvalidContentType/.test(message)
  ) {
    return UNEXPECTED_PACKET;
  }
  if (
    code === "ECONNRESET" || error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.ConnectionReset ||
    /disconnected before secure|close_notify|unexpected end of file|UnexpectedEof/i.test(message)
  ) {
    return PREMATURE_END;
  }
  if (/alert/i.test(message)) return FATAL_ALERT;
  return message;
}

const NODE_STATUS: Record<string, string> = {
  ERR_TLS_CERT_ALTNAME_INVALID: STATUS.name,
  CERT_HAS_EXPIRED: STATUS.expired,
  CERT_NOT_YET_VALID: STATUS.notYet,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: STATUS.issuer,
  UNABLE_TO_GET_ISSUER_CERT: STATUS.issuer,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: STATUS.issuer,
  SELF_SIGNED_CERT_IN_CHAIN: STATUS.issuer,
  DEPTH_ZERO_SELF_SIGNED_CERT: STATUS.issuer,
  CERT_UNTRUSTED: STATUS.issuer,
  CERT_SIGNATURE_FAILURE: STATUS.signature,
  INVALID_CA: STATUS.notCa,
  CERT_REVOKED: STATUS.revoked,
};

function nodeTlsError(error: unknown): PostieError {
  if (error instanceof DeadlineExceeded) return tlsHandshakeTimedOut(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && NODE_STATUS[code]) {
    return tlsVerificationFailed(NOT_TRUSTED + NODE_STATUS[code], error);
  }
  return tlsHandshakeFailed(handshakeDetail(error), error);
}

async function nodeHandshake(
  stream: ByteStream,
  prepared: PreparedTls,
  timeoutMs: number,
): Promise<TlsSession> {
  const tls = await import("node:tls");
  const { isIP } = await import("node:net");
  const hostname = prepared.options.hostname;
  // Without a trust file, the default roots; passed explicitly where Deno's were emptied.
  const ca = prepared.ca ?? (prepared.verify ? await explicitDefaultRoots() : undefined);
  usingDefaultRoots(); // node:tls builds on Deno's store too
  const duplex = await stream.toDuplex();
  const socket = tls.connect({
    socket: duplex,
    // `host` is what the certificate is checked against; SNI carries names only (RFC 6066),
    // and Deno's node:tls stalls when given an IP literal as servername.
    host: hostname,
    servername: isIP(hostname) ? undefined : hostname,
    rejectUnauthorized: prepared.verify,
    ca,
    cert: prepared.cert,
    key: prepared.key,
  });
  // Until the stream wrapper takes over, a late error must not go unhandled.
  const swallow = (): void => {};
  socket.on("error", swallow);
  const destroy = (): void => {
    socket.destroy();
    duplex.destroy();
  };
  try {
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", () => resolve());
        socket.once("error", reject);
      }),
      timeoutMs,
      destroy,
    );
  } catch (error) {
    destroy();
    throw nodeTlsError(error);
  }
  const peer = socket.getPeerCertificate(true);
  const raw = peer?.raw ? new Uint8Array(peer.raw) : null;
  if (prepared.crls && raw) {
    const { isRevoked } = await import("./crl.ts");
    if (isRevoked(peerChain(peer), prepared.ca ?? [], prepared.crls)) {
      destroy();
      throw tlsVerificationFailed(NOT_TRUSTED + STATUS.revoked);
    }
  }
  if (prepared.fingerprint) {
    const actual = raw ? await digest(prepared.fingerprint.algorithm, raw) : "";
    if (actual !== prepared.fingerprint.hex) {
      destroy();
      throw tlsVerificationFailed("the certificate fingerprint does not match");
    }
  }
  const cipher = socket.getCipher();
  const info: TlsInfo = {
    protocol: socket.getProtocol() ?? undefined,
    cipher: cipher?.standardName ?? cipher?.name,
  };
  if (raw) info.certificate = await certificateInfoFromDer(raw);
  info.chain = peerChain(socket.getPeerCertificate(true));
  const wrapped = new NodeSocketStream(socket);
  socket.off("error", swallow);
  return { stream: wrapped, info };
}

/** The DER certificates of a detailed peer certificate, following issuers (bounded). */
function peerChain(peer: { raw?: Uint8Array; issuerCertificate?: unknown } | null): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let current = peer;
  for (let i = 0; current?.raw && i < 10; i++) {
    chain.push(new Uint8Array(current.raw));
    const next = current.issuerCertificate as typeof peer | undefined;
    if (next === undefined || next === current) break;
    current = next;
  }
  return chain;
}

async function digest(algorithm: Fingerprint["algorithm"], der: Uint8Array): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash(algorithm).update(der).digest("hex").toUpperCase();
}
