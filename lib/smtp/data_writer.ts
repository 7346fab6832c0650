/**
 * The DATA phase's bytes on their way to the socket: read, dot-stuffed and written from one
 * reused buffer, in big reads and writes, with msmtp's `--debug` transcript of them.
 *
 * A byte stream (standard input, a file) is read straight into the free end of the buffer
 * and stuffed in place (see `DotStuffer.stuffInto`); any other stream's chunks are copied
 * in. The buffer is filled again only once its write has finished (the transport is done
 * with it then) and the transcript has shown it. A 100 MB mail costs a few hundred reads
 * and writes and no memory that grows with it: each buffer or chunk more would be memory the
 * garbage collector frees late, and a bigger peak.
 *
 * @module
 */

import { ChunkReader } from "../message/byte_stream.ts";
import type { ByteInput } from "../byte_source.ts";
import { type DotStuffer, maxStuffedLength } from "../message/dot_stuff.ts";
import type { SmtpStage } from "./errors.ts";

/** Writes bytes to the server; the stage names what a failure interrupted. */
export type DataWrite = (bytes: Uint8Array, stage: SmtpStage) => Promise<void>;

/** Options of {@linkcode writeMailData}. */
export interface MailDataOptions {
  /**
   * Stuff the data on the way: it is then the mail itself (LF or CRLF line ends), and the
   * stuffer's `mailsize` counts it. Without one, the data is stuffed already.
   */
  stuffer?: DotStuffer;
  /** Receives msmtp's `--> ` transcript lines of the data and the final dot. */
  debug?: (line: string) => void;
  /**
   * Bytes to send in the same write as the final dot, not shown as data (the next mail's
   * envelope, pipelined behind this one's end).
   */
  after?: Uint8Array;
  /**
   * The size of the buffer; writes are up to this size, and a byte stream's reads to stuff
   * up to half of it.
   * @default {1081344}
   */
  bufferSize?: number;
}

/**
 * The default size of the buffer: reads of half a MiB of mail to stuff (a 100 MB mail is
 * about two hundred reads and writes) and room for the lines they gain; a pipe's shorter
 * reads fill it to half or more before it is written. Bigger saves little time and costs
 * the memory it touches.
 */
const BUFFER_SIZE = 1024 * 1024 + 32 * 1024;
/** The buffer a mail starts with: a small one takes no more; a big one outgrows it once. */
const FIRST_SIZE = 16 * 1024;
/** Stuffed data in chunks at least this big is written as it is, not copied. */
const WHOLE_WRITE = 64 * 1024;
/** The least distance of a read to stuff from the data before it. */
const STUFF_GAP = 4096;
const CR = 0x0d;
const LF = 0x0a;
const CRLF = Uint8Array.of(CR, LF);
const FINAL_DOT = Uint8Array.of(0x2e, CR, LF);
const MAIL_LINE_CHUNK = 1023;
const decoder = new TextDecoder();

/**
 * Writes the mail data and the final `.` line, the dot with the last data (a lone `.\r\n`
 * after a data segment would wait for the server's delayed ACK); returns the bytes of data
 * written, the dot excluded. A payload that does not end its last line gets a CRLF. On a
 * failure to read or write the stream is cancelled and the error thrown.
 *
 * @example Usage
 * ```ts
 * import { writeMailData } from "./data_writer.ts";
 * import { DotStuffer } from "../message/dot_stuff.ts";
 * const wire: string[] = [];
 * const mail = new Blob(["Subject: x\n\n.hi\n"]).stream();
 * const stuffer = new DotStuffer();
 * const bytes = await writeMailData(mail, (b) => {
 *   wire.push(new TextDecoder().decode(b));
 *   return Promise.resolve();
 * }, { stuffer });
 * console.log(wire); // ["Subject: x\r\n\r\n..hi\r\n.\r\n"]
 * console.log(bytes, stuffer.mailsize); // 20 16
 * ```
 */
