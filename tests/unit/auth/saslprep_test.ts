import assert from "node:assert/strict";
import { saslprep } from "../../../lib/smtp/auth/saslprep.ts";

Deno.test("SASLprep leaves printable ASCII alone", () => {
  assert.equal(saslprep("user pencil ~!"), "user pencil ~!");
});

Deno.test("SASLprep follows the RFC 4013 §3 examples", () => {
  assert.equal(saslprep("I\u00ADX"), "IX");
  assert.equal(saslprep("user"), "user");
  assert.equal(saslprep("USER"), "USER");
  assert.equal(saslprep("\u00AA"), "a");
  assert.equal(saslprep("\u2168"), "IX");
  assert.equal(saslprep("\u0007"), null);
  assert.equal(saslprep("\u0627\u0031"), null);
});

Deno.test("SASLprep maps non-ASCII spaces to a space", () => {
  assert.equal(saslprep("a\u00A0b\u3000c"), "a b c");
});

Deno.test("SASLprep refuses private-use and non-character code points", () => {
  assert.equal(saslprep("a\uE000"), null);
  assert.equal(saslprep("a\uFFFF"), null);
});

Deno.test("SASLprep accepts right-to-left text that starts and ends right to left", () => {
  assert.equal(saslprep("\u0627\u0031\u0628"), "\u0627\u0031\u0628");
});
