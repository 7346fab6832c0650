/**
 * The SMTP listener, on nodemailer's `smtp-server` (loaded here, only in relay mode). It
 * decides who may relay, enforces the limits, checks every message for bare CR/LF and
 * answers 250 only after the {@linkcode MailSink} has the mail on disk.
 *
 * Who may relay: a client in a trusted network (`allow`, loopback by default), or an
 * authenticated user. AUTH (PLAIN, LOGIN) is offered when a users file is configured and
 * accepted only under TLS, except from trusted networks.
 *
 * Every refusal of the relay carries its own enhanced status code (RFC 3463, RFC 5248):
 * `550 5.7.1 Relay access denied`, `552 5.3.4` for a mail too big, `452 4.3.1` for a full
 * disk. smtp-server gives a handler's error the enhanced code of its reply code alone
 * (550 → 5.1.1, "mailbox unavailable"), and offers no way to name another; so the relay's
 * errors carry the code in their text, and the `hideENHANCEDSTATUSCODES` option is a getter
 * that is true for exactly the one reply that text goes into (see {@linkcode ReplyCodes}).
 *
 * DSN (RFC 3461) is offered unless the sink cannot pass it on (`dsn: false`): `RET`,
 * `ENVID`, `NOTIFY` and `ORCPT` are checked here (`ENVID` and the `ORCPT` address printable
 * US-ASCII, within RFC 3461's lengths; else `501 5.5.4`) and handed to the sink
 * xtext-decoded, as smtp-server decodes them. They are read from the MAIL FROM and RCPT TO
 * the relay accepted: smtp-server's `envelope.dsn` keeps those of a MAIL FROM it refused.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { BareNewlineCheck } from "./bare_newline.ts";
import type { RefusalReason, RelayMetrics } from "./metrics.ts";
import { inNetworks, type Network } from "../config/networks.ts";
import { type MailSink, type RelayEnvelope, SinkError } from "./sink.ts";
import type { Users } from "./users.ts";
import { fnmatch } from "../config/fnmatch.ts";
import { formatDateHeader } from "../message/rewrite.ts";
import { encodeXtext, formatOrcpt } from "../smtp/command.ts";

/** An address the relay listens on. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** What happened to one mail, for the log line. */
export interface MailEvent {
  /** `accepted` (250 after DATA) or `refused`. */
  outcome: "accepted" | "refused";
  /** The queue id of an accepted mail. */
  id?: string;
  /** The reply the client got. */
  reply: string;
  reason?: RefusalReason;
  from: string | null;
  recipients: string[];
  client: string;
  user: string | null;
  /** Bytes of message, for accepted mails. */
  size?: number;
}