export async function writeMailData(
  data: ByteInput | Uint8Array,
  write: DataWrite,
  options: MailDataOptions = {},
): Promise<number> {
  const stuffer = options.stuffer;
  const transcript = options.debug ? new DataTranscript(options.debug) : undefined;
  const tail = options.after ? joinPieces([FINAL_DOT, options.after]) : FINAL_DOT;
  if (data instanceof Uint8Array) {
    const bytes = await writeWhole(stuffer ? stuffer.push(data) : data, write, tail, {
      lineEnd: stuffer ? stuffer.end() : undefined,
      transcript,
    });
    options.debug?.("--> .\r\n");
    return bytes;
  }
  const out = new DataBuffer(write, options.bufferSize ?? BUFFER_SIZE, transcript);
  const source = new ChunkReader(data);
  // the most of a chunk stuffed at once: its output fits the buffer
  const piece = Math.max(1, Math.floor((options.bufferSize ?? BUFFER_SIZE) / 2));
  // the last two bytes of stuffed data, for a payload that does not end its last line
  let last1 = LF;
  let last2 = CR;
  try {
    while (true) {
      // a byte stream is read into the buffer: stuffed data right after the data, data to
      // stuff a little after it, no more than its stuffed form has room for (see window)
      const into = source.intoBuffer ? await out.window(stuffer ? 2 : 1) : out.none;
      const { bytes, buffer } = await source.read(into);
      if (buffer) out.adopt(buffer);
      if (bytes === null) break;
      const fromBuffer = buffer !== null;
      if (stuffer) {
        if (fromBuffer) {
          out.fill = stuffer.stuffInto(bytes, out.current, out.fill);
          continue;
        }
        // another stream's chunk (or a header block of megabytes): in pieces that fit
        for (let at = 0; at < bytes.length; at += piece) {
          const part = bytes.subarray(at, at + piece);
          const room = await out.room(maxStuffedLength(part.length));
          out.fill = stuffer.stuffInto(part, room, out.fill);
        }
        continue;
      }
      if (fromBuffer) {
        out.fill += bytes.length;
      } else if (bytes.length >= WHOLE_WRITE) {
        await out.writeWhole(bytes);
      } else {
        const room = await out.room(bytes.length);
        room.set(bytes, out.fill);
        out.fill += bytes.length;
      }
      if (bytes.length >= 2) last2 = bytes[bytes.length - 2];
      else last2 = last1;
      last1 = bytes[bytes.length - 1];
    }
  } catch (error) {
    await source.cancel(error).catch(() => {});
    throw error;
  }
  // The payload should end with CRLF; if it does not, end the line so that the final dot
  // stands on a line of its own and cannot be read as data.
  const lineEnd = stuffer ? stuffer.end() : last2 === CR && last1 === LF ? null : CRLF;
  const bytes = await out.finish(lineEnd, tail);
  options.debug?.("--> .\r\n");
  return bytes;
}

/**
 * A mail's data held whole: one write of exactly its size with the line end it lacks and
 * the tail (a small mail costs its bytes, no buffer), or, from {@linkcode WHOLE_WRITE} on,
 * the data as it is, then the rest.
 */
async function writeWhole(
  payload: Uint8Array,
  write: DataWrite,
  tail: Uint8Array,
  extra: { lineEnd: Uint8Array | undefined; transcript: DataTranscript | undefined },
): Promise<number> {
  const n = payload.length;
  const lineEnd = extra.lineEnd ??
    (n === 0 || (n >= 2 && payload[n - 2] === CR && payload[n - 1] === LF) ? null : CRLF);
  const end = lineEnd ?? new Uint8Array(0);
  if (n >= WHOLE_WRITE) {
    await write(payload, "data");
    extra.transcript?.add(payload);
    await write(joinPieces([end, tail]), "end-of-data");
    extra.transcript?.add(end);
  } else {
    const all = joinPieces([payload, end, tail]);
    await write(all, "end-of-data");
    extra.transcript?.add(all.subarray(0, n + end.length));
  }
  return n + end.length;
}

/** The buffer of {@linkcode writeMailData}. */
class DataBuffer {
  readonly #write: DataWrite;
  readonly #size: number;
  readonly #transcript: DataTranscript | undefined;
  /** A view of the whole of the buffer's memory; allocated on first use. */
  #buffer: Uint8Array | null = null;
  /** Bytes of the buffer filled; the caller fills it and moves this on. */
  fill = 0;
  #written = 0;
  /** A view to pass where no buffer is read into. */
  readonly none: Uint8Array = new Uint8Array(0);

  constructor(write: DataWrite, size: number, transcript: DataTranscript | undefined) {
    this.#write = write;
    this.#size = size;
    this.#transcript = transcript;
  }

  /** The buffer. */
  get current(): Uint8Array {
    return this.#buffer!;
  }

