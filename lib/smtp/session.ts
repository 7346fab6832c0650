/**
 * One SMTP or LMTP dialogue over a {@linkcode Transport}, with msmtp's replies checks,
 * messages and exit codes. The session never opens sockets or prints; the debug
 * transcript goes to a callback.
 *
 * The sendmail flow calls, in order: {@linkcode SmtpSession.greet},
 * {@linkcode SmtpSession.ehlo}, [{@linkcode SmtpSession.startTls}],
 * [{@linkcode SmtpSession.checkDsn}], [{@linkcode SmtpSession.authenticate}],
 * {@linkcode SmtpSession.send}, {@linkcode SmtpSession.quit}, {@linkcode SmtpSession.close}.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import type { TlsInfo, TlsOptions, Transport } from "../net/transport.ts";
import { describeOsError } from "../os_error.ts";
import { type Capabilities, noCapabilities, parseCapabilities } from "./capabilities.ts";
import { checkCommandLength, type DsnOptions, envelopeCommands, hasDsn } from "./command.ts";
import {
  LmtpDeliveryError,
  type LmtpFailure,
  SmtpAuthError,
  SmtpCommandError,
  SmtpIoError,
  SmtpProtocolError,
  SmtpReplyError,
  type SmtpStage,
  SmtpUnsupportedError,
} from "./errors.ts";
import { type Reply, ReplyReader } from "./reply.ts";
import { concat } from "./auth/bytes.ts";
import type { DotStuffer } from "../message/dot_stuff.ts";
import { writeMailData } from "./data_writer.ts";
import type { ByteInput } from "../byte_source.ts";

/** msmtp's bound on commands sent before their replies are read (SMTP_PIPELINE_LIMIT). */
export const SMTP_PIPELINE_LIMIT = 100;