/** Options of {@linkcode startRelay}. */
export interface RelayOptions {
  /** Where to listen; empty for a relay that only serves {@linkcode Relay.serve}. */
  listen: ListenAddress[];
  /** The name in the greeting and the Received line. */
  name: string;
  /** PEM certificate chain and key: STARTTLS is offered when given. */
  tls?: { cert: string; key: string };
  /** Users who may AUTH; AUTH is not offered without. */
  users?: Users;
  /** Networks that may relay without AUTH, and AUTH without TLS. */
  allow: Network[];
  /** Networks that may AUTH without TLS besides `allow` (msmtpd's local clients). */
  clearAuth?: Network[];
  /** Sender patterns (fnmatch); a MAIL FROM matching none is refused. Empty: any. */
  allowFrom?: string[];
  /** Recipient patterns (fnmatch); a RCPT TO matching none is refused. Empty: any. */
  allowRcpt?: string[];
  /**
   * Offer DSN (RFC 3461) and take its parameters to the sink (the default). False for a sink
   * that cannot pass them on (msmtpd's `--command`): DSN is not offered and a MAIL or RCPT
   * with `RET`, `ENVID`, `NOTIFY` or `ORCPT` gets `555 5.5.4` (RFC 5321 §4.1.1.11).
   */
  dsn?: boolean;
  /** Largest message in bytes, offered as SIZE and enforced with 552. */
  maxSize: number;
  /** Recipients per mail; more get 452. */
  maxRecipients: number;
  /** Connections at once; more get 421. */
  maxConnections: number;
  /** Idle time after which a connection is closed with 421, in ms. */
  idleTimeoutMs: number;
  /**
   * A message with bare CR or LF: `reject` refuses it with 554; `normalize` (the default)
   * queues it as received, and the upstream delivery makes every line end CRLF. Either
   * way DATA ends only at CRLF.CRLF, so no such sequence ever ends a mail.
   */
  bareNewlines?: "normalize" | "reject";
  /** Mails per client (address, or user when authenticated) per minute; 0 = no limit. */
  ratePerMinute: number;
  /** Delay before answering a failed AUTH, in ms. Default 1000. */
  authFailureDelayMs?: number;
  /** Failed AUTHs after which the connection is closed. Default 3. */
  maxAuthFailures?: number;
  /**
   * Failed AUTHs from one client address within 10 minutes after which that address may
   * not try again until the window has passed (454). Default 10.
   */
  maxAuthFailuresPerClient?: number;
  /** Where accepted mail goes. */
  sink: MailSink;
  /** Called after a mail is queued (to wake the queue runner). */
  onQueued?: (id: string) => void;
  /** Told of every accepted and refused mail. */
  onMail?: (event: MailEvent) => void;
  /** Counters to update. */
  metrics?: RelayMetrics;
  /**
   * Told of errors of single connections (a client that reset, a failed TLS handshake);
   * they end that connection only.
   */
  onError?: (error: Error) => void;
}

/** A running relay. */
export interface Relay {
  /** The addresses it listens on (with the real port when 0 was asked for). */
  addresses: ListenAddress[];
  /** Speaks SMTP over an already connected stream (`-bs`: standard input and output). */
  serve(stream: Duplex, remoteAddress: string): void;
  /**
   * Stops accepting connections, lets the transactions in progress finish (at most
   * `graceMs`, default 30000), then closes what is left with 421.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * The relay's replies with their own enhanced status codes. smtp-server writes a handler's
 * error as `CODE ENHANCED MESSAGE`, ENHANCED looked up from CODE, unless its option
 * `hideENHANCEDSTATUSCODES` is true when the reply is written; it reads the error's
 * `message` just before. So an error made here carries its enhanced code in its message,
 * whose getter arms a flag; the option is a getter that reads (and clears) that flag, so
 * only that reply goes without the looked-up code. The flag is also cleared at the next
 * microtask, in case smtp-server reads a message without writing it: nothing else loses
 * its code.
 */
class ReplyCodes {
  #armed = false;

  /** The value of the `hideENHANCEDSTATUSCODES` option at each read. */
  hide(): boolean {
    const armed = this.#armed;
    this.#armed = false;
    return armed;
  }

