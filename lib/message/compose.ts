/**
 * Composing a mail from parts (addresses, subject, text, HTML, attachments) with nodemailer's
 * MailComposer, which writes RFC 2047 encoded words, RFC 2231 file names and the multipart
 * structure. The npm package is loaded only here, when a mail is composed, so plain sendmail
 * mode never pays for it. Date and Message-ID are the ones the command line adds to a mail
 * without them (see `rewrite.ts`). Text parts are labelled with the character set of their bytes
 * (see `text_charset.ts`), which MailComposer would label UTF-8 whatever they are.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { formatDateHeader, formatMessageId, newMsgidHex } from "./rewrite.ts";
import {
  charsetOfBytes,
  charsetOfFile,
  charsetOfString,
  spoolText,
  type TextCharset,
} from "./text_charset.ts";

/**
 * An address: `"Name <a@b.example>"`, a bare `a@b.example` (or a local name such as `root`),
 * or a name and an address.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComposeAddress, composeMail } from "./compose.ts";
 * const from: ComposeAddress = { name: "Zoë, CI", address: "ci@example.org" };
 * const mail = await composeMail({ from, to: "Ann <ann@example.org>" }, { hostname: "h" });
 * assert.equal(mail.envelope.from, "ci@example.org");
 * await mail.raw.cancel();
 * ```
 */
export type ComposeAddress = string | { name: string; address: string };

/**
 * One or several addresses; a string may hold a comma-separated list.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComposeAddresses, composeMail } from "./compose.ts";
 * const to: ComposeAddresses = ["a@example.org, b@example.org", { name: "C", address: "c@example.org" }];
 * const mail = await composeMail({ from: "x@example.org", to }, { hostname: "h" });
 * assert.deepEqual(mail.envelope.to, ["a@example.org", "b@example.org", "c@example.org"]);
 * await mail.raw.cancel();
 * ```
 */
export type ComposeAddresses = ComposeAddress | ComposeAddress[];

/**
 * The content of a text part or an attachment: the bytes themselves (a string is written as
 * UTF-8) or a stream of them. A stream of a text part (`text`, `html`, a `text/*` attachment)
 * is read to its end when the mail is composed, since its character set goes in the header
 * before it: up to 1 MiB in memory, past that in a temporary file (in `$TMPDIR`, else /tmp;
 * removed at once, only its open handle keeps it). Any other stream is read as the mail is
 * sent.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComposeContent, composeMail } from "./compose.ts";
 * const text: ComposeContent = ReadableStream.from([new TextEncoder().encode("streamed\n")]);
 * const mail = await composeMail({ from: "x@example.org", text }, { hostname: "h" });
 * assert.match(await new Response(mail.raw).text(), /\r\n\r\nstreamed\r\n/);
 * ```
 *
 * @example Bytes that are not UTF-8 are labelled unknown-8bit, and arrive as they are
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComposeContent, composeMail } from "./compose.ts";
 * const latin1: ComposeContent = ReadableStream.from([new Uint8Array([0x63, 0x61, 0x66, 0xe9])]);
 * const mail = await composeMail({ from: "x@example.org", text: latin1 }, { hostname: "h" });
 * const raw = await new Response(mail.raw).text();
 * assert.match(raw, /^Content-Type: text\/plain; charset=unknown-8bit\r$/m);
 * assert.match(raw, /^Content-Transfer-Encoding: quoted-printable\r$/m);
 * assert.ok(raw.endsWith("\r\n\r\ncaf=E9\r\n"));
 * ```
 */
export type ComposeContent = string | Uint8Array | ReadableStream<Uint8Array>;

/**
 * A file attached to the mail. A text attachment (a `text/*` type, given or guessed from the
 * file name, that names no charset) is labelled as the text is: UTF-8 `charset=utf-8`, other
 * 8-bit bytes `charset=unknown-8bit`, ASCII with no charset (MIME's default). Its bytes are
 * sent as they are, in base64.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComposeAttachment, composeMail } from "./compose.ts";
 * const attachments: ComposeAttachment[] = [
 *   { filename: "résumé.csv", content: "a,b\n1,2\n" },
 *   { filename: "blob", content: new Uint8Array([0, 1, 2]), contentType: "application/x-blob" },
 * ];
 * const mail = await composeMail({ from: "x@example.org", attachments }, { hostname: "h" });
 * const text = await new Response(mail.raw).text();
 * assert.match(text, /filename\*0\*=utf-8''r%C3%A9sum%C3%A9\.csv/);
 * assert.match(text, /Content-Type: application\/x-blob/);
 * ```
 *
 * @example A text file that is not UTF-8
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComposeAttachment, composeMail } from "./compose.ts";
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeFile(path, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]));
 * const attachments: ComposeAttachment[] = [{ path, filename: "notes.txt" }];
 * const mail = await composeMail({ from: "x@example.org", attachments }, { hostname: "h" });
 * const text = await new Response(mail.raw).text();
 * assert.match(text, /Content-Type: text\/plain; charset=unknown-8bit; name=notes\.txt/);
 * await Deno.remove(path);
 * ```
 */
