import { scanHeaders } from "../../../lib/message/addresses.ts";
import { readHeaderBlock } from "../../../lib/message/read.ts";

const encoder: TextEncoder = new TextEncoder();

/** A header block as mailing lists send them: many Received lines, folded To and Cc. */
function headerBlock(recipients: number): string {
  const received = Array.from(
    { length: 12 },
    (_, i) =>
      `Received: from relay${i}.example.org (relay${i}.example.org [192.0.2.${i}])\n` +
      `\tby mx.example.net with ESMTPS id abc${i}; Mon, 1 Jan 2024 00:00:0${i % 10} +0000\n`,
  ).join("");
  const to = Array.from({ length: recipients }, (_, i) => `"Person ${i}" <p${i}@example.org>`)
    .join(",\n ");
  return `${received}From: "Sender" <sender@example.org>\nTo: ${to}\nCc: list@example.org\n` +
    `Subject: a header scan benchmark\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n` +
    `Message-ID: <bench@example.org>\nMIME-Version: 1.0\n`;
}

const small: Uint8Array = encoder.encode(headerBlock(3));
const large: Uint8Array = encoder.encode(headerBlock(1000));

Deno.bench("scanHeaders: a typical 2 KB header block with -t", () => {
  scanHeaders(small, { recipients: true, fromAndFlags: true, terminated: true });
});

Deno.bench("scanHeaders: 1 000 recipients in a folded To header with -t", () => {
  scanHeaders(large, { recipients: true, fromAndFlags: true, terminated: true });
});

const mail: Uint8Array = encoder.encode(headerBlock(3) + "\n" + "body line\n".repeat(100));
Deno.bench("readHeaderBlock: split a 3 KB mail at the empty line", async () => {
  const { body } = await readHeaderBlock(ReadableStream.from([mail]));
  await body.cancel();
});
