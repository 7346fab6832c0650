/**
 * Network and TLS failures in msmtp's words, each with the sysexits code msmtp uses.
 *
 * msmtp takes the text after the colon from the C library or from GnuTLS; postie keeps
 * those texts where it knows the cause (`Connection refused`, `Error while reading file.`,
 * GnuTLS's certificate status sentences) and uses a plain equivalent elsewhere.
 *
 * @module
 */

import { PostieError, type PostieErrorOptions } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { describeOsError } from "../os_error.ts";

/**
 * A failure to resolve, connect, read or write (`cannot connect to …`, `network read error…`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectFailed, NetworkError } from "./errors.ts";
 * const e = connectFailed("127.0.0.1", 2999, "Connection refused");
 * assert.ok(e instanceof NetworkError);
 * assert.equal(e.message, "cannot connect to 127.0.0.1, port 2999: Connection refused");
 * assert.equal(e.exitCode, 75);
 * ```
 */
export class NetworkError extends PostieError {
  /** A message in msmtp's words and its exit code. */
  constructor(message: string, exitCode: ExitCode, options?: PostieErrorOptions) {
    super(message, exitCode, options);
    this.name = "NetworkError";
  }
}

/**
 * A TLS failure: unreadable files, a failed handshake, a certificate that does not verify.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsHandshakeFailed, TlsError } from "./errors.ts";
 * const e = tlsHandshakeFailed("An unexpected TLS packet was received.");
 * assert.ok(e instanceof TlsError);
 * assert.equal(e.exitCode, 76);
 * ```
 */
export class TlsError extends PostieError {
  /** A message in msmtp's words and its exit code. */
  constructor(message: string, exitCode: ExitCode, options?: PostieErrorOptions) {
    super(message, exitCode, options);
    this.name = "TlsError";
  }
}

/** The detail used whenever postie's own timer, not the kernel, ends an operation. */
export const TIMED_OUT = "the operation timed out";

/**
 * `cannot locate host HOST: DETAIL`: 68, or 75 for a temporary DNS failure (a later msmtp
 * fix: a resolver outage is worth retrying).
 *
 * @example Usage
 * ```ts
 * import { hostNotFound } from "./errors.ts";
 * console.log(hostNotFound("nonexistent.invalid", "Name or service not known").exitCode); // 68
 * ```
 */
export function hostNotFound(host: string, detail: string, cause?: unknown): NetworkError {
  const temporary = /temporary failure/i.test(detail);
  return new NetworkError(
    `cannot locate host ${host}: ${detail}`,
    temporary ? ExitCode.TEMPFAIL : ExitCode.NOHOST,
    { cause },
  );
}

/**
 * `cannot connect to HOST, port N: DETAIL` (75).
 *
 * @example Usage
 * ```ts
 * import { connectFailed } from "./errors.ts";
 * console.log(connectFailed("h", 25, "Connection timed out").message);
 * ```
 */
export function connectFailed(
  host: string,
  port: number,
  detail: string,
  cause?: unknown,
): NetworkError {
  return new NetworkError(`cannot connect to ${host}, port ${port}: ${detail}`, ExitCode.TEMPFAIL, {
    cause,
  });
}

/**
 * `cannot connect to PATH: DETAIL` for a unix socket (75).
 *
 * @example Usage
 * ```ts
 * import { socketConnectFailed } from "./errors.ts";
 * console.log(socketConnectFailed("/run/smtp.sock", "No such file or directory").exitCode); // 75
 * ```
 */
export function socketConnectFailed(path: string, detail: string, cause?: unknown): NetworkError {
  return new NetworkError(`cannot connect to ${path}: ${detail}`, ExitCode.TEMPFAIL, { cause });
}

/**
 * `cannot bind source ip IP: DETAIL` (71, as msmtp's socket errors).
 *
 * @example Usage
 * ```ts
 * import { bindFailed } from "./errors.ts";
 * console.log(bindFailed("bogus", "Invalid argument").exitCode); // 71
 * ```
 */