export interface ComposeAttachment {
  /** The file name the recipient sees; by default the last part of `path`. */
  filename?: string;
  /**
   * A file to attach, read as the mail is sent (never held whole); a text file is read once
   * before, for its character set.
   */
  path?: string;
  /** The attachment's bytes, when there is no `path`. */
  content?: ComposeContent;
  /** The MIME type; by default guessed from the file name (`report.pdf`: application/pdf). */
  contentType?: string;
}

/**
 * A mail to compose, in the shape of nodemailer's message options.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { composeMail, type ComposeOptions } from "./compose.ts";
 * const options: ComposeOptions = {
 *   from: "CI <ci@example.org>",
 *   to: "team@example.org",
 *   subject: "Build #42: succès",
 *   text: "All green.\n",
 *   html: "<p>All <b>green</b>.</p>",
 *   headers: { "X-Build": "42" },
 * };
 * const text = await new Response((await composeMail(options, { hostname: "h" })).raw).text();
 * assert.match(text, /^Subject: =\?UTF-8\?Q\?Build_=2342=3A_succ=C3=A8s\?=\r$/m);
 * assert.match(text, /^X-Build: 42\r$/m);
 * assert.match(text, /multipart\/alternative/);
 * ```
 */
export interface ComposeOptions {
  /** The author; its address is also the envelope sender. */
  from?: ComposeAddress;
  /** Recipients shown in the To header. */
  to?: ComposeAddresses;
  /** Recipients shown in the Cc header. */
  cc?: ComposeAddresses;
  /** Recipients that receive the mail without appearing in any header. */
  bcc?: ComposeAddresses;
  /** Where replies go. */
  replyTo?: ComposeAddresses;
  /** The subject; any Unicode text. */
  subject?: string;
  /** The plain-text body, or a file holding it. */
  text?: ComposeContent | { path: string };
  /** The HTML body (an alternative to `text` when both are given), or a file holding it. */
  html?: ComposeContent | { path: string };
  /** Files attached to the mail. */
  attachments?: ComposeAttachment[];
  /**
   * More header fields, by name. A `Date` or `Message-ID` given here replaces the generated
   * one; the address and subject fields above take precedence over the same names here.
   */
  headers?: Record<string, string | string[]>;
}

/**
 * What {@linkcode composeMail} returns.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { composeMail, type ComposeResult } from "./compose.ts";
 * const mail: ComposeResult = await composeMail({ from: "a@example.org" }, { hostname: "h" });
 * assert.match(mail.messageId, /^<[0-9a-f]{32}\.a@example\.org>$/);
 * await mail.raw.cancel();
 * ```
 */
export interface ComposeResult {
  /** The complete message (header and body, CRLF line ends), produced as it is read. */
  raw: ReadableStream<Uint8Array>;
  /** The SMTP envelope: the From address, and every To, Cc and Bcc address once. */
  envelope: { from: string; to: string[] };
  /** The Message-ID header's value, with its angle brackets. */
  messageId: string;
}

/**
 * What composition needs from the machine.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { composeMail, type ComposeContext } from "./compose.ts";
 * const context: ComposeContext = { hostname: "box", date: new Date(2026, 0, 5, 9, 0, 0) };
 * const mail = await composeMail({ from: "root" }, context);
 * assert.match(mail.messageId, /\.root@box>$/);
 * assert.match(await new Response(mail.raw).text(), /^Date: Mon, 05 Jan 2026 09:00:00 /m);
 * ```
 */
export interface ComposeContext {
  /** The host name, for the Message-ID of a sender without a domain. */
  hostname: string;
  /** The time for the Date header (default: now). */
  date?: Date;
}

// The few parts of nodemailer's API used here, typed locally: a static type import would put
// the npm package into the start-up module graph.
interface NodeStreamLike {
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array | string>;
  destroy(error?: Error): void;
}
interface MimeNodeLike {
  getEnvelope(): { from: string | false; to: string[] };
  setHeader(key: string, value: string): void;
  getHeader(key: string): unknown;
  messageId(): string;
  createReadStream(): NodeStreamLike;
  childNodes: MimeNodeLike[];
  filename?: string;
}
interface ParsedAddress {
  name: string;
  address?: string;
  group?: ParsedAddress[];
}
interface MailComposerClass {
  new (mail: Record<string, unknown>): { compile(): MimeNodeLike };
}
type DetectMimeType = (filename: string) => string;

