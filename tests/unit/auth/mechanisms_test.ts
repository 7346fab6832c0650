import assert from "node:assert/strict";
import { b64, readySession, text } from "./helpers.ts";
import { createPlain, plainPayload } from "../../../lib/smtp/auth/plain.ts";
import { createLogin } from "../../../lib/smtp/auth/login.ts";
import { cramMd5Response, createCramMd5 } from "../../../lib/smtp/auth/cram_md5.ts";
import { createXoauth2, xoauth2Payload } from "../../../lib/smtp/auth/xoauth2.ts";
import { createOauthbearer, oauthbearerPayload } from "../../../lib/smtp/auth/oauthbearer.ts";
import { createExternal } from "../../../lib/smtp/auth/external.ts";
import { SmtpAuthError } from "../../../lib/smtp/errors.ts";

const enc = new TextEncoder();

Deno.test("PLAIN sends NUL, user, NUL, password, as msmtp's AUTH PLAIN AGFsaWNlAHNlY3JldA==", () => {
  assert.equal(text(plainPayload("alice", "secret")), "\0alice\0secret");
  assert.equal(
    b64(text(createPlain("alice", "secret").initialResponse() as Uint8Array)!),
    "AGFsaWNlAHNlY3JldA==",
  );
});

Deno.test("PLAIN encodes a non-ASCII password as UTF-8", () => {
  assert.deepEqual([...plainPayload("a", "é")], [0, 97, 0, 0xc3, 0xa9]);
});

Deno.test("LOGIN answers the first challenge with the user and the second with the password", () => {
  const auth = createLogin("alice", "secret");
  assert.equal(auth.initialResponse(), null);
  assert.equal(text(auth.onChallenge(enc.encode("Username:")) as Uint8Array), "alice");
  assert.equal(text(auth.onChallenge(enc.encode("Password:")) as Uint8Array), "secret");
});

Deno.test("CRAM-MD5 matches the RFC 2195 example", () => {
  const challenge = enc.encode("<1896.697170952@postoffice.reston.mci.net>");
  assert.equal(
    text(cramMd5Response("tim", "tanstaaftanstaaf", challenge)),
    "tim b913a602c7eda7a495b4e6e7334d3890",
  );
});

Deno.test("CRAM-MD5 handles passwords longer than the HMAC block size", () => {
  const long = "x".repeat(100);
  const response = text(cramMd5Response("u", long, enc.encode("<c@h>")))!;
  assert.match(response, /^u [0-9a-f]{32}$/);
  // A key longer than 64 bytes is hashed first (RFC 2104), so it differs from its prefix.
  assert.notEqual(response, text(cramMd5Response("u", long.slice(0, 64), enc.encode("<c@h>"))));
});

Deno.test("XOAUTH2 waits for the 334 and sends user=U^Aauth=Bearer T^A^A", () => {
  const auth = createXoauth2("alice", "tok123");
  assert.equal(auth.initialResponse(), null);
  assert.equal(text(xoauth2Payload("alice", "tok123")), "user=alice\x01auth=Bearer tok123\x01\x01");
  assert.equal(
    text(auth.onChallenge(new Uint8Array(0)) as Uint8Array),
    "user=alice\x01auth=Bearer tok123\x01\x01",
  );
  assert.equal(text(auth.onChallenge(enc.encode('{"status":"401"}')) as Uint8Array), "");
});

Deno.test("OAUTHBEARER's initial response is byte for byte msmtp's", () => {
  const payload = oauthbearerPayload("alice", "127.0.0.1", 2525, "tok123");
  assert.equal(
    text(payload),
    "n,a=alice,\x01host=127.0.0.1\x01port=2525\x01auth=Bearer tok123\x01\x01",
  );
  assert.equal(
    b64(text(payload)!),
    "bixhPWFsaWNlLAFob3N0PTEyNy4wLjAuMQFwb3J0PTI1MjUBYXV0aD1CZWFyZXIgdG9rMTIzAQE=",
  );
  const auth = createOauthbearer("alice", "127.0.0.1", 2525, "badtok");
  assert.equal(
    b64(text(auth.initialResponse() as Uint8Array)!),
    "bixhPWFsaWNlLAFob3N0PTEyNy4wLjAuMQFwb3J0PTI1MjUBYXV0aD1CZWFyZXIgYmFkdG9rAQE=",
  );
});

Deno.test("EXTERNAL sends the user after the 334, or an empty response without one", () => {
  assert.equal(text(createExternal("alice").onChallenge(new Uint8Array(0)) as Uint8Array), "alice");
  assert.equal(text(createExternal(null).onChallenge(new Uint8Array(0)) as Uint8Array), "");
});

