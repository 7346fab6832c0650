/**
 * A byte stream over a source that reads into the caller's buffer (`Deno.stdin`, a file),
 * which `message/byte_stream.ts`'s `ChunkReader` can read around. Kept apart, at the top of
 * lib/, because the command line reads standard input with it at every start that reads the
 * mail, and a start must not load the message modules before it needs them
 * (tests/cli/startup_graph_test.ts); nothing here touches a web stream before it is called.
 *
 * Sendmail mode reads standard input as {@linkcode PendingBytes}, which is no web stream at
 * all: Deno loads the implementation of its web streams on their first use (reading
 * `ReadableStream` is enough), about 11 million instructions and 1 MiB of its code in memory
 * per process, which a mail from standard input to a server does without
 * (tests/cli/startup_graph_test.ts).
 *
 * @module
 */

/**
 * What reads bytes into the caller's buffer: `Deno.stdin`, a `Deno.FsFile`. Null at the
 * end.
 */
export interface ByteSource {
  /** Reads up to `into.length` bytes into `into`; their count, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
}

/** A source stream's source, and whether a read through the stream is under way. */
export interface SourceEntry {
  /** The source the stream reads. */
  source: ByteSource;
  /** Whether the stream is reading the source now. */
  reading(): boolean;
}

/** The chunk size for a reader that brings no buffer (Deno's own). */
const AUTO_CHUNK = 64 * 1024;

const sources = new WeakMap<ReadableStream<Uint8Array>, SourceEntry>();

/**
 * The source of a stream {@linkcode sourceStream} made, or undefined.
 *
 * @example Usage
 * ```ts
 * import { sourceEntry, sourceStream } from "./byte_source.ts";
 * const source = { read: () => Promise.resolve(null) };
 * console.log(sourceEntry(sourceStream(source))?.source === source); // true
 * console.log(sourceEntry(new Blob([]).stream())); // undefined
 * ```
 */
export function sourceEntry(stream: ReadableStream<Uint8Array>): SourceEntry | undefined {
  return sources.get(stream);
}

/**
 * A byte stream over `source`, as `Deno.stdin.readable` is, with one difference: a
 * `ChunkReader` (`message/byte_stream.ts`) that ends up reading it (directly, or through
 * prefixed streams after `readHeaderBlock`'s reader) reads `source` itself, without the
 * stream's work per read (which, for a few hundred reads of a big mail, is memory the garbage
 * collector has to catch up with). The stream never holds bytes of its own between reads
 * (each read goes straight into the reader's buffer), so a read of the source after the
 * stream's reads misses nothing. Cancelling it does not close the source.
 *
 * @example Usage
 * ```ts
 * import { sourceStream } from "./byte_source.ts";
 * const file = await Deno.open(Deno.execPath());
 * const reader = sourceStream(file).getReader({ mode: "byob" });
 * const { value } = await reader.read(new Uint8Array(4));
 * console.log(value?.[1] === 0x45); // true: "ELF"
 * file.close();
 * ```
 */
export function sourceStream(source: ByteSource): ReadableStream<Uint8Array> {
  let pulling = false;
  const stream = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: AUTO_CHUNK,
    async pull(controller: ReadableByteStreamController): Promise<void> {
      // with autoAllocateChunkSize, every pull has a request to fill
      const request = controller.byobRequest!;
      pulling = true;
      try {
        const view = request.view as Uint8Array;
        let n: number | null = 0;
        while (n === 0) n = await source.read(view);
        if (n === null) {
          controller.close();
          request.respond(0);
        } else {
          request.respond(n);
        }
      } finally {
        pulling = false;
      }
    },
  });
  sources.set(stream, { source, reading: () => pulling });
  return stream;
}

/**
 * Bytes to give first, then the rest of a source: a byte stream in waiting, for a path that
 * reads it without any web stream (sendmail mode's standard input, through its header
 * block and on to the DATA phase). A consumer that needs a stream asks for one
 * ({@linkcode PendingBytes.stream}, {@linkcode byteStream}); from then on the stream is what
 * reads the source.
 *
 * @example Usage
 * ```ts
 * import { PendingBytes } from "./byte_source.ts";
 * const file = await Deno.open(Deno.execPath());
 * const pending = new PendingBytes(file, new TextEncoder().encode("#!"));
 * const into = new Uint8Array(8);
 * console.log(await pending.read(into), into[0] === 0x23); // 2 true
 * console.log(await pending.read(into), into[1] === 0x45); // 8 true: "ELF"
 * file.close();
 * ```
 */
export class PendingBytes implements ByteSource {
  /** Where the bytes after the prefix come from. */
  readonly source: ByteSource;
  #prefix: Uint8Array | null;
  #stream: ReadableStream<Uint8Array> | undefined;

  /** `prefix` (not copied: it must not change), then everything `source` reads. */
  constructor(source: ByteSource, prefix: Uint8Array | null = null) {
    this.source = source;
    this.#prefix = prefix !== null && prefix.length > 0 ? prefix : null;
  }

  /**
   * The same bytes after `head`: `head`, then this one's prefix and source. This one must
   * not be read any more.
   */
  after(head: Uint8Array): PendingBytes {
    const prefix = this.takePrefix();
    if (prefix === null) return new PendingBytes(this.source, head);
    const both = new Uint8Array(head.length + prefix.length);
    both.set(head);
    both.set(prefix, head.length);
    return new PendingBytes(this.source, both);
  }

  /**
   * Takes the prefix, for a reader that gives it itself and then reads
   * {@linkcode PendingBytes.source}; null when there is none (left).
   */
  takePrefix(): Uint8Array | null {
    const prefix = this.#prefix;
    this.#prefix = null;
    return prefix;
  }

  /** Reads up to `into.length` bytes into `into`: the prefix's first, then the source's. */
  read(into: Uint8Array): Promise<number | null> {
    const prefix = this.#prefix;
    if (prefix === null) return this.source.read(into);
    const n = Math.min(into.length, prefix.length);
    into.set(prefix.subarray(0, n));
    this.#prefix = n < prefix.length ? prefix.subarray(n) : null;
    return Promise.resolve(n);
  }

  /** The bytes as a byte stream (the same one at every call), read straight by a reader. */
  stream(): ReadableStream<Uint8Array> {
    return this.#stream ??= sourceStream(this);
  }
}

/**
 * What a mail's bytes may come as: a web stream, or {@linkcode PendingBytes}.
 */
export type ByteInput = ReadableStream<Uint8Array> | PendingBytes;

/**
 * `input` as a web stream: itself, or the stream of pending bytes.
 *
 * @example Usage
 * ```ts
 * import { byteStream, PendingBytes } from "./byte_source.ts";
 * const source = { read: () => Promise.resolve(null) };
 * const bytes = new PendingBytes(source, new TextEncoder().encode("hi"));
 * console.log(await new Response(byteStream(bytes)).text()); // "hi"
 * ```
 */
export function byteStream(input: ByteInput): ReadableStream<Uint8Array> {
  return input instanceof PendingBytes ? input.stream() : input;
}