export function bindFailed(ip: string, detail: string, cause?: unknown): NetworkError {
  return new NetworkError(`cannot bind source ip ${ip}: ${detail}`, ExitCode.OSERR, { cause });
}

/**
 * `network read error[: DETAIL]` (74).
 *
 * @example Usage
 * ```ts
 * import { readError, TIMED_OUT } from "./errors.ts";
 * console.log(readError(TIMED_OUT).message); // "network read error: the operation timed out"
 * ```
 */
export function readError(detail?: string, cause?: unknown): NetworkError {
  return new NetworkError(
    detail ? `network read error: ${detail}` : "network read error",
    ExitCode.IOERR,
    { cause },
  );
}

/**
 * `network write error[: DETAIL]` (74).
 *
 * @example Usage
 * ```ts
 * import { writeError } from "./errors.ts";
 * console.log(writeError("Broken pipe").message); // "network write error: Broken pipe"
 * ```
 */
export function writeError(detail?: string, cause?: unknown): NetworkError {
  return new NetworkError(
    detail ? `network write error: ${detail}` : "network write error",
    ExitCode.IOERR,
    { cause },
  );
}

/**
 * `proxy failure: DETAIL` from the SOCKS5 proxy (69).
 *
 * @example Usage
 * ```ts
 * import { proxyFailure } from "./errors.ts";
 * console.log(proxyFailure("connection refused").exitCode); // 69
 * ```
 */
export function proxyFailure(detail: string): NetworkError {
  return new NetworkError(`proxy failure: ${detail}`, ExitCode.UNAVAILABLE);
}

/**
 * `TLS handshake failed: DETAIL` (76).
 *
 * @example Usage
 * ```ts
 * import { tlsHandshakeFailed, TIMED_OUT } from "./errors.ts";
 * console.log(tlsHandshakeFailed(TIMED_OUT).message);
 * ```
 */
export function tlsHandshakeFailed(detail: string, cause?: unknown): TlsError {
  return new TlsError(`TLS handshake failed: ${detail}`, ExitCode.PROTOCOL, { cause });
}

/**
 * `TLS certificate verification failed: DETAIL` (69).
 *
 * @example Usage
 * ```ts
 * import { tlsVerificationFailed } from "./errors.ts";
 * console.log(tlsVerificationFailed("the certificate fingerprint does not match").exitCode); // 69
 * ```
 */
export function tlsVerificationFailed(detail: string, cause?: unknown): TlsError {
  return new TlsError(`TLS certificate verification failed: ${detail}`, ExitCode.UNAVAILABLE, {
    cause,
  });
}

/**
 * `cannot set X509 trust file FILE for TLS session: DETAIL` (66).
 *
 * @example Usage
 * ```ts
 * import { trustFileError } from "./errors.ts";
 * console.log(trustFileError("/x.pem", "Error while reading file.").exitCode); // 66
 * ```
 */
export function trustFileError(file: string, detail: string, cause?: unknown): TlsError {
  return new TlsError(
    `cannot set X509 trust file ${file} for TLS session: ${detail}`,
    ExitCode.NOINPUT,
    {
      cause,
    },
  );
}

/**
 * `TLS handshake failed: the operation timed out` (74): a timeout is 74 wherever it happens,
 * the handshake included, as a server silent at any other stage.
 *
 * @example Usage
 * ```ts
 * import { tlsHandshakeTimedOut } from "./errors.ts";
 * console.log(tlsHandshakeTimedOut().exitCode); // 74
 * ```
 */
export function tlsHandshakeTimedOut(cause?: unknown): TlsError {
  return new TlsError(`TLS handshake failed: ${TIMED_OUT}`, ExitCode.IOERR, { cause });
}

/**
 * `cannot locate host HOST: the operation timed out` (74): the name lookup for a `source_ip`
 * connection did not finish within the timeout.
 *
 * @example Usage
 * ```ts
 * import { lookupTimedOut } from "./errors.ts";
 * console.log(lookupTimedOut("mail.example.org").exitCode); // 74
 * ```
 */
