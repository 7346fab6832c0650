import assert from "node:assert/strict";
import { readySession } from "./helpers.ts";
import { createScram } from "../../../lib/smtp/auth/scram.ts";
import { SmtpError, SmtpProtocolError } from "../../../lib/smtp/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function say(
  auth: ReturnType<typeof createScram>,
  challenge: string,
): Promise<string> {
  return dec.decode(await auth.onChallenge(enc.encode(challenge)));
}

Deno.test("SCRAM-SHA-1 reproduces the RFC 5802 §5 example and verifies the server", async () => {
  const auth = createScram("SCRAM-SHA-1", "user", "pencil", {
    clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
  });
  assert.equal(auth.initialResponse(), null);
  assert.equal(await say(auth, ""), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  assert.equal(
    await say(auth, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
  );
  assert.equal(await say(auth, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), "");
  await auth.onSuccess?.();
});

Deno.test("SCRAM-SHA-256 reproduces the RFC 7677 example", async () => {
  const auth = createScram("SCRAM-SHA-256", "user", "pencil", {
    clientNonce: "rOprNGfwEbeRWgbNEkqO",
  });
  assert.equal(await say(auth, ""), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  assert.equal(
    await say(
      auth,
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    ),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert.equal(await say(auth, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), "");
  await auth.onSuccess?.();
});

Deno.test("SCRAM fails when the server signature does not match", async () => {
  const auth = createScram("SCRAM-SHA-1", "user", "pencil", {
    clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
  });
  await say(auth, "");
  await say(auth, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  await assert.rejects(say(auth, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="), (e: unknown) => {
    assert.ok(e instanceof SmtpError);
    assert.equal(e.message, "authentication failed (method SCRAM-SHA-1)");
    assert.equal(e.exitCode, 77);
    return true;
  });
});

Deno.test("SCRAM fails when the server says 235 without proving itself", async () => {
  const { peer, session } = await readySession({ capabilities: ["AUTH SCRAM-SHA-256"] });
  peer.on("AUTH", "334 ");
  peer.on(
    "SASL",
    "334 " + btoa("r=abcdefEXTRA,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
    "235 2.7.0 Authentication successful",
  );
  const auth = createScram("SCRAM-SHA-256", "user", "pencil", { clientNonce: "abcdef" });
  await assert.rejects(session.authenticate(auth), (e: unknown) => {
    assert.ok(e instanceof SmtpError);
    assert.equal(e.message, "authentication failed (method SCRAM-SHA-256)");
    assert.equal(e.exitCode, 77);
    assert.ok(!e.details.join("").includes("pencil"));
    return true;
  });
});

Deno.test("SCRAM refuses a server nonce that does not extend the client nonce", async () => {
  const auth = createScram("SCRAM-SHA-1", "user", "pencil", { clientNonce: "abc" });
  await say(auth, "");
  await assert.rejects(say(auth, "r=xyz123,s=QSXCR+Q6sek8bf92,i=4096"), SmtpError);
});

Deno.test("SCRAM reports a malformed server-first message as an invalid challenge", async () => {
  const auth = createScram("SCRAM-SHA-1", "user", "pencil", { clientNonce: "abc" });
  await say(auth, "");
  await assert.rejects(say(auth, "garbage"), SmtpProtocolError);
});

Deno.test("SCRAM escapes = and , in the user name", async () => {
  const auth = createScram("SCRAM-SHA-1", "a=b,c", "pw", { clientNonce: "n" });
  assert.equal(await say(auth, ""), "n,,n=a=3Db=2Cc,r=n");
});

Deno.test("a whole SCRAM-SHA-256 session against a scripted server", async () => {
  const { peer, session, debug } = await readySession({ capabilities: ["AUTH SCRAM-SHA-256"] });
  peer.on("AUTH", "334 ");
  peer.on(
    "SASL",
    "334 " +
      btoa(
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      ),
    "334 " + btoa("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
    "235 2.7.0 Authentication successful",
  );
  const auth = createScram("SCRAM-SHA-256", "user", "pencil", {
    clientNonce: "rOprNGfwEbeRWgbNEkqO",
  });
  const reply = await session.authenticate(auth);
  assert.equal(reply.code, 235);
  assert.deepEqual(peer.commands.slice(-4).map((c, i) => i === 0 ? c : atob(c)), [
    "AUTH SCRAM-SHA-256",
    "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "",
  ]);
  assert.ok(!debug.join("").includes("dHzbZapWIk4jUhN"));
});

Deno.test("SCRAM refuses a password SASLprep forbids, before anything is sent", () => {
  assert.throws(() => createScram("SCRAM-SHA-1", "user", "bad\u0007pw"), (e: unknown) => {
    assert.ok(e instanceof SmtpError);
    assert.equal(e.exitCode, 70);
    assert.ok(!e.message.includes("bad"));
    return true;
  });
});