  /** An error smtp-server answers with `CODE ENHANCED TEXT`. */
  reply(code: number, enhanced: string, text: string): Error & { responseCode: number } {
    const error = Object.assign(new Error(text), { responseCode: code });
    const message = `${enhanced} ${text}`;
    Object.defineProperty(error, "message", {
      get: () => {
        this.#armed = true;
        queueMicrotask(() => this.#armed = false);
        return message;
      },
    });
    return error;
  }
}

/** The most characters of an `ENVID`, xtext-encoded (RFC 3461 §4.4). */
const MAX_ENVID = 100;
/** The most characters of an `ORCPT` value, xtext-encoded (RFC 3461 §4.2). */
const MAX_ORCPT = 500;

/** Printable US-ASCII, what an `ENVID` and an `ORCPT` address must be (RFC 3461 §4). */
const PRINTABLE = /^[\x20-\x7e]+$/;

/** The parts of smtp-server's session this module reads. */
interface Session {
  id: string;
  remoteAddress: string;
  hostNameAppearsAs?: string | false;
  secure: boolean;
  user?: unknown;
  envelope: {
    mailFrom: false | { address: string; args: Record<string, unknown> | false };
    rcptTo: { address: string; args: Record<string, unknown> | false }[];
    dsn?: { ret: string | null; envid: string | null };
    bodyType?: string;
    smtpUtf8?: boolean;
  };
  transmissionType?: string;
}

/** MAIL FROM or RCPT TO as smtp-server parsed it (parameter values xtext-decoded). */
interface AddressCommand {
  address: string;
  args: Record<string, unknown> | false;
}

/** What the relay remembers about one connection. */
interface ConnectionState {
  authFailures: number;
}

const encoder = new TextEncoder();

/** A fixed scrypt hash of nothing, checked for unknown users so timing tells nothing. */
const DUMMY_HASH = "$scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" +
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/**
 * Starts the listener on every address of `options.listen`.
 *
 * @example Usage
 * ```ts ignore
 * const relay = await startRelay({ listen: [{ hostname: "127.0.0.1", port: 2525 }], … });
 * await relay.close();
 * ```
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { SMTPServer } = await import("npm:smtp-server@^3.21.6");
  const codes = new ReplyCodes();
  const dsnOffered = options.dsn !== false;
  const reply = codes.reply.bind(codes);
  const { verifyPassword } = options.users
    ? await import("./users.ts")
    : { verifyPassword: undefined };
  const metrics = options.metrics;
  const rejectBare = options.bareNewlines === "reject";
  const authFailureDelayMs = options.authFailureDelayMs ?? 1000;
  const maxAuthFailures = options.maxAuthFailures ?? 3;
  const maxPerClient = options.maxAuthFailuresPerClient ?? 10;
  const states = new Map<string, ConnectionState>();
  /** Failure times per client address, for the limit across connections. */
  const authFailures = new Map<string, number[]>();
  const recentAuthFailures = (address: string): number => {
    const cutoff = Date.now() - 600_000;
    const times = (authFailures.get(address) ?? []).filter((t) => t > cutoff);
    if (times.length === 0) authFailures.delete(address);
    else authFailures.set(address, times);
    return times.length;
  };
  const recent = new Map<string, number[]>();
  const open = new Set<string>();
  // Per-address records are pruned when their address comes back; a sweep of all of them
  // every minute keeps clients that never return (many addresses) from piling up.
  const sweep = setInterval(() => {
    for (const address of [...authFailures.keys()]) recentAuthFailures(address);
    for (const key of [...recent.keys()]) mailsInLastMinute(key);
  }, 60_000);
  Deno.unrefTimer(sweep);
  const trusted = (session: Session): boolean => inNetworks(session.remoteAddress, options.allow);
  const user = (session: Session): string | null =>
    typeof session.user === "string" ? session.user : null;
  const state = (session: Session): ConnectionState => {
    let s = states.get(session.id);
    if (s === undefined) {
      s = { authFailures: 0 };
      states.set(session.id, s);
    }
    return s;
  };
  const refuse = (
    session: Session,
    reason: RefusalReason,
    code: number,
    enhanced: string,
    text: string,
    recipients?: string[],
  ): Error => {
    metrics?.refuse(reason);
    const mailFrom = session.envelope.mailFrom;
    options.onMail?.({
      outcome: "refused",
      reason,
      reply: `${code} ${enhanced} ${text}`,
      from: mailFrom ? mailFrom.address : null,
      recipients: recipients ?? session.envelope.rcptTo.map((r) => r.address),
      client: session.remoteAddress,
      user: user(session),
    });
    return reply(code, enhanced, text);
  };
  const rateKey = (session: Session): string => user(session) ?? session.remoteAddress;
  const mailsInLastMinute = (key: string): number => {
    const cutoff = Date.now() - 60_000;
    const times = (recent.get(key) ?? []).filter((t) => t > cutoff);
    if (times.length === 0) recent.delete(key);
    else recent.set(key, times);
    return times.length;
  };

