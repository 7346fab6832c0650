import assert from "node:assert/strict";
import {
  findHeader,
  findHeaders,
  headerLines,
  splitHeaderFields,
  unfoldValue,
} from "../../../lib/message/headers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("header fields keep their continuation lines", () => {
  const fields = splitHeaderFields(enc.encode("To: a,\r\n\tb\nSubject: s\n c\nX-Y: z"));
  assert.deepEqual(fields.map((f) => f.name), ["To", "Subject", "X-Y"]);
  assert.deepEqual(fields[0].lines.map((l) => dec.decode(l)), ["To: a,", "\tb"]);
});

Deno.test("lookup by name ignores case", () => {
  const fields = splitHeaderFields(enc.encode("to: a\nTO: b\nCc: c\n"));
  assert.equal(findHeaders(fields, "To").length, 2);
  assert.equal(findHeader(fields, "cc")?.name, "Cc");
  assert.equal(findHeader(fields, "Bcc"), undefined);
});

Deno.test("unfolding joins continuation lines and drops the name", () => {
  const [to] = splitHeaderFields(enc.encode("To: a@x.org,\n  b@x.org\n"));
  assert.equal(unfoldValue(to), "a@x.org,  b@x.org");
});

Deno.test("a line that is not name: is a field without a name", () => {
  const fields = splitHeaderFields(enc.encode("garbage line\nBad Name: x\n"));
  assert.deepEqual(fields.map((f) => f.name), ["", ""]);
});

Deno.test("CRs are dropped from header lines as msmtp does", () => {
  assert.deepEqual(headerLines(enc.encode("A: 1\r\nB: x\ry\r\n")).map((l) => dec.decode(l)), [
    "A: 1",
    "B: xy",
  ]);
});