export function lookupTimedOut(host: string, cause?: unknown): NetworkError {
  return new NetworkError(`cannot locate host ${host}: ${TIMED_OUT}`, ExitCode.IOERR, { cause });
}

/**
 * `cannot set X509 CRL file FILE for TLS session: DETAIL` (66), msmtp's words.
 *
 * @example Usage
 * ```ts
 * import { crlFileError } from "./errors.ts";
 * console.log(crlFileError("/x.crl", "Error while reading file.").exitCode); // 66
 * ```
 */
export function crlFileError(file: string, detail: string, cause?: unknown): TlsError {
  return new TlsError(
    `cannot set X509 CRL file ${file} for TLS session: ${detail}`,
    ExitCode.NOINPUT,
    {
      cause,
    },
  );
}

/**
 * `cannot set X509 key file KEY and/or X509 cert file CERT for TLS session: DETAIL` (66).
 *
 * @example Usage
 * ```ts
 * import { keyFileError } from "./errors.ts";
 * console.log(keyFileError("k.pem", "c.pem", "Error while reading file.").exitCode); // 66
 * ```
 */
export function keyFileError(
  keyFile: string,
  certFile: string,
  detail: string,
  cause?: unknown,
): TlsError {
  return new TlsError(
    `cannot set X509 key file ${keyFile} and/or X509 cert file ${certFile} for TLS session: ${detail}`,
    ExitCode.NOINPUT,
    { cause },
  );
}

/**
 * `cannot read from TLS connection: DETAIL` (74).
 *
 * @example Usage
 * ```ts
 * import { tlsReadError, TIMED_OUT } from "./errors.ts";
 * console.log(tlsReadError(TIMED_OUT).exitCode); // 74
 * ```
 */
export function tlsReadError(detail: string, cause?: unknown): TlsError {
  return new TlsError(`cannot read from TLS connection: ${detail}`, ExitCode.IOERR, { cause });
}

/**
 * `cannot write to TLS connection: DETAIL` (74).
 *
 * @example Usage
 * ```ts
 * import { tlsWriteError, TIMED_OUT } from "./errors.ts";
 * console.log(tlsWriteError(TIMED_OUT).exitCode); // 74
 * ```
 */
export function tlsWriteError(detail: string, cause?: unknown): TlsError {
  return new TlsError(`cannot write to TLS connection: ${detail}`, ExitCode.IOERR, { cause });
}

/** A thrown value raised by postie's own deadline, not by the operating system. */
export class DeadlineExceeded extends Error {
  constructor() {
    super(TIMED_OUT);
    this.name = "DeadlineExceeded";
  }
}

const NODE_CODE_TEXT: Record<string, string> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  EPIPE: "Broken pipe",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EADDRINUSE: "Address already in use",
  EINVAL: "Invalid argument",
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  ENOTFOUND: "Name or service not known",
  EAI_AGAIN: "Temporary failure in name resolution",
  EAI_NONAME: "Name or service not known",
};

/**
 * strerror(3) text for what Deno or `node:net` threw (`Connection refused`, not
 * `ConnectionRefused: Connection refused (os error 111)` or `ECONNREFUSED`).
 *
 * @example Usage
 * ```ts
 * import { describeNetError } from "./errors.ts";
 * console.log(describeNetError(new Error("Connection refused (os error 111)"))); // "Connection refused"
 * ```
 */
export function describeNetError(error: unknown): string {
  if (error instanceof DeadlineExceeded) return TIMED_OUT;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && NODE_CODE_TEXT[code] && !/\(os error \d+\)/.test(String(error))) {
    return NODE_CODE_TEXT[code];
  }
  if (error instanceof Deno.errors.ConnectionRefused) return "Connection refused";
  if (error instanceof Deno.errors.ConnectionReset) return "Connection reset by peer";
  if (error instanceof Deno.errors.BrokenPipe) return "Broken pipe";
  if (error instanceof Deno.errors.TimedOut) return "Connection timed out";
  return describeOsError(error);
}