  const server = new SMTPServer(
    {
      name: options.name,
      banner: "postie",
      size: options.maxSize,
      authMethods: options.users ? ["PLAIN", "LOGIN"] : [],
      authOptional: true,
      // enforced per client in onAuth: under TLS, or from a trusted network
      allowInsecureAuth: true,
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { hideSTARTTLS: true }),
      hideREQUIRETLS: true,
      // false but for the one reply that carries its own enhanced code (ReplyCodes)
      get hideENHANCEDSTATUSCODES(): boolean {
        return codes.hide();
      },
      hideDSN: options.dsn === false,
      hidePIPELINING: false,
      hide8BITMIME: false,
      hideSMTPUTF8: false,
      disabledCommands: [...(options.tls ? [] : ["STARTTLS"]), ...(options.users ? [] : ["AUTH"])],
      maxClients: options.maxConnections,
      socketTimeout: options.idleTimeoutMs,
      closeTimeout: 30_000,
      disableReverseLookup: true,
      logger: false,
      onConnect(session: Session, callback: (error?: Error | null) => void) {
        open.add(session.id);
        if (metrics) metrics.connections = open.size;
        callback();
      },
      onClose(session: Session) {
        // also called for connections turned away with 421, which never connected
        open.delete(session.id);
        if (metrics) metrics.connections = open.size;
        states.delete(session.id);
      },
      onAuth(
        auth: { method: string; username?: string; password?: string },
        session: Session,
        callback: (error: Error | null, response?: { user: string }) => void,
      ) {
        if (
          !session.secure && !trusted(session) &&
          !inNetworks(session.remoteAddress, options.clearAuth ?? [])
        ) {
          // RFC 4954 §6
          callback(
            reply(538, "5.7.11", "Encryption required for requested authentication mechanism"),
          );
          return;
        }
        if (recentAuthFailures(session.remoteAddress) >= maxPerClient) {
          callback(
            reply(454, "4.7.0", "Too many failed authentications from your address; try later"),
          );
          return;
        }
        const name = auth.username ?? "";
        const hash = options.users?.get(name);
        (async () => {
          const ok = await verifyPassword!(hash ?? DUMMY_HASH, auth.password ?? "") &&
            hash !== undefined;
          if (ok) {
            callback(null, { user: name });
            return;
          }
          const s = state(session);
          s.authFailures++;
          authFailures.set(session.remoteAddress, [
            ...(authFailures.get(session.remoteAddress) ?? []),
            Date.now(),
          ]);
          metrics?.refuse("auth_failed");
          await new Promise((resolve) => setTimeout(resolve, authFailureDelayMs));
          if (s.authFailures >= maxAuthFailures) {
            callback(reply(421, "4.7.0", "Too many failed authentications; closing connection"));
          } else {
            callback(reply(535, "5.7.8", "Authentication credentials invalid"));
          }
        })().catch((error) =>
          callback(reply(454, "4.7.0", `Temporary authentication failure: ${error}`))
        );
      },
      onMailFrom(
        address: AddressCommand,
        session: Session,
        callback: (error?: Error | null) => void,
      ) {
        const unsupported = dsnOffered ? undefined : given(address, ["RET", "ENVID"]);
        if (unsupported !== undefined) {
          callback(reply(555, "5.5.4", `Unsupported option: ${unsupported}`));
          return;
        }
        const envid = param(address, "ENVID");
        if (envid !== undefined && !validEnvid(envid)) {
          callback(reply(501, "5.5.4", "Bad ENVID parameter syntax"));
          return;
        }
        if (
          options.ratePerMinute > 0 && mailsInLastMinute(rateKey(session)) >= options.ratePerMinute
        ) {
          callback(
            refuse(
              session,
              "rate_limited",
              451,
              "4.7.0",
              "Too many mails from you; try again in a minute",
              [],
            ),
          );
          return;
        }
        if (
          options.allowFrom?.length && !options.allowFrom.some((p) => fnmatch(p, address.address))
        ) {
          metrics?.refuse("sender_denied");
          options.onMail?.({
            outcome: "refused",
            reason: "sender_denied",
            reply: "553 5.7.1 Sender address not allowed",
            from: address.address,
            recipients: [],
            client: session.remoteAddress,
            user: user(session),
          });
          callback(reply(553, "5.7.1", "Sender address not allowed"));
          return;
        }
        callback();
      },
      onRcptTo(
        address: AddressCommand,
        session: Session,
        callback: (error?: Error | null) => void,
      ) {
        const unsupported = dsnOffered ? undefined : given(address, ["NOTIFY", "ORCPT"]);
        if (unsupported !== undefined) {
          callback(reply(555, "5.5.4", `Unsupported option: ${unsupported}`));
          return;
        }
        const orcpt = param(address, "ORCPT");
        if (orcpt !== undefined && !validOrcpt(orcpt)) {
          callback(reply(501, "5.5.4", "Bad ORCPT parameter syntax"));
          return;
        }
        if (session.envelope.rcptTo.length >= options.maxRecipients) {
          // RFC 5321 §4.5.3.1.10: 452, and the client sends the rest in another mail
          callback(reply(452, "4.5.3", "Too many recipients"));
          metrics?.refuse("too_many_recipients");
          return;
        }
        if (!trusted(session) && user(session) === null) {
          callback(
            refuse(session, "relay_denied", 550, "5.7.1", "Relay access denied", [
              address.address,
            ]),
          );
          return;
        }
        if (
          options.allowRcpt?.length && !options.allowRcpt.some((p) => fnmatch(p, address.address))
        ) {
          callback(
            refuse(session, "recipient_denied", 550, "5.7.1", "Recipient address not allowed", [
              address.address,
            ]),
          );
          return;
        }
        callback();
      },
      onData(
        stream: NodeJS.ReadableStream & { sizeExceeded?: boolean; byteLength?: number },
        session: Session,
        callback: (error?: Error | null, message?: string) => void,
      ) {
        receive(stream, session).then(
          (result) => callback(result.error ?? null, result.message),
          (error) => callback(reply(451, "4.3.0", `Local error in processing: ${error}`)),
        );
      },
    } as unknown as ConstructorParameters<typeof SMTPServer>[0],
  );

