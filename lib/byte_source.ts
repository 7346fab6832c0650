/**
 * A byte stream over a source that reads into the caller's buffer (`Deno.stdin`, a file),
 * which `message/byte_stream.ts`'s `ChunkReader` can read around. Kept apart, at the top of
 * lib/, because the command line makes standard input's stream with it at every start that
 * reads the mail, and a start must not load the message modules before it needs them
 * (tests/cli/startup_graph_test.ts); nothing here touches a web stream before it is called.
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