/** A SASL mechanism as the session drives it (RFC 4954). Mechanisms live in `smtp/auth/`. */
export interface Authenticator {
  /** The mechanism name, upper case, e.g. `PLAIN`. */
  readonly mechanism: string;
  /**
   * The initial response sent on the AUTH line (raw bytes; the session encodes base64 and
   * sends `=` for an empty one), or null to wait for the server's first challenge.
   */
  initialResponse(): Uint8Array | null | Promise<Uint8Array | null>;
  /** Answers a `334` challenge (decoded from base64) with raw response bytes. */
  onChallenge(challenge: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Called after `235`, e.g. to insist that the server proved itself (SCRAM). */
  onSuccess?(): void | Promise<void>;
}

/** The envelope of one mail. */
export interface Envelope {
  /** The envelope sender; `""`, `<>` or MAILER-DAEMON send `MAIL FROM:<>`. */
  from: string;
  /** The envelope recipients, in order. */
  recipients: readonly string[];
  /**
   * DSN parameters (`dsn_notify`, `dsn_return`, or a relay client's); they require the DSN
   * capability unless `optional`.
   */
  dsn?: DsnOptions;
}

/** A recipient the server refused, with the reply that refused it. */
export interface RecipientRefusal {
  /** The envelope recipient. */
  address: string;
  /** The server's reply (to RCPT, or LMTP's reply after the data). */
  reply: Reply;
}

/** Options of {@linkcode SmtpSession.send}. */
export interface SendOptions {
  /**
   * Send to the recipients the server accepts and report the others, instead of msmtp's
   * rule that one refused recipient fails the mail. The mail still fails when no recipient
   * is accepted (with the first refusal).
   * @default {false}
   */
  partial?: boolean;
  /**
   * The last mail on this connection failed: begin with RSET (in the same write as the
   * envelope when the server offers PIPELINING, RFC 2920 §3.1). Nothing when this mail's
   * envelope already went out behind the last one's data ({@linkcode SendOptions.next}),
   * with an RSET in front.
   */
  reset?: boolean;
  /**
   * The envelope of the mail that will follow on this connection. When the server offers
   * PIPELINING (SMTP, not LMTP), RSET and that mail's MAIL, RCPT and DATA go out in the same
   * write as this mail's final dot: RFC 2920 §3.1 lets message content open a group and DATA
   * end it. That saves a round trip per mail; the RSET starts the next mail clean however
   * this one ends. The next call must then be {@linkcode SmtpSession.send} of that envelope
   * (which reads those replies) or {@linkcode SmtpSession.close}: the server may be waiting
   * for the next mail's data, so {@linkcode SmtpSession.quit} sends no QUIT then.
   */
  next?: Envelope;
  /**
   * Dot-stuff the data here: it is then the mail itself (LF or CRLF line ends, see
   * `DotStuffer`), stuffed on its way to the socket in a reused buffer, and the stuffer's
   * `mailsize` counts it. Without one, the data must be stuffed already.
   */
  stuffer?: DotStuffer;
}

/** How a mail ended when the server took it. */
export interface SendResult {
  /**
   * The final SMTP reply (250), for the log line's smtpstatus/smtpmsg. Undefined for
   * LMTP, where msmtp logs no reply.
   */
  reply: Reply | undefined;
  /** LMTP: each recipient's reply after the data, in envelope order. Empty for SMTP. */
  recipients: { recipient: string; reply: Reply }[];
  /** Bytes of mail data written, the final `.` line excluded. */
  dataBytes: number;
  /** The recipients the server took the mail for, in envelope order. */
  accepted: string[];
  /** With `partial`, the recipients refused at RCPT (or by LMTP after the data). */
  rejected: RecipientRefusal[];
}

/** Options of {@linkcode SmtpSession}. */
export interface SmtpSessionOptions {
  /**
   * Receives the debug transcript line by line exactly as msmtp prints it: `--> ` or
   * `<-- `, the line, and its line ending. AUTH data is shown as `***`.
   */
  debug?: (line: string) => void;
  /**
   * The most commands sent before reading replies when the server offers PIPELINING.
   * @default {100}
   */
  pipelineLimit?: number;
}

/** Options of {@linkcode SmtpSession.startTls}. */
export interface StartTlsOptions {
  /** Called after the handshake, before EHLO is repeated (msmtp prints TLS details here). */
  onHandshake?: (info: TlsInfo) => void;
}

const encoder = new TextEncoder();
const MAX_AUTH_ROUNDS = 32;

/**
 * An SMTP/LMTP client dialogue with msmtp's semantics.
 *
 * @example Usage
 * ```ts ignore
 * import { SmtpSession } from "./session.ts";
 * const session = new SmtpSession(transport, { debug: (l) => Deno.stdout.writeSync(enc(l)) });
 * await session.greet();
 * await session.ehlo("localhost", false);
 * const result = await session.send({ from: "a@example.org", recipients: ["b@example.org"] }, body);
 * await session.quit();
 * session.close();
 * ```
 */
export class SmtpSession {
  #transport: Transport;
  #reader: ReplyReader;
  #debug: ((line: string) => void) | undefined;
  #pipelineLimit: number;
  #caps: Capabilities = noCapabilities();
  #domain: string | undefined;
  #lmtp = false;
  /** The envelope commands of the next mail, sent behind the last mail's data after RSET. */
  #ahead: string[] | null = null;
  /** Replies of a failed envelope batch not read yet. */
  #owed: { pipeline: EnvelopePipeline; count: number } | undefined;

  /** A session over a connected transport; nothing is sent until a method is called. */
  constructor(transport: Transport, options: SmtpSessionOptions = {}) {
    this.#transport = transport;
    this.#debug = options.debug;
    this.#reader = new ReplyReader({ onLine: options.debug });
    this.#pipelineLimit = Math.max(1, options.pipelineLimit ?? SMTP_PIPELINE_LIMIT);
  }

  /** The capabilities of the last EHLO/LHLO (none after HELO or before EHLO). */
  get capabilities(): Capabilities {
    return this.#caps;
  }

  /** Whether the dialogue is LMTP (set by {@linkcode SmtpSession.ehlo}). */
  get lmtp(): boolean {
    return this.#lmtp;
  }

