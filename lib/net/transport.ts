/**
 * The byte pipe the SMTP session speaks through. Real sockets (TCP, unix, SOCKS5, TLS)
 * implement it in `lib/net/`; tests implement it with a scripted peer.
 *
 * @module
 */

/** How to set up and check a TLS session (msmtp's `tls_*` settings). */
export interface TlsOptions {
  /** The name sent as SNI and checked against the certificate (`tls_host_override` or host). */
  hostname: string;
  /** A PEM file of trusted CAs, `"system"` for the system store, or null for none. */
  trustFile: string | null;
  /** `tls_certcheck`: false accepts any certificate. */
  certcheck: boolean;
  /** `tls_fingerprint`: upper-case hex bytes joined by `:` (SHA-256, SHA-1 or MD5). */
  fingerprint: string | null;
  /** Client certificate and key (PEM files), both or neither. */
  certFile: string | null;
  keyFile: string | null;
  /** `tls_crl_file`: PEM (or DER) CRLs; a server certificate they revoke is refused. */
  crlFile?: string | null;
}

/** The server certificate, as `--serverinfo` and `--debug` print it. */
export interface CertificateInfo {
  /** Distinguished name, msmtp style: `CN=localhost,O=Test Org,C=DE`. */
  subject: string;
  issuer: string;
  activation: Date;
  expiration: Date;
  /** Upper-case hex bytes joined by `:`. */
  sha256: string;
  sha1: string;
}

/** What is known of an established TLS session. */
export interface TlsInfo {
  /** e.g. `TLSv1.3`, when the TLS layer tells. */
  protocol?: string;
  /** e.g. `TLS_AES_256_GCM_SHA384`, when the TLS layer tells. */
  cipher?: string;
  /** Present when the TLS layer can show the peer certificate. */
  certificate?: CertificateInfo;
  /**
   * The certificates the peer presented, DER, its own first, then each issuer (node:tls
   * path only); DANE matches TLSA records against them.
   */
  chain?: Uint8Array[];
}

/** What a read waits for. */
export interface ReadOptions {
  /** The reply to the end of the mail data, which may take longer (RFC 5321 §4.5.3.2.6). */
  endOfData?: boolean;
}

/** A bidirectional byte stream with an in-place TLS upgrade. */
export interface Transport {
  /**
   * The next chunk from the peer, or null at end of stream. Honors the timeout; the answer
   * to the end of the mail (`endOfData`) may have a longer one.
   */
  read(options?: ReadOptions): Promise<Uint8Array | null>;
  /** Writes all bytes. Honors the timeout. */
  write(data: Uint8Array): Promise<void>;
  /**
   * Upgrades the connection to TLS (STARTTLS). The caller must have consumed every byte
   * it read before; bytes still buffered by the caller must be discarded, never parsed.
   */
  startTls(options: TlsOptions): Promise<TlsInfo>;
  /** Whether TLS is active. */
  readonly tls: boolean;
  /** Closes the connection; safe to call twice. */
  close(): void;
}
