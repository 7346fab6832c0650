import { DotStuffer } from "../../../lib/message/dot_stuff.ts";

const line = "The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrs\n";
const chunk = new TextEncoder().encode(line.repeat(Math.floor(65536 / line.length)));
const chunks = Math.ceil((10 * 1024 * 1024) / chunk.length);

Deno.bench("dot-stuff 10 MB of 76-character lines in 64 KiB chunks", () => {
  const s = new DotStuffer();
  for (let i = 0; i < chunks; i++) s.push(chunk);
  s.end();
});

const crlfChunk = new TextEncoder().encode(
  line.replace("\n", "\r\n").repeat(Math.floor(65536 / (line.length + 1))),
);
Deno.bench("dot-stuff 10 MB of 76-character CRLF lines in 64 KiB chunks", () => {
  const s = new DotStuffer();
  for (let i = 0; i < chunks; i++) s.push(crlfChunk);
  s.end();
});