  /**
   * Reads the greeting; it must be 220.
   *
   * @throws {SmtpReplyError} `cannot get initial OK message from server`: EX_TEMPFAIL for
   * 4xx (postie; msmtp gives EX_PROTOCOL), EX_PROTOCOL otherwise.
   * @throws {SmtpProtocolError} `the server sent an empty reply` / `… invalid reply`.
   */
  async greet(): Promise<Reply> {
    const reply = await this.#read("greeting");
    if (reply.code !== 220) {
      throw new SmtpReplyError("cannot get initial OK message from server", transient(reply), {
        stage: "greeting",
        reply,
      });
    }
    return reply;
  }

  /**
   * `EHLO domain`, falling back to `HELO domain` (no capabilities) when EHLO is not
   * answered with 250; with `lmtp`, `LHLO domain` only.
   *
   * @throws {SmtpReplyError} `SMTP server does not accept EHLO or HELO commands` or
   * `command LHLO failed`: EX_TEMPFAIL for 4xx, EX_PROTOCOL otherwise.
   */
  async ehlo(domain: string, lmtp = false): Promise<Capabilities> {
    this.#domain = domain;
    this.#lmtp = lmtp;
    this.#caps = noCapabilities();
    if (lmtp) {
      const reply = await this.#command(`LHLO ${domain}`, "lhlo");
      if (reply.code !== 250) {
        throw new SmtpReplyError("command LHLO failed", transient(reply), {
          stage: "lhlo",
          reply,
        });
      }
      this.#caps = parseCapabilities(reply);
      return this.#caps;
    }
    const ehlo = await this.#command(`EHLO ${domain}`, "ehlo");
    if (ehlo.code === 250) {
      this.#caps = parseCapabilities(ehlo);
      return this.#caps;
    }
    // 421 means the server is closing the channel: HELO would only meet end of stream
    // and turn a temporary refusal into a protocol error.
    const reply = ehlo.code === 421 ? ehlo : await this.#command(`HELO ${domain}`, "helo");
    if (reply.code !== 250) {
      throw new SmtpReplyError(
        "SMTP server does not accept EHLO or HELO commands",
        transient(reply),
        {
          stage: reply === ehlo ? "ehlo" : "helo",
          reply,
        },
      );
    }
    return this.#caps;
  }

  /**
   * STARTTLS (RFC 3207): requires the capability and a 220, drops unparsed any bytes the
   * server sent after the 220 (command injection), upgrades the transport, and repeats
   * EHLO/LHLO with the same domain.
   *
   * @throws {SmtpUnsupportedError} `the server does not support TLS via the STARTTLS command`
   * @throws {SmtpReplyError} `command STARTTLS failed`: EX_TEMPFAIL for 4xx, else EX_PROTOCOL.
   */
  async startTls(tls: TlsOptions, options: StartTlsOptions = {}): Promise<TlsInfo> {
    if (!this.#caps.starttls) {
      throw new SmtpUnsupportedError(
        "the server does not support TLS via the STARTTLS command",
        "starttls",
      );
    }
    const reply = await this.#command("STARTTLS", "starttls");
    if (reply.code !== 220) {
      throw new SmtpReplyError("command STARTTLS failed", transient(reply), {
        stage: "starttls",
        reply,
      });
    }
    this.#reader.discard();
    let info: TlsInfo;
    try {
      info = await this.#transport.startTls(tls);
    } catch (e) {
      if (e instanceof PostieError) throw e;
      throw new SmtpProtocolError(`TLS handshake failed: ${describeOsError(e)}`, {
        stage: "starttls",
        cause: e,
      });
    }
    options.onHandshake?.(info);
    await this.ehlo(this.#domain ?? "localhost", this.#lmtp);
    return info;
  }

  /**
   * Requires the DSN capability when DSN parameters are set and not `optional` (msmtp
   * checks this before authenticating).
   *
   * @throws {SmtpUnsupportedError} `the server does not support DSN`
   */
  checkDsn(dsn: DsnOptions | undefined): void {
    if (hasDsn(dsn) && !dsn?.optional && !this.#caps.dsn) {
      throw new SmtpUnsupportedError("the server does not support DSN", "mail");
    }
  }

  /** The DSN parameters that go out: none for optional ones the server does not offer. */
  #wireDsn(dsn: DsnOptions | undefined): DsnOptions {
    this.checkDsn(dsn);
    return dsn === undefined || !this.#caps.dsn ? {} : dsn;
  }

