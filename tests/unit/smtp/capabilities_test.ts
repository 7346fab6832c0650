import assert from "node:assert/strict";
import { noCapabilities, parseCapabilities } from "../../../lib/smtp/capabilities.ts";
import { parseReplies } from "../../../lib/smtp/reply.ts";

const ehlo = (...keywords: string[]) =>
  parseCapabilities({ lines: ["mail.example Hello localhost", ...keywords] });

Deno.test("the EHLO reply of msmtp's test server gives its capabilities", () => {
  const [reply] = parseReplies(
    "250-fake.test Hello localhost\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-DSN\r\n" +
      "250-ETRN\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER\r\n",
  );
  const caps = parseCapabilities(reply);
  assert.equal(caps.size, 10240000);
  assert.equal(caps.pipelining, true);
  assert.equal(caps.dsn, true);
  assert.equal(caps.etrn, true);
  assert.equal(caps.eightBitMime, true);
  assert.equal(caps.starttls, true);
  assert.equal(caps.authAdvertised, true);
  assert.deepEqual([...caps.auth], ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"]);
  assert.equal(caps.smtputf8, false);
  assert.equal(caps.chunking, false);
  assert.equal(caps.enhancedStatusCodes, false);
});

Deno.test("keywords are case-insensitive and mechanisms come out upper case", () => {
  const caps = ehlo(
    "pipelining",
    "auth login plain",
    "smtputf8",
    "chunking",
    "enhancedstatuscodes",
  );
  assert.equal(caps.pipelining, true);
  assert.deepEqual([...caps.auth], ["LOGIN", "PLAIN"]);
  assert.equal(caps.smtputf8, true);
  assert.equal(caps.chunking, true);
  assert.equal(caps.enhancedStatusCodes, true);
});

Deno.test("the broken AUTH= form is accepted and merged with AUTH", () => {
  const caps = ehlo("AUTH=LOGIN", "AUTH PLAIN CRAM-MD5");
  assert.deepEqual([...caps.auth].sort(), ["CRAM-MD5", "LOGIN", "PLAIN"]);
});

Deno.test("AUTH with no method still counts as advertised; AUTHX does not", () => {
  assert.equal(ehlo("AUTH ").authAdvertised, true);
  assert.equal(ehlo("AUTH ").auth.size, 0);
  assert.equal(ehlo("AUTHX PLAIN").authAdvertised, false);
});

Deno.test("SIZE 0 means unlimited; SIZE without a valid number is ignored as msmtp does", () => {
  assert.equal(ehlo("SIZE 0").size, 0);
  assert.equal(ehlo("SIZE").size, undefined);
  assert.equal(ehlo("SIZE abc").size, undefined);
  assert.equal(ehlo("SIZE -5").size, undefined);
  assert.equal(ehlo("SIZE 10 extra").size, undefined);
});

Deno.test("the first line is the server's name, not a capability", () => {
  const caps = parseCapabilities({ lines: ["PIPELINING.example"] });
  assert.deepEqual(caps, noCapabilities());
});