const NAMED_ERRORS: Record<string, string> = {
  NotFound: "No such file or directory",
  PermissionDenied: "Permission denied",
  IsADirectory: "Is a directory",
};

/**
 * Fails early, before any connection is made, when a file to include cannot be read: a
 * missing attachment must be a clear error, not a mail cut off in the middle of DATA.
 */
async function checkReadable(path: string, what: string): Promise<void> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw Object.assign(new Error(path), { name: "IsADirectory" });
    const file = await Deno.open(path, { read: true });
    file.close();
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const reason = NAMED_ERRORS[name] ?? (error instanceof Error ? error.message : String(error));
    throw new PostieError(`cannot read ${what} ${path}: ${reason}`, ExitCode.NOINPUT, {
      cause: error,
    });
  }
}

type AddressParser = (text: string) => ParsedAddress[];

/**
 * The addresses as MailComposer should see them. Its parser reads a bare word such as `root`
 * as a display name without an address and would drop that recipient without a word; sendmail
 * callers write exactly that (`mail -s hi root`), so a bare word is taken as an address, and a
 * name with no address at all is refused.
 */
function normalizeAddresses(
  value: ComposeAddresses,
  parse: AddressParser,
  field: string,
): ComposeAddress[] {
  const out: ComposeAddress[] = [];
  for (const item of Array.isArray(value) ? value : [value]) {
    const text = typeof item === "string" ? item : `${item.name}${item.address}`;
    // nodemailer would turn `a@x\r\nBcc: b@y` into a group with b@y as a recipient
    if (/[\r\n\0]/.test(text)) {
      throw new PostieError(`${field}: a line break or NUL in an address`, ExitCode.USAGE);
    }
    if (typeof item !== "string") {
      out.push(item);
      continue;
    }
    const parsed = parse(item);
    if (parsed.some((entry) => entry.group !== undefined)) {
      out.push(item);
      continue;
    }
    for (const entry of parsed) {
      if (entry.address) {
        out.push({ name: entry.name, address: entry.address });
      } else if (/^[^\s"<>()]+$/.test(entry.name)) {
        out.push({ name: "", address: entry.name });
      } else {
        throw new PostieError(`${field}: no address in "${entry.name}"`, ExitCode.USAGE);
      }
    }
  }
  return out;
}

/** What can be destroyed: the Node streams made here, closed when the mail is not read. */
type Opened = { destroy(): void }[];

/**
 * Turns a web stream or bytes into what MailComposer takes (Node streams and Buffers); a
 * stream made is noted in `opened`.
 */
async function toNodeContent(content: ComposeContent, opened: Opened): Promise<unknown> {
  if (typeof content === "string") return content;
  const { Buffer } = await import("node:buffer");
  if (content instanceof Uint8Array) {
    return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  }
  const { Readable } = await import("node:stream");
  // deno-lint-ignore no-explicit-any
  const stream = Readable.fromWeb(content as any);
  opened.push(stream);
  return stream;
}

/** A text part as MailComposer takes it, and the character set of its bytes. */
interface TextContent {
  content: unknown;
  charset: TextCharset;
}

/**
 * A text part's content and its character set. A string is UTF-8; bytes at hand and a regular
 * file are read once to know (the file again when the mail is sent); a stream, a pipe or a
 * device (`/dev/stdin`, `<(command)`) is read to its end into memory or a temporary file
 * ({@linkcode spoolText}), since the label comes before the bytes.
 */
async function textContent(
  part: ComposeContent | { path: string },
  opened: Opened,
): Promise<TextContent> {
  if (typeof part === "string") return { content: part, charset: charsetOfString(part) };
  if (part instanceof Uint8Array) {
    return { content: await toNodeContent(part, opened), charset: charsetOfBytes(part) };
  }
  let stream: ReadableStream<Uint8Array>;
  if (part instanceof ReadableStream) {
    stream = part;
  } else {
    if ((await Deno.stat(part.path)).isFile) {
      return { content: { path: part.path }, charset: await charsetOfFile(part.path) };
    }
    stream = (await Deno.open(part.path, { read: true })).readable;
  }
  const spooled = await spoolText(stream);
  return { content: await toNodeContent(spooled.content, opened), charset: spooled.charset };
}

function isPath(part: ComposeContent | { path: string }): part is { path: string } {
  return typeof part === "object" && !(part instanceof Uint8Array) &&
    !(part instanceof ReadableStream) && "path" in part;
}

/**
 * The Content-Type of a text attachment with its character set: a charset the type names is
 * kept; else UTF-8 text is labelled `utf-8` and other 8-bit text `unknown-8bit` (ASCII needs
 * no label: it is MIME's default).
 */
function withCharset(contentType: string, charset: TextCharset): string {
  if (/;\s*charset\s*=/i.test(contentType) || charset === "us-ascii") return contentType;
  return `${contentType}; charset=${charset}`;
}

function* mimeNodes(node: MimeNodeLike): Generator<MimeNodeLike> {
  yield node;
  for (const child of node.childNodes) yield* mimeNodes(child);
}

/**
 * Labels the text or HTML body (`type`) `unknown-8bit`: MailComposer labels both utf-8,
 * whatever their bytes. The body is the leaf of that type without a file name (attachments
 * always have one).
 */
function relabelBody(root: MimeNodeLike, type: string, charset: TextCharset): void {
  if (charset !== "unknown-8bit") return;
  for (const node of mimeNodes(root)) {
    const current = String(node.getHeader("Content-Type") ?? "").toLowerCase();
    if (node.childNodes.length === 0 && !node.filename && current.startsWith(`${type};`)) {
      node.setHeader("Content-Type", `${type}; charset=${charset}`);
    }
  }
}

function hasHeader(headers: ComposeOptions["headers"], name: string): boolean {
  return Object.keys(headers ?? {}).some((key) => key.toLowerCase() === name);
}

/**
 * Pulls the Node stream only as fast as the reader of the web stream reads: no buffering.
 * When the stream is cancelled or fails, `release` closes what the mail would have read.
 */
function toWebStream(node: NodeStreamLike, release: () => void): ReadableStream<Uint8Array> {
  const iterator = node[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next();
        if (done) {
          controller.close();
          return;
        }
        controller.enqueue(typeof value === "string" ? encoder.encode(value) : value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    cancel(reason) {
      node.destroy(reason instanceof Error ? reason : undefined);
      release();
    },
  }, { highWaterMark: 0 });
}

/**
 * Composes a MIME message: text and HTML become a multipart/alternative, attachments a
 * multipart/mixed; non-ASCII subjects, display names and file names are encoded (RFC 2047,
 * RFC 2231). Bcc addresses are in the envelope and in no header. Attachments given by `path`
 * are read while the message is streamed, so memory does not grow with their size; a file
 * that cannot be read fails here, before anything is sent.
 *
 * The text and the HTML are labelled with the character set of their bytes: `charset=utf-8`
 * for ASCII and UTF-8 (a string is always UTF-8), `charset=unknown-8bit` (RFC 1428: 8-bit text
 * whose character set nothing tells) for anything else, such as Latin-1 from a legacy
 * program. Their bytes arrive as they were given (quoted-printable or base64). Text
 * attachments are labelled likewise (see {@linkcode ComposeAttachment}). To know the label
 * before the body, a text given as a stream is read to its end here (see
 * {@linkcode ComposeContent}: memory stays bounded), and a text file is read once more.
 *
 * Date and Message-ID are generated as the command line generates them: a local-time Date and
 * `<32 hex digits.SENDER>` (`<HEX.SENDER@HOSTNAME>` when the sender has no domain).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { composeMail } from "./compose.ts";
 * const mail = await composeMail({
 *   from: "Ann <ann@example.org>",
 *   to: "bob@example.org",
 *   bcc: "audit@example.org",
 *   subject: "Build finished",
 *   text: "All green.\n",
 * }, { hostname: "ci.example.org" });
 * assert.deepEqual(mail.envelope, {
 *   from: "ann@example.org",
 *   to: ["bob@example.org", "audit@example.org"],
 * });
 * const text = await new Response(mail.raw).text();
 * assert.ok(!text.includes("audit@"));
 * assert.ok(text.includes(`Message-ID: ${mail.messageId}\r\n`));
 * ```
 *
 * @throws {PostieError} EX_NOINPUT (66) when a file to attach or include cannot be read.
 * @throws {PostieError} EX_IOERR (74) when a streamed text cannot be kept in a temporary file.
 */
export async function composeMail(
  mail: ComposeOptions,
  context: ComposeContext,
): Promise<ComposeResult> {
  const options: Record<string, unknown> = {
    newline: "\r\n",
    // Composition reads local files the caller named; it never fetches URLs.
    disableUrlAccess: true,
  };
  const [{ default: MailComposer }, { default: addressParser }, { detectMimeType }] = await Promise
    .all([
      import("npm:nodemailer@^10.6.1/lib/mail-composer") as Promise<{
        default: MailComposerClass;
      }>,
      import("npm:nodemailer@^10.6.1/lib/addressparser") as Promise<{ default: AddressParser }>,
      import("npm:nodemailer@^10.6.1/lib/mime-funcs") as Promise<{
        detectMimeType: DetectMimeType;
      }>,
    ]);
  for (const key of ["to", "cc", "bcc", "replyTo"] as const) {
    const value = mail[key];
    if (value !== undefined) options[key] = normalizeAddresses(value, addressParser, key);
  }
  if (mail.from !== undefined) {
    const [from, ...more] = normalizeAddresses(mail.from, addressParser, "from");
    if (more.length > 0) throw new PostieError("from: more than one address", ExitCode.USAGE);
    options.from = from;
  }
  if (mail.subject !== undefined) options.subject = mail.subject;
  if (mail.headers !== undefined) options.headers = mail.headers;
  // Every file is checked before any text is read: a stream read to its end (standard input)
  // cannot be read again.
  if (mail.text !== undefined && isPath(mail.text)) {
    await checkReadable(mail.text.path, "text file");
  }
  if (mail.html !== undefined && isPath(mail.html)) {
    await checkReadable(mail.html.path, "HTML file");
  }
  for (const [i, attachment] of (mail.attachments ?? []).entries()) {
    if (attachment.path !== undefined) {
      if (!attachment.path.startsWith("data:")) {
        await checkReadable(attachment.path, "attachment");
      }
    } else if (attachment.content === undefined) {
      throw new PostieError(
        `attachment ${attachment.filename ?? "#" + (i + 1)} has neither path nor content`,
        ExitCode.USAGE,
      );
    }
  }

  const opened: Opened = [];
  const release = (): void => {
    for (const stream of opened.splice(0)) stream.destroy();
  };
  try {
    let text: TextContent | undefined;
    let html: TextContent | undefined;
    if (mail.text !== undefined) {
      text = await textContent(mail.text, opened);
      options.text = text.content;
    }
    if (mail.html !== undefined) {
      html = await textContent(mail.html, opened);
      options.html = html.content;
    }
    const attachments = [];
    for (const attachment of mail.attachments ?? []) {
      attachments.push(await attachmentEntry(attachment, detectMimeType, opened));
    }
    if (attachments.length > 0) options.attachments = attachments;

    const node = new MailComposer(options).compile();
    if (text) relabelBody(node, "text/plain", text.charset);
    if (html) relabelBody(node, "text/html", html.charset);
    const found = node.getEnvelope();
    const envelope = { from: found.from === false ? "" : found.from, to: [...found.to] };
    if (!hasHeader(mail.headers, "message-id")) {
      const hex = newMsgidHex(context.hostname);
      node.setHeader("Message-ID", formatMessageId(hex, envelope.from, context.hostname));
    }
    if (!hasHeader(mail.headers, "date")) {
      node.setHeader("Date", formatDateHeader(context.date ?? new Date()));
    }
    return {
      raw: toWebStream(node.createReadStream(), release),
      envelope,
      messageId: node.messageId(),
    };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * An attachment as MailComposer takes it. A text attachment (a `text/*` type, given or guessed
 * from the file name, without a charset) is read to label its character set, as the body is.
 */
async function attachmentEntry(
  attachment: ComposeAttachment,
  detectMimeType: DetectMimeType,
  opened: Opened,
): Promise<Record<string, unknown>> {
  const entry: Record<string, unknown> = {};
  const path = attachment.path;
  const isFile = path !== undefined && !path.startsWith("data:");
  let filename = attachment.filename;
  // MailComposer would name an extensionless file `NAME.*`; the file's own name is right
  if (filename === undefined && isFile) filename = path.slice(path.lastIndexOf("/") + 1);
  if (filename !== undefined) entry.filename = filename;
  const contentType = attachment.contentType ??
    (path !== undefined && !isFile ? undefined : detectMimeType(filename ?? "bin"));
  if (contentType !== undefined) entry.contentType = contentType;
  const labelled = contentType !== undefined && /^text\//i.test(contentType) &&
    !/;\s*charset\s*=/i.test(contentType);
  const source = isFile ? { path } : attachment.content;
  if (labelled && source !== undefined) {
    const text = await textContent(source, opened);
    entry.contentType = withCharset(contentType, text.charset);
    if (typeof text.content === "object" && text.content !== null && "path" in text.content) {
      entry.path = path;
    } else {
      entry.content = text.content;
    }
  } else if (path !== undefined) {
    entry.path = path;
  } else {
    entry.content = await toNodeContent(attachment.content!, opened);
  }
  return entry;
}