  /**
   * Where to read into the buffer: for `expansion` 1, right after the data; for 2 (data to
   * stuff, which at most doubles), as much as the free room has room for stuffed, a little
   * after the data (see `DotStuffer.stuffInto`: the output overwrites it from the front), so
   * that the memory touched is not much more than the output's. The buffer is written first
   * when less than a quarter of it would fit: the reads stay big, the writes too.
   */
  async window(expansion: 1 | 2): Promise<Uint8Array> {
    const buffer = this.#buffer;
    let free = buffer === null ? 0 : buffer.length - this.fill;
    if (buffer === null || Math.floor(free / expansion) < buffer.length / 4) {
      await this.flush();
      // the first buffer is small; a mail that fills it gets the full size
      if (buffer === null) this.#buffer = new Uint8Array(Math.min(this.#size, FIRST_SIZE));
      else if (buffer.length < this.#size) this.#buffer = new Uint8Array(this.#size);
      free = this.#buffer!.length - this.fill;
    }
    const length = Math.floor(free / expansion);
    // a mail's lines gain a CR each (and a dot some): 1/16 of the input is room for lines of
    // 16 bytes and more; shorter ones make the stuffer move the rest of the input once
    const gap = expansion === 1 ? 0 : Math.min(length, Math.max(STUFF_GAP, length >> 4));
    const start = this.fill + gap;
    return this.#buffer!.subarray(start, start + length);
  }

  /** Takes back the memory of the buffer from a byte stream's read. */
  adopt(buffer: ArrayBuffer): void {
    this.#buffer = new Uint8Array(buffer);
  }

  /**
   * The buffer, with room for `length` more bytes from `fill`: when it has not, it is
   * written first, and replaced by the full-size one (or a bigger one for a piece past
   * the size).
   */
  async room(length: number): Promise<Uint8Array> {
    const buffer = this.#buffer;
    if (buffer !== null && this.fill + length <= buffer.length) return buffer;
    await this.flush();
    // the first buffer is small; a mail that outgrows it gets the full size (allocated, not
    // touched: only what is filled costs memory)
    const size = Math.max(buffer === null ? Math.min(this.#size, FIRST_SIZE) : this.#size, length);
    if (buffer === null || buffer.length < size) this.#buffer = new Uint8Array(size);
    return this.#buffer!;
  }

  /** Writes `bytes` (not ours, never kept) after everything before it. */
  async writeWhole(bytes: Uint8Array): Promise<void> {
    await this.flush();
    await this.#send(bytes, "data", bytes.length);
  }

  /** Writes what the buffer holds; it is empty again after. */
  async flush(): Promise<void> {
    if (this.fill === 0) return;
    const length = this.fill;
    this.fill = 0;
    await this.#send(this.#buffer!.subarray(0, length), "data", length);
  }

  /**
   * Adds `lineEnd` (shown in the transcript) and `dot` (not shown) and writes what is left;
   * returns the bytes of data written, the dot excluded.
   */
  async finish(lineEnd: Uint8Array | null, dot: Uint8Array): Promise<number> {
    const room = await this.room((lineEnd?.length ?? 0) + dot.length);
    if (lineEnd) {
      room.set(lineEnd, this.fill);
      this.fill += lineEnd.length;
    }
    const shown = this.fill;
    room.set(dot, this.fill);
    const length = this.fill + dot.length;
    this.fill = 0;
    await this.#send(room.subarray(0, length), "end-of-data", shown);
    return this.#written;
  }

  /** Writes, then shows the first `shown` bytes in the transcript. */
  async #send(bytes: Uint8Array, stage: SmtpStage, shown: number): Promise<void> {
    await this.#write(bytes, stage);
    this.#written += shown;
    this.#transcript?.add(bytes.subarray(0, shown));
  }
}

/** Splits the data into msmtp's `--> line` transcript entries. */
class DataTranscript {
  #emit: (line: string) => void;
  #pending: Uint8Array[] = [];
  #pendingLength = 0;

  constructor(emit: (line: string) => void) {
    this.#emit = emit;
  }

  add(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf < 0 ? chunk.length : lf + 1;
      // msmtp copies data in pieces of at most 1023 bytes and prints each piece.
      const room = MAIL_LINE_CHUNK - this.#pendingLength;
      const take = Math.min(end - start, room);
      this.#pending.push(chunk.subarray(start, start + take));
      this.#pendingLength += take;
      start += take;
      if ((lf >= 0 && start === lf + 1) || this.#pendingLength >= MAIL_LINE_CHUNK) this.#flush();
    }
    // the start of a line continued in the next chunk is kept as a copy: the chunk's
    // buffer is filled again once it is written
    if (this.#pending.length > 0) this.#pending = [joinPieces(this.#pending, this.#pendingLength)];
  }

  #flush(): void {
    const all = joinPieces(this.#pending, this.#pendingLength);
    this.#pending = [];
    this.#pendingLength = 0;
    this.#emit("--> " + decoder.decode(all));
  }
}

function joinPieces(
  pieces: Uint8Array[],
  length: number = pieces.reduce((sum, p) => sum + p.length, 0),
): Uint8Array {
  const all = new Uint8Array(length);
  let offset = 0;
  for (const part of pieces) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