  /**
   * Requires the ETRN capability (msmtp checks this before authenticating).
   *
   * @throws {SmtpUnsupportedError} `the server does not support Remote Message Queue Starting`
   */
  checkEtrn(): void {
    if (!this.#caps.etrn) {
      throw new SmtpUnsupportedError(
        "the server does not support Remote Message Queue Starting",
        "etrn",
      );
    }
  }

  /**
   * Runs a SASL exchange. The transcript shows `AUTH MECH ***` and `***` for every
   * response.
   *
   * @throws {SmtpUnsupportedError} `the server does not support authentication` /
   * `the server does not support authentication method X`.
   * @throws {SmtpAuthError} `authentication failed (method X)` for any reply other than
   * 334 or 235 (EX_NOPERM), as msmtp's GNU SASL build does.
   * @throws {SmtpProtocolError} `authentication method X: server sent invalid challenge`.
   */
  async authenticate(auth: Authenticator): Promise<Reply> {
    const mech = auth.mechanism.toUpperCase();
    if (!this.#caps.authAdvertised) {
      throw new SmtpUnsupportedError("the server does not support authentication", "auth");
    }
    if (!this.#caps.auth.has(mech)) {
      throw new SmtpUnsupportedError(
        `the server does not support authentication method ${mech}`,
        "auth",
      );
    }
    const initial = await auth.initialResponse();
    const line = initial === null
      ? `AUTH ${mech}`
      : `AUTH ${mech} ${initial.length === 0 ? "=" : encodeBase64(initial)}`;
    await this.#write([checkCommandLength(line, "auth")], "auth", [
      initial === null ? line : `AUTH ${mech} ***`,
    ]);
    for (let round = 0;; round++) {
      const reply = await this.#read("auth");
      if (reply.code === 235) {
        await auth.onSuccess?.();
        return reply;
      }
      if (reply.code !== 334 || round >= MAX_AUTH_ROUNDS) throw new SmtpAuthError(mech, reply);
      let challenge: Uint8Array;
      try {
        challenge = decodeBase64(reply.lines[0].trim());
      } catch {
        throw new SmtpProtocolError(
          `authentication method ${mech}: server sent invalid challenge`,
          { stage: "auth", reply },
        );
      }
      const response = await auth.onChallenge(challenge);
      await this.#write([checkCommandLength(encodeBase64(response), "auth")], "auth", ["***"]);
    }
  }

  /**
   * Sends one mail: MAIL, RCPT per recipient and DATA — pipelined in batches of at most
   * 100 commands when the server offers PIPELINING, in lock-step otherwise — then the
   * data and the final `.`. A single refused recipient aborts the mail, as in msmtp.
   *
   * `data` is the dot-stuffed CRLF payload without the final `.` line, streamed or whole;
   * with the `stuffer` option, the mail itself. A byte stream (standard input, a file) is
   * read into one reused buffer, in big reads (see `message/byte_stream.ts`).
   *
   * @throws {SmtpUnsupportedError} `the server does not support DSN`.
   * @throws {SmtpCommandError} an address with a control character; a command too long.
   * @throws {SmtpReplyError} `envelope from address A not accepted by the server`,
   * `recipient address A not accepted by the server`, `the server does not accept mail
   * data` (EX_UNAVAILABLE for 4xx, EX_DATAERR otherwise); `the server did not accept the
   * mail` (EX_UNAVAILABLE).
   * @throws {LmtpDeliveryError} LMTP: some recipients refused after the data.
   */
  async send(
    envelope: Envelope,
    data: ByteInput | Uint8Array,
    options: SendOptions = {},
  ): Promise<SendResult> {
    await this.#drain();
    const ahead = this.#ahead;
    this.#ahead = null;
    const partial = options.partial ?? false;
    const commands = envelopeCommands(
      envelope.from,
      envelope.recipients,
      this.#wireDsn(envelope.dsn),
      this.#caps.smtputf8,
    );
    const limit = this.#caps.pipelining ? this.#pipelineLimit : 1;
    const pipeline = new EnvelopePipeline(
      commands,
      envelope.from,
      envelope.recipients,
      limit,
      partial,
    );
    // not the mail announced behind the last one
    if (ahead !== null && !sameLines(ahead, commands)) this.#giveUp();
    const next = this.#announce(options.next, limit);
    // RSET first: sent in front of the envelope below when pipelining, else alone now
    let rset = ahead !== null || (options.reset === true && limit > commands.length);
    if (options.reset && !rset && ahead === null) await this.reset();
    for (let batch = pipeline.nextBatch(); batch.length > 0; batch = pipeline.nextBatch()) {
      // the envelope of a mail announced behind the last one is on the wire already
      if (ahead === null || !rset) await this.#write(rset ? ["RSET", ...batch] : batch, "mail");
      if (rset) {
        rset = false;
        const reply = await this.#read("rset");
        if (reply.code !== 250) {
          throw new SmtpReplyError("command RSET failed", transient(reply), {
            stage: "rset",
            reply,
          });
        }
      }
      for (let i = 0; i < batch.length; i++) {
        try {
          // most replies of a batch arrive in the read of the first: taken without an await
          const stage = pipeline.stage;
          pipeline.onReply(this.#reader.next(stage) ?? await this.#read(stage));
        } catch (error) {
          // the replies still due are read before this connection's next mail, if any
          if (i + 1 < batch.length) this.#owed = { pipeline, count: batch.length - i - 1 };
          throw error;
        }
      }
    }
    if (pipeline.accepted.length === 0 && pipeline.rejected.length > 0) {
      // Only with `partial`: every recipient was refused and yet DATA got 354 (it was
      // pipelined). An empty mail with no recipient ends the transaction cleanly.
      await this.#sendData(ReadableStream.from([]));
      await this.#read("end-of-data");
      throw pipeline.firstRefusal();
    }
    const dataBytes = await this.#sendData(data, next, options.stuffer);
    const accepted = pipeline.accepted;
    const rejected = pipeline.rejected;
    if (!this.#lmtp) {
      const reply = await this.#read("end-of-data");
      if (reply.code !== 250) {
        throw new SmtpReplyError("the server did not accept the mail", ExitCode.UNAVAILABLE, {
          stage: "end-of-data",
          reply,
        });
      }
      return { reply, recipients: [], dataBytes, accepted, rejected };
    }
    // LMTP answers once per accepted recipient (RFC 2033 §4.2).
    const results: { recipient: string; reply: Reply }[] = [];
    for (const recipient of accepted) {
      results.push({ recipient, reply: await this.#read("end-of-data") });
    }
    const failures: LmtpFailure[] = results.filter((r) => r.reply.code !== 250);
    const delivered = results.filter((r) => r.reply.code === 250).map((r) => r.recipient);
    if (failures.length > 0 && !partial) throw new LmtpDeliveryError(failures, delivered);
    if (delivered.length === 0) {
      const first = failures[0];
      throw new SmtpReplyError(
        `the server refuses to send the mail to ${first.recipient}`,
        ExitCode.UNAVAILABLE,
        { stage: "end-of-data", reply: first.reply, detailPrefix: "LMTP server message: " },
      );
    }
    return {
      reply: undefined,
      recipients: results,
      dataBytes,
      accepted: delivered,
      rejected: [...rejected, ...failures.map((f) => ({ address: f.recipient, reply: f.reply }))],
    };
  }

  /**
   * Reads the replies still due for a batch of envelope commands after one of them failed
   * (left unread then, as msmtp does, when no other mail follows), so that the connection
   * is in step for the next mail (which starts with RSET). A DATA
   * answered 354 all the same is ended by an empty mail's dot when no recipient was
   * accepted (nobody gets it); with an accepted recipient that dot would deliver an empty
   * mail, so the connection is closed instead, which ends the transaction without one.
   * Reading stops quietly at a connection that broke: the next mail finds out.
   */
  async #drain(): Promise<void> {
    const owed = this.#owed;
    if (owed === undefined) return;
    this.#owed = undefined;
    const { pipeline, count } = owed;
    try {
      for (let i = 0; i < count; i++) {
        const stage = pipeline.stage;
        const reply = await this.#read(stage);
        try {
          pipeline.onReply(reply);
        } catch {
          // refused as well: nothing more to learn
        }
        if (stage === "data" && reply.code === 354) {
          if (pipeline.accepted.length > 0) {
            this.#transport.close();
            return;
          }
          await this.#writeBytes(encoder.encode(".\r\n"), "end-of-data");
          this.#debug?.("--> .\r\n");
          await this.#read("end-of-data");
        }
      }
    } catch {
      // the connection broke
    }
  }

  /**
   * The envelope commands of `next` when they can go out behind this mail's data (see
   * {@linkcode SendOptions.next}): SMTP with PIPELINING, in one batch with the RSET in
   * front, with addresses and DSN parameters {@linkcode SmtpSession.send} accepts; else null
   * (that mail will send its envelope itself, and meet any error then).
   */
  #announce(next: Envelope | undefined, limit: number): string[] | null {
    if (next === undefined || this.#lmtp || !this.#caps.pipelining) return null;
    try {
      const commands = envelopeCommands(
        next.from,
        next.recipients,
        this.#wireDsn(next.dsn),
        this.#caps.smtputf8,
      );
      return commands.length < limit ? commands : null;
    } catch {
      return null;
    }
  }

  /**
   * Closes the connection whose server may be waiting for the data of an envelope announced
   * behind the last mail ({@linkcode SendOptions.next}): only closing ends that transaction
   * without a mail.
   */
  #giveUp(): never {
    this.#transport.close();
    throw new SmtpIoError("network write error: the connection was given up", { stage: "rset" });
  }

  /**
   * `RSET`: ends any transaction so the next mail starts clean on the same connection.
   *
   * @throws {SmtpReplyError} `command RSET failed` for a reply other than 250.
   */
  async reset(): Promise<Reply> {
    await this.#drain();
    if (this.#ahead !== null) {
      this.#ahead = null;
      this.#giveUp();
    }
    const reply = await this.#command("RSET", "rset");
    if (reply.code !== 250) {
      throw new SmtpReplyError("command RSET failed", transient(reply), { stage: "rset", reply });
    }
    return reply;
  }

  /**
   * `ETRN arg` (RFC 1985) for `--rmqs`: 250–253 succeed.
   *
   * @throws {SmtpUnsupportedError} without the ETRN capability.
   * @throws {SmtpReplyError} 458/459 `the server is unable to fulfill the request`
   * (EX_UNAVAILABLE); 500/501 `invalid argument for Remote Message Queue Starting`
   * (EX_DATAERR); otherwise `command ETRN failed` (EX_PROTOCOL).
   */
  async etrn(argument: string): Promise<Reply> {
    this.checkEtrn();
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(argument)) {
      throw new SmtpCommandError("invalid argument for Remote Message Queue Starting", "etrn");
    }
    const reply = await this.#command(`ETRN ${argument}`, "etrn");
    if (reply.code >= 250 && reply.code <= 253) return reply;
    const [message, code] = reply.code === 458 || reply.code === 459
      ? ["the server is unable to fulfill the request", ExitCode.UNAVAILABLE]
      : reply.code === 500 || reply.code === 501
      ? ["invalid argument for Remote Message Queue Starting", ExitCode.DATAERR]
      : ["command ETRN failed", ExitCode.PROTOCOL];
    throw new SmtpReplyError(message, code, { stage: "etrn", reply });
  }

  /**
   * Sends QUIT and reads the reply; like msmtp, nothing that happens here is an error. Sends
   * nothing when a next mail's envelope went out behind the last data
   * ({@linkcode SendOptions.next}): the server may be waiting for its data, where QUIT would
   * be data; closing the connection then ends that transaction without a mail.
   */
  async quit(): Promise<Reply | undefined> {
    if (this.#ahead !== null) return undefined;
    try {
      return await this.#command("QUIT", "quit");
    } catch {
      return undefined;
    }
  }

  /** Closes the transport. */
  close(): void {
    this.#transport.close();
  }

  async #command(line: string, stage: SmtpStage): Promise<Reply> {
    await this.#write([checkCommandLength(line, stage)], stage);
    return await this.#read(stage);
  }

  /** Writes lines, each with CRLF, in one write; the transcript may show masked text. */
  async #write(lines: string[], stage: SmtpStage, shown: string[] = lines): Promise<void> {
    await this.#writeBytes(encodeLines(lines), stage);
    for (const line of shown) this.#debug?.(`--> ${line}\r\n`);
  }

  async #writeBytes(bytes: Uint8Array, stage: SmtpStage): Promise<void> {
    try {
      await this.#transport.write(bytes);
    } catch (e) {
      if (e instanceof PostieError) throw e;
      throw new SmtpIoError(`network write error: ${describeOsError(e)}`, { stage, cause: e });
    }
  }

  async #read(stage: SmtpStage): Promise<Reply> {
    while (true) {
      const reply = this.#reader.next(stage);
      if (reply) return reply;
      let chunk: Uint8Array | null;
      try {
        chunk = await this.#transport.read(stage === "end-of-data" ? { endOfData: true } : {});
      } catch (e) {
        if (e instanceof PostieError) throw e;
        throw new SmtpIoError(`network read error: ${describeOsError(e)}`, { stage, cause: e });
      }
      if (chunk === null) this.#reader.end(stage);
      this.#reader.push(chunk);
    }
  }

  /**
   * Writes the data and the final dot (see `data_writer.ts`); `then`, commands to send in
   * the same write as the dot (the next mail's envelope after RSET), becomes the announced
   * envelope once written.
   */
  async #sendData(
    data: ByteInput | Uint8Array,
    then: string[] | null = null,
    stuffer?: DotStuffer,
  ): Promise<number> {
    const following = then === null ? [] : ["RSET", ...then];
    const bytes = await writeMailData(data, (b, stage) => this.#writeBytes(b, stage), {
      ...(stuffer ? { stuffer } : {}),
      ...(this.#debug ? { debug: this.#debug } : {}),
      ...(then === null ? {} : { after: encodeLines(following) }),
    });
    this.#ahead = then;
    for (const line of following) this.#debug?.(`--> ${line}\r\n`);
    return bytes;
  }
}