  // smtp-server re-emits every connection's error on the server; unheard, an 'error'
  // event would end the process, so one client resetting its connection would stop all
  (server as unknown as { on(e: "error", f: (error: Error) => void): void }).on(
    "error",
    (error) => options.onError?.(error),
  );

  /** Reads one message into the sink and says what to answer. */
  async function receive(
    stream: NodeJS.ReadableStream & { sizeExceeded?: boolean; byteLength?: number },
    session: Session,
  ): Promise<{ error?: Error; message?: string }> {
    const env = session.envelope;
    const mailFrom = env.mailFrom ? env.mailFrom.address : "";
    // the parameters of the MAIL FROM that was accepted: smtp-server's envelope.dsn and
    // bodyType keep those of a MAIL FROM the relay refused
    const mailArgs = env.mailFrom ? env.mailFrom : { address: "", args: false as const };
    const ret = param(mailArgs, "RET")?.toUpperCase();
    const envid = param(mailArgs, "ENVID");
    const recipients = env.rcptTo.map((r) => r.address);
    const check = new BareNewlineCheck();
    const iterator = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    let refusal: "too_big" | "bare_newline" | undefined;
    let size = 0;
    const drain = async (): Promise<void> => {
      for (;;) {
        const { done } = await iterator.next();
        if (done) return;
      }
    };
    const received = receivedLine(session, options.name);
    const message = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(received);
      },
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) {
          if (rejectBare && !check.end()) refusal = "bare_newline";
          if (refusal) controller.error(new Error(refusal));
          else controller.close();
          return;
        }
        const chunk = value as Uint8Array;
        size += chunk.byteLength;
        if (rejectBare) check.push(chunk);
        if (!check.clean) refusal = "bare_newline";
        else if (stream.sizeExceeded) refusal = "too_big";
        if (refusal) {
          // the rest is read and dropped, so the client's final dot is still answered
          await drain();
          controller.error(new Error(refusal));
          return;
        }
        controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    const envelope: RelayEnvelope = {
      from: mailFrom,
      recipients: env.rcptTo.map((r) => ({
        address: r.address,
        notify: dsnNotify(r),
        orcpt: param(r, "ORCPT") ?? null,
      })),
      dsn: {
        ret: ret === "FULL" || ret === "HDRS" ? ret : null,
        envid: envid ?? null,
      },
      eightBit: param(mailArgs, "BODY")?.toUpperCase() === "8BITMIME",
      smtpUtf8: mailArgs.args !== false && mailArgs.args.SMTPUTF8 === true,
      clientAddress: session.remoteAddress,
      clientHelo: session.hostNameAppearsAs || "",
      user: user(session),
      receivedAt: new Date(),
    };
    let id: string;
    try {
      id = await options.sink.accept(envelope, message);
    } catch (error) {
      if (refusal === "too_big") {
        const text = "Message exceeds fixed maximum message size";
        return { error: refuse(session, "too_big", 552, "5.3.4", text, recipients) };
      }
      if (refusal === "bare_newline") {
        const text = "Message refused: bare CR or LF in the message; lines must end with CRLF";
        return { error: refuse(session, "bare_newline", 554, "5.6.0", text, recipients) };
      }
      await drain().catch(() => {});
      if (error instanceof SinkError && error.trouble === "rejected") {
        return {
          error: refuse(
            session,
            "rejected",
            554,
            "5.3.0",
            `Mail not accepted: ${error.message}`,
            recipients,
          ),
        };
      }
      if (error instanceof SinkError && error.trouble === "full") {
        return {
          error: refuse(
            session,
            "queue_trouble",
            452,
            "4.3.1",
            "Insufficient system storage; try again later",
            recipients,
          ),
        };
      }
      return {
        error: refuse(
          session,
          "queue_trouble",
          451,
          "4.3.0",
          "Local error in processing; try again later",
          recipients,
        ),
      };
    }
    if (options.ratePerMinute > 0) {
      const key = rateKey(session);
      recent.set(key, [...(recent.get(key) ?? []), Date.now()]);
    }
    if (metrics) metrics.accepted++;
    options.onQueued?.(id);
    const text = `OK queued as ${id}`;
    options.onMail?.({
      outcome: "accepted",
      id,
      // as the client sees it: smtp-server adds DATA_OK's enhanced code
      reply: `250 2.6.0 ${text}`,
      from: mailFrom,
      recipients,
      client: session.remoteAddress,
      user: user(session),
      size,
    });
    return { message: text };
  }

  const extras: NetServer[] = [];
  const addresses = await listenAll(
    server as unknown as { server: unknown },
    options.listen,
    extras,
  ).catch((error) => {
    clearInterval(sweep);
    for (const extra of extras) extra.close();
    server.close(() => {});
    throw error;
  });

  return {
    addresses,
    serve(stream: Duplex, remoteAddress: string): void {
      (server as unknown as { connect(s: Duplex, o: Record<string, unknown>): void }).connect(
        stream,
        { remoteAddress, remotePort: 0, localAddress: "127.0.0.1", localPort: 0 },
      );
    },
    async close(graceMs = 30_000): Promise<void> {
      (server as unknown as { options: { closeTimeout: number } }).options.closeTimeout = graceMs;
      clearInterval(sweep);
      for (const extra of extras) extra.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Node net server, as far as this module uses it. */
interface NetServer {
  listen(port: number, hostname: string, callback: () => void): void;
  once(event: "error", listener: (error: Error) => void): void;
  on(event: "connection", listener: (socket: unknown) => void): void;
  emit(event: "connection", socket: unknown): boolean;
  address(): { port: number } | string | null;
  close(): void;
}

/**
 * Listens on every address: smtp-server's own net server takes the first; each further
 * address gets a plain net server whose connections are handed to the first one, so
 * every limit (connections, rate) is shared by all addresses.
 */
async function listenAll(
  server: { server: unknown },
  addresses: ListenAddress[],
  extras: NetServer[],
): Promise<ListenAddress[]> {
  const net = await import("node:net");
  const primary = server.server as NetServer;
  const out: ListenAddress[] = [];
  for (const [i, address] of addresses.entries()) {
    const target: NetServer = i === 0 ? primary : net.createServer() as unknown as NetServer;
    if (i > 0) {
      target.on("connection", (socket) => primary.emit("connection", socket));
      extras.push(target);
    }
    await new Promise<void>((resolve, reject) => {
      target.once("error", reject);
      target.listen(address.port, address.hostname, () => resolve());
    });
    const bound = target.address();
    out.push({
      hostname: address.hostname,
      port: typeof bound === "object" && bound !== null ? bound.port : address.port,
    });
  }
  return out;
}

/** A parameter's value (xtext-decoded by smtp-server), if given with one. */
function param(command: AddressCommand, name: string): string | undefined {
  const value = command.args ? command.args[name] : undefined;
  return typeof value === "string" ? value : undefined;
}

/** The first of `names` the command has as a parameter. */
function given(command: AddressCommand, names: string[]): string | undefined {
  const args = command.args;
  return args ? names.find((name) => args[name] !== undefined) : undefined;
}

/** `NOTIFY=` of a RCPT TO, as upper-case conditions. */
function dsnNotify(command: AddressCommand): string[] | null {
  const notify = param(command, "NOTIFY");
  if (notify === undefined) return null;
  return notify.toUpperCase().split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Whether a decoded `ENVID` is printable US-ASCII and not too long once encoded. */
function validEnvid(envid: string): boolean {
  return PRINTABLE.test(envid) && encodeXtext(envid).length <= MAX_ENVID;
}

/**
 * Whether a decoded `ORCPT` is `TYPE;ADDRESS` with a type of letters, digits and hyphens
 * (`rfc822`, `utf-8`), the address printable US-ASCII, not too long once encoded.
 */
function validOrcpt(orcpt: string): boolean {
  const semi = orcpt.indexOf(";");
  if (semi <= 0 || !/^[A-Za-z0-9-]+$/.test(orcpt.slice(0, semi))) return false;
  const address = orcpt.slice(semi + 1);
  return PRINTABLE.test(address) && formatOrcpt(orcpt).length <= MAX_ORCPT;
}

/**
 * The relay's trace line (RFC 5321 §4.4), the only change it makes to a message:
 * `Received: from HELO ([ADDRESS]) by NAME (postie) with ESMTP[S][A] id SESSION; DATE`.
 */
function receivedLine(session: Session, name: string): Uint8Array {
  const helo = (session.hostNameAppearsAs || "unknown").replace(/[^\x21-\x7e]/g, "?");
  const address = session.remoteAddress.replace(/^::ffff:/, "");
  const protocol = session.transmissionType ?? "ESMTP";
  const line = `Received: from ${helo} ([${address}])\r\n\tby ${name} (postie) with ${protocol}` +
    ` id ${session.id};\r\n\t${formatDateHeader(new Date())}\r\n`;
  return encoder.encode(line);
}