Deno.test("a PLAIN session sends the initial response and masks it in the transcript", async () => {
  const { peer, session, debug } = await readySession({ capabilities: ["AUTH PLAIN LOGIN"] });
  await session.authenticate(createPlain("alice", "secret"));
  assert.equal(peer.commands.at(-1), "AUTH PLAIN AGFsaWNlAHNlY3JldA==");
  assert.ok(debug.includes("--> AUTH PLAIN ***\r\n"));
  assert.ok(!debug.join("").includes("AGFsaWNlAHNlY3JldA=="));
});

Deno.test("a LOGIN session answers the two prompts as in the reference transcript", async () => {
  const { peer, session, debug } = await readySession({ capabilities: ["AUTH LOGIN"] });
  peer.on("AUTH", "334 VXNlcm5hbWU6").on(
    "SASL",
    "334 UGFzc3dvcmQ6",
    "235 2.7.0 Authentication successful",
  );
  await session.authenticate(createLogin("alice", "secret"));
  assert.deepEqual(peer.commands.slice(-3), ["AUTH LOGIN", b64("alice"), b64("secret")]);
  assert.ok(!debug.join("").includes(b64("secret")));
});

Deno.test("a CRAM-MD5 session answers the server's challenge", async () => {
  const { peer, session } = await readySession({ capabilities: ["AUTH CRAM-MD5"] });
  peer.on("AUTH", "334 PDEyMzQ1LjY3ODkwQGZha2UudGVzdD4=");
  await session.authenticate(createCramMd5("alice", "secret"));
  assert.equal(peer.commands.at(-2), "AUTH CRAM-MD5");
  const answer = atob(peer.commands.at(-1)!);
  assert.equal(
    answer,
    text(cramMd5Response("alice", "secret", enc.encode("<12345.67890@fake.test>"))),
  );
});

Deno.test("an XOAUTH2 session sends AUTH XOAUTH2, then the payload after the empty 334", async () => {
  const { peer, session } = await readySession({ capabilities: ["AUTH XOAUTH2"] });
  peer.on("AUTH", "334 ");
  await session.authenticate(createXoauth2("alice", "tok123"));
  assert.deepEqual(peer.commands.slice(-2), [
    "AUTH XOAUTH2",
    b64("user=alice\x01auth=Bearer tok123\x01\x01"),
  ]);
});

Deno.test("an XOAUTH2 error challenge is answered empty and the 535 fails with EX_NOPERM", async () => {
  const { peer, session } = await readySession({ capabilities: ["AUTH XOAUTH2"] });
  peer.on("AUTH", "334 ").on("SASL", "334 eyJzdGF0dXMiOiI0MDEifQ==", "535 5.7.8 bad");
  await assert.rejects(session.authenticate(createXoauth2("alice", "bad")), (e: unknown) => {
    assert.ok(e instanceof SmtpAuthError);
    assert.equal(e.message, "authentication failed (method XOAUTH2)");
    assert.equal(e.exitCode, 77);
    return true;
  });
  assert.equal(peer.commands.at(-1), "");
});

Deno.test("an OAUTHBEARER error challenge gets ^A and the final 535 fails as in msmtp", async () => {
  const { peer, session } = await readySession({ capabilities: ["AUTH OAUTHBEARER"] });
  peer.on("AUTH", "334 eyJzdGF0dXMiOiI0MDEifQ==").on(
    "SASL",
    "535 5.7.8 Error: authentication failed: bad credentials",
  );
  await assert.rejects(
    session.authenticate(createOauthbearer("alice", "127.0.0.1", 2525, "badtok")),
    (e: unknown) => {
      assert.ok(e instanceof SmtpAuthError);
      assert.equal(e.message, "authentication failed (method OAUTHBEARER)");
      assert.deepEqual(e.details, [
        "server message: 535 5.7.8 Error: authentication failed: bad credentials",
      ]);
      assert.equal(e.exitCode, 77);
      return true;
    },
  );
  assert.equal(
    peer.commands.at(-2),
    "AUTH OAUTHBEARER bixhPWFsaWNlLAFob3N0PTEyNy4wLjAuMQFwb3J0PTI1MjUBYXV0aD1CZWFyZXIgYmFkdG9rAQE=",
  );
  assert.equal(peer.commands.at(-1), "AQ==");
});

Deno.test("an EXTERNAL session with no user answers the 334 with an empty line", async () => {
  const { peer, session } = await readySession({ capabilities: ["AUTH EXTERNAL"] });
  peer.on("AUTH", "334 ");
  await session.authenticate(createExternal(null));
  assert.deepEqual(peer.commands.slice(-2), ["AUTH EXTERNAL", ""]);
});
