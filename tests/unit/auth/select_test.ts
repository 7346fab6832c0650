import assert from "node:assert/strict";
import {
  checkAuthMethodSupported,
  chooseAuthenticator,
  type ChooseAuthenticatorOptions,
} from "../../../lib/smtp/auth/select.ts";
import { SmtpError, SmtpUnsupportedError } from "../../../lib/smtp/errors.ts";
import { PostieError } from "../../../lib/errors.ts";

function options(over: Partial<ChooseAuthenticatorOptions>): ChooseAuthenticatorOptions {
  return {
    auth: "on",
    user: "alice",
    password: () => Promise.resolve("secret"),
    host: "mail.example",
    port: 587,
    tlsActive: true,
    serverMechanisms: new Set(["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]),
    serverAdvertisesAuth: true,
    ...over,
  };
}

async function refused(
  over: Partial<ChooseAuthenticatorOptions>,
  message: string,
  quitAllowed = false,
): Promise<void> {
  await assert.rejects(chooseAuthenticator(options(over)), (e: unknown) => {
    assert.ok(e instanceof SmtpError, String(e));
    assert.equal(e.message, message);
    assert.equal(e.exitCode, 69);
    assert.equal(e.stage, "auth");
    // msmtp sends QUIT only when the server lacks AUTH altogether.
    assert.equal(e.quitAllowed, quitAllowed);
    assert.equal(e instanceof SmtpUnsupportedError, quitAllowed);
    return true;
  });
}

async function chosen(over: Partial<ChooseAuthenticatorOptions>): Promise<string> {
  return (await chooseAuthenticator(options(over))).mechanism;
}

Deno.test("auth on with TLS prefers SCRAM-SHA-256, then SCRAM-SHA-1, PLAIN, CRAM-MD5, LOGIN", async () => {
  const offer = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "CRAM-MD5", "LOGIN"];
  for (let i = 0; i < offer.length; i++) {
    assert.equal(await chosen({ serverMechanisms: new Set(offer.slice(i)) }), offer[i]);
  }
});

Deno.test("auth on without TLS uses only SCRAM", async () => {
  assert.equal(
    await chosen({ tlsActive: false, serverMechanisms: new Set(["PLAIN", "SCRAM-SHA-1"]) }),
    "SCRAM-SHA-1",
  );
  await refused(
    { tlsActive: false, serverMechanisms: new Set(["PLAIN", "LOGIN", "CRAM-MD5"]) },
    "cannot use a secure authentication method",
  );
});

Deno.test("auth on with TLS but nothing postie speaks cannot find a usable method", async () => {
  await refused(
    { serverMechanisms: new Set(["GSSAPI", "NTLM"]) },
    "cannot find a usable authentication method",
  );
});

Deno.test("a server without AUTH does not support authentication, whatever the method", async () => {
  await refused(
    { serverAdvertisesAuth: false, serverMechanisms: new Set() },
    "the server does not support authentication",
    true,
  );
  await refused(
    { auth: "PLAIN", serverAdvertisesAuth: false, serverMechanisms: new Set() },
    "the server does not support authentication",
    true,
  );
});

Deno.test("an explicit method the server does not offer fails without fallback", async () => {
  await refused(
    { auth: "SCRAM-SHA-256", serverMechanisms: new Set(["PLAIN", "LOGIN"]) },
    "the server does not support authentication method SCRAM-SHA-256",
  );
});

Deno.test("an explicit method is used even without TLS, as msmtp does", async () => {
  assert.equal(await chosen({ auth: "PLAIN", tlsActive: false }), "PLAIN");
  assert.equal(await chosen({ auth: "cram-md5", tlsActive: false }), "CRAM-MD5");
});

Deno.test("methods postie does not implement are 'not compiled in'", async () => {
  for (const mech of ["GSSAPI", "DIGEST-MD5", "NTLM"]) {
    await refused(
      { auth: mech, serverMechanisms: new Set([mech]) },
      `support for authentication method ${mech} is not compiled in`,
    );
    assert.throws(() => checkAuthMethodSupported(mech.toLowerCase()), (e: unknown) => {
      assert.ok(e instanceof PostieError);
      assert.equal(e.message, `support for authentication method ${mech} is not compiled in`);
      assert.equal(e.exitCode, 69);
      return true;
    });
  }
  checkAuthMethodSupported("on");
  checkAuthMethodSupported("xoauth2");
});

Deno.test("a method needs a user name, checked before any password lookup", async () => {
  let asked = false;
  await refused(
    {
      auth: "PLAIN",
      user: null,
      password: () => {
        asked = true;
        return Promise.resolve("x");
      },
    },
    "authentication method PLAIN needs a user name",
  );
  assert.equal(asked, false);
  await refused({ user: null }, "authentication method SCRAM-SHA-256 needs a user name");
});

Deno.test("a method needs a password when no source answers", async () => {
  await refused(
    { auth: "PLAIN", password: () => Promise.resolve(null) },
    "authentication method PLAIN needs a password",
  );
  await refused(
    {
      auth: "XOAUTH2",
      serverMechanisms: new Set(["XOAUTH2"]),
      password: () => Promise.resolve(null),
    },
    "authentication method XOAUTH2 needs a password",
  );
});

Deno.test("EXTERNAL needs neither a user nor a password", async () => {
  let asked = false;
  const auth = await chooseAuthenticator(options({
    auth: "EXTERNAL",
    user: null,
    serverMechanisms: new Set(["EXTERNAL"]),
    password: () => {
      asked = true;
      return Promise.resolve(null);
    },
  }));
  assert.equal(auth.mechanism, "EXTERNAL");
  assert.equal(asked, false);
});

Deno.test("OAUTHBEARER gets the host and port, XOAUTH2 the token", async () => {
  const bearer = await chooseAuthenticator(options({
    auth: "OAUTHBEARER",
    host: "127.0.0.1",
    port: 2525,
    serverMechanisms: new Set(["OAUTHBEARER"]),
    password: () => Promise.resolve("tok123"),
  }));
  assert.equal(
    new TextDecoder().decode(bearer.initialResponse() as Uint8Array),
    "n,a=alice,\x01host=127.0.0.1\x01port=2525\x01auth=Bearer tok123\x01\x01",
  );
});

Deno.test("no refusal message carries the password", async () => {
  await assert.rejects(
    chooseAuthenticator(options({ serverMechanisms: new Set(), tlsActive: false })),
    (e: unknown) => !String((e as Error).message).includes("secret"),
  );
});
