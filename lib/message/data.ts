/**
 * The whole DATA payload of a mail as one stream: the rewritten header block, the empty line
 * (when the mail had one), then the body from standard input, all through the dot-stuffer.
 *
 * @module
 */

import { type ByteInput, PendingBytes, prefixedStream } from "./byte_stream.ts";
import { DotStuffer } from "./dot_stuff.ts";

/** A mail ready for the DATA phase. */
export interface DataPayload {
  /** The DATA bytes, without the final `.\r\n`. */
  stream: ReadableStream<Uint8Array>;
  /** The transformer; its `mailsize` is msmtp's log value once `stream` has been read. */
  stuffer: DotStuffer;
}

const EMPTY_LINE = Uint8Array.of(0x0d, 0x0a);

/**
 * Joins the rewritten headers, the separator and the body and dot-stuffs them, streaming.
 * The header goes through the stuffer too: msmtp counts it in `mailsize` and stuffs a header
 * line that starts with a dot.
 *
 * @example Usage
 * ```ts
 * import { dataPayload } from "./data.ts";
 * const head = new TextEncoder().encode("Subject: x\r\n");
 * const body = ReadableStream.from([new TextEncoder().encode(".hi\n")]);
 * const { stream, stuffer } = dataPayload(head, true, body);
 * console.log(await new Response(stream).text()); // "Subject: x\r\n\r\n..hi\r\n"
 * console.log(stuffer.mailsize); // 16
 * ```
 */
export function dataPayload(
  header: Uint8Array,
  hasSeparator: boolean,
  body: ReadableStream<Uint8Array>,
): DataPayload {
  const stuffer = new DotStuffer();
  const reader = body.getReader();
  let started = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      if (!started) {
        started = true;
        const head = new Uint8Array(header.length + (hasSeparator ? 2 : 0));
        head.set(header);
        if (hasSeparator) head.set(EMPTY_LINE, header.length);
        const out = stuffer.push(head);
        if (out.length > 0) {
          controller.enqueue(out);
          return;
        }
      }
      while (true) {
        const { value, done } = await reader.read();
        if (done) {
          const tail = stuffer.end();
          if (tail.length > 0) controller.enqueue(tail);
          controller.close();
          return;
        }
        const out = stuffer.push(value);
        if (out.length > 0) {
          controller.enqueue(out);
          return;
        }
      }
    },
    cancel(reason): Promise<void> {
      return reader.cancel(reason);
    },
  });
  return { stream, stuffer };
}

/**
 * The mail as one stream: the header block, the empty line (when the mail had one), then
 * the body, untouched. Nothing is copied but the header and the separator, and only when
 * the body is not a byte stream, its chunks. A byte stream itself: a reader that brings its
 * own buffer has the body read straight into it (see `byte_stream.ts`). A body of pending
 * bytes gives pending bytes, still no stream.
 *
 * @example Usage
 * ```ts
 * import { joinMail } from "./data.ts";
 * const head = new TextEncoder().encode("Subject: x\n");
 * const body = ReadableStream.from([new TextEncoder().encode("hi\n")]);
 * console.log(await new Response(joinMail(head, true, body)).text()); // "Subject: x\n\r\nhi\n"
 * ```
 */
export function joinMail(
  header: Uint8Array,
  hasSeparator: boolean,
  body: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array>;
/** The mail as pending bytes: the header block, the empty line, then the body's bytes. */
export function joinMail(
  header: Uint8Array,
  hasSeparator: boolean,
  body: PendingBytes,
): PendingBytes;
/** The mail as the body came: a stream, or pending bytes. */
export function joinMail(header: Uint8Array, hasSeparator: boolean, body: ByteInput): ByteInput;
export function joinMail(header: Uint8Array, hasSeparator: boolean, body: ByteInput): ByteInput {
  const head = new Uint8Array(header.length + (hasSeparator ? 2 : 0));
  head.set(header);
  if (hasSeparator) head.set(EMPTY_LINE, header.length);
  return body instanceof PendingBytes ? body.after(head) : prefixedStream(head, body);
}

/**
 * Dot-stuffs a whole mail (any line ends) into DATA bytes, streaming; the stuffer's
 * `mailsize` is msmtp's log value once the stream has been read.
 *
 * @example Usage
 * ```ts
 * import { stuffMail } from "./data.ts";
 * const mail = ReadableStream.from([new TextEncoder().encode("Subject: x\n\n.hi\n")]);
 * const { stream, stuffer } = stuffMail(mail);
 * console.log(await new Response(stream).text()); // "Subject: x\r\n\r\n..hi\r\n"
 * console.log(stuffer.mailsize); // 16
 * ```
 */
export function stuffMail(mail: ReadableStream<Uint8Array>): DataPayload {
  return dataPayload(new Uint8Array(0), false, mail);
}