/**
 * The envelope as msmtp's `smtp_send_envelope()` sends it: explicit send and receive
 * cursors, at most `limit` commands in flight, every reply of a batch read before the
 * next batch goes out. Sans-I/O: it only says what to send and judges replies.
 *
 * @example Usage
 * ```ts
 * import { EnvelopePipeline } from "./session.ts";
 * const p = new EnvelopePipeline(["MAIL FROM:<a@x>", "RCPT TO:<b@y>", "DATA"], "a@x", ["b@y"], 100);
 * console.log(p.nextBatch()); // all three commands
 * p.onReply({ code: 250, lines: ["ok"], raw: ["250 ok"] });
 * console.log(p.stage); // "rcpt"
 * ```
 */
export class EnvelopePipeline {
  #commands: readonly string[];
  #from: string;
  #recipients: readonly string[];
  #limit: number;
  #partial: boolean;
  #sent = 0;
  #received = 0;
  /** The recipients accepted so far, in envelope order. */
  readonly accepted: string[] = [];
  /** With `partial`, the recipients refused so far, in envelope order. */
  readonly rejected: RecipientRefusal[] = [];

  /**
   * The envelope commands, the addresses they carry, the pipeline bound, and whether a
   * refused recipient is reported (`partial`) rather than failing the mail.
   */
  constructor(
    commands: readonly string[],
    from: string,
    recipients: readonly string[],
    limit: number,
    partial = false,
  ) {
    this.#commands = commands;
    this.#from = from;
    this.#recipients = recipients;
    this.#limit = Math.max(1, limit);
    this.#partial = partial;
  }

