/**
 * One ordered writer per standard stream. Every line postie prints goes through it, in the
 * order it was asked for, whether or not the caller awaited the previous write.
 *
 * A stream whose reader has gone (`postie -d … | head -1`) gives EPIPE: the rest of that
 * stream's output is dropped quietly, as msmtp's output is, and never changes what happens
 * to the mail or the exit code.
 *
 * @module
 */

/** An ordered text writer over a byte stream. */
export interface OrderedWriter {
  /** Queues `text` after everything written before; resolves once written or dropped. */
  write(text: string): Promise<void>;
  /** Resolves when everything queued so far has been written or dropped. */
  flush(): Promise<void>;
  /** Whether a write failed (the reader is gone) and later output is being dropped. */
  readonly broken: boolean;
}

/**
 * Wraps `stream` in one writer that holds its lock for good, so concurrent writes queue
 * instead of failing with "The stream is already locked". A failed write (EPIPE, a closed
 * descriptor) marks the writer broken; it never rejects. `stream` may be a function that
 * makes the stream at the first write: Deno builds its standard streams on first use (its
 * streams code loads then, milliseconds at start-up), and a run that prints nothing never
 * needs them.
 *
 * @example Usage
 * ```ts
 * import { orderedWriter } from "./output.ts";
 * const chunks: string[] = [];
 * const out = orderedWriter(new WritableStream({ write: (c) => void chunks.push(new TextDecoder().decode(c)) }));
 * void out.write("one\n");
 * void out.write("two\n");
 * await out.flush();
 * console.log(chunks.join("")); // "one\ntwo\n"
 * ```
 */
export function orderedWriter(
  stream: WritableStream<Uint8Array> | (() => WritableStream<Uint8Array>),
): OrderedWriter {
  const encoder = new TextEncoder();
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let tail: Promise<void> = Promise.resolve();
  let broken = false;
  const writeNow = async (text: string): Promise<void> => {
    if (broken || text === "") return;
    try {
      writer ??= (typeof stream === "function" ? stream() : stream).getWriter();
      await writer.write(encoder.encode(text));
    } catch {
      // The reader is gone; what it would have read is lost, nothing else changes.
      broken = true;
    }
  };
  return {
    write(text: string): Promise<void> {
      tail = tail.then(() => writeNow(text));
      return tail;
    },
    flush(): Promise<void> {
      return tail;
    },
    get broken(): boolean {
      return broken;
    },
  };
}
