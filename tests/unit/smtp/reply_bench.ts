import { ReplyReader } from "../../../lib/smtp/reply.ts";

const encoder: TextEncoder = new TextEncoder();

const ehlo: Uint8Array = encoder.encode(
  "250-mx.example.org Hello client.example.net [192.0.2.1]\r\n250-SIZE 52428800\r\n" +
    "250-8BITMIME\r\n250-PIPELINING\r\n250-PIPE_CONNECT\r\n250-AUTH PLAIN LOGIN\r\n" +
    "250-CHUNKING\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 HELP\r\n",
);
Deno.bench("ReplyReader: one 10-line EHLO reply", () => {
  const reader = new ReplyReader();
  reader.push(ehlo);
  reader.next("ehlo");
});

// what the server sends for MAIL, 1 000 RCPTs and DATA when they are pipelined
const many: Uint8Array = encoder.encode(
  "250 2.1.0 Ok\r\n" + "250 2.1.5 Ok\r\n".repeat(1000) + "354 End data with <CR><LF>.<CR><LF>\r\n",
);
Deno.bench("ReplyReader: 1 002 pipelined replies in 1 KiB chunks", () => {
  const reader = new ReplyReader();
  for (let i = 0; i < many.length; i += 1024) {
    reader.push(many.subarray(i, i + 1024));
    while (reader.next("rcpt")) {
      // drained
    }
  }
});