  /** Whether the DATA command was answered with 354. */
  get done(): boolean {
    return this.#received === this.#commands.length;
  }

  /** The stage of the next reply expected. */
  get stage(): SmtpStage {
    if (this.#received === 0) return "mail";
    return this.#received < this.#commands.length - 1 ? "rcpt" : "data";
  }

  /** The commands to send now; empty while replies are outstanding or when done. */
  nextBatch(): string[] {
    if (this.#sent !== this.#received) return [];
    // Lock-step and every recipient refused: DATA is not worth sending.
    if (
      this.#sent === this.#commands.length - 1 && this.accepted.length === 0 &&
      this.rejected.length > 0
    ) {
      throw this.firstRefusal();
    }
    const batch = this.#commands.slice(this.#sent, this.#sent + this.#limit);
    this.#sent += batch.length;
    return [...batch];
  }

  /**
   * Judges the reply to the oldest outstanding command.
   *
   * @throws {SmtpReplyError} with msmtp's message; EX_UNAVAILABLE for 4xx, EX_DATAERR
   * otherwise.
   */
  onReply(reply: Reply): void {
    const stage = this.stage;
    const index = this.#received++;
    const ok = stage === "mail"
      ? reply.code === 250
      : stage === "rcpt"
      ? reply.code === 250 || reply.code === 251
      : reply.code === 354;
    if (stage === "rcpt") {
      if (ok) {
        this.accepted.push(this.#recipients[index - 1]);
        return;
      }
      if (this.#partial) {
        this.rejected.push({ address: this.#recipients[index - 1], reply });
        return;
      }
    }
    if (ok) return;
    // DATA refused after every recipient was: the refusal that matters is the first one.
    if (stage === "data" && this.accepted.length === 0 && this.rejected.length > 0) {
      throw this.firstRefusal();
    }
    const message = stage === "mail"
      ? `envelope from address ${this.#from} not accepted by the server`
      : stage === "rcpt"
      ? `recipient address ${this.#recipients[index - 1]} not accepted by the server`
      : "the server does not accept mail data";
    const code = reply.code >= 400 && reply.code <= 499 ? ExitCode.UNAVAILABLE : ExitCode.DATAERR;
    throw new SmtpReplyError(message, code, { stage, reply });
  }

  /**
   * The error for the first refused recipient, as msmtp words a refused RCPT: what a
   * `partial` mail fails with when no recipient was accepted.
   */
  firstRefusal(): SmtpReplyError {
    const first = this.rejected[0];
    if (first === undefined) {
      return new SmtpReplyError("no recipient accepted", ExitCode.SOFTWARE, {
        stage: "rcpt",
        reply: { code: 0, lines: [], raw: [] },
      });
    }
    return refusedRecipient(first.address, first.reply);
  }
}

function refusedRecipient(address: string, reply: Reply): SmtpReplyError {
  const code = reply.code >= 400 && reply.code <= 499 ? ExitCode.UNAVAILABLE : ExitCode.DATAERR;
  return new SmtpReplyError(`recipient address ${address} not accepted by the server`, code, {
    stage: "rcpt",
    reply,
  });
}

/** Command lines as bytes, each with CRLF (see {@linkcode encodeCommands}). */
function encodeLines(lines: readonly string[]): Uint8Array {
  return encodeCommands(lines.length === 0 ? "" : lines.join("\r\n") + "\r\n");
}

/**
 * Command text as bytes: UTF-8, except that a lone surrogate U+DC80–U+DCFF is the raw byte
 * 0x80–0xFF it stands for (an address byte that was not UTF-8; see `decodeAddressBytes` in
 * `message/addresses.ts`), so such an address goes out exactly as it came in.
 */
function encodeCommands(text: string): Uint8Array {
  // nearly always: no surrogate at all, so no character-by-character look (a pipelined
  // batch of RCPTs is some 3 000 characters)
  if (!SURROGATE.test(text)) return encoder.encode(text);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const paired = i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff;
    if (c < 0xdc80 || c > 0xdcff || paired) continue;
    parts.push(encoder.encode(text.slice(start, i)), Uint8Array.of(c - 0xdc00));
    start = i + 1;
  }
  if (parts.length === 0) return encoder.encode(text);
  parts.push(encoder.encode(text.slice(start)));
  return concat(parts);
}

/** A UTF-16 surrogate, paired or not. */
const SURROGATE = /[\ud800-\udfff]/;

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

function transient(reply: Reply): ExitCode {
  return reply.code >= 400 && reply.code <= 499 ? ExitCode.TEMPFAIL : ExitCode.PROTOCOL;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
