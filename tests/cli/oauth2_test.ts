/**
 * OAuth 2.0 refresh end to end: postie run as a program against a loopback token
 * endpoint and an SMTP server that accepts only the token the endpoint issued last.
 */

import assert from "node:assert/strict";
import { runPostie, type RunResult } from "../support/differential.ts";

const CLIENT_SECRET = "cs-SECRET-7f3a9e1b";
const REFRESH_TOKEN = "rt-SECRET-0c4d8b2a";
const ROTATED_TOKEN = "rt-ROTATED-5e6f7a8b";
const ACCESS_PREFIX = "at-SECRET-";

/** The token endpoint: it issues `at-SECRET-N` tokens, or fails as told. */
class TokenEndpoint {
  readonly requests: URLSearchParams[] = [];
  /** Every access token issued, in order; the SMTP server accepts only the last. */
  readonly issued: string[] = [];
  /** When set, every request is refused with this OAuth error (HTTP 400). */
  failWith: string | null = null;
  /** When set, the next answer carries this refresh token (rotation). */
  rotateTo: string | null = null;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        this.requests.push(new URLSearchParams(await req.text()));
        if (this.failWith !== null) {
          return Response.json({
            error: this.failWith,
            error_description: "Token has been expired or revoked.",
          }, { status: 400 });
        }
        const token = `${ACCESS_PREFIX}${this.issued.length + 1}`;
        this.issued.push(token);
        const body: Record<string, unknown> = {
          access_token: token,
          expires_in: 3599,
          token_type: "Bearer",
        };
        if (this.rotateTo !== null) body.refresh_token = this.rotateTo;
        this.rotateTo = null;
        return Response.json(body);
      },
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/token`;
  }

  get current(): string | undefined {
    return this.issued.at(-1);
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

/** One AUTH attempt the SMTP server saw. */
interface AuthAttempt {
  connection: number;
  mechanism: string;
  token: string;
  accepted: boolean;
}

/**
 * A small SMTP server offering XOAUTH2 and OAUTHBEARER. A wrong token gets the
 * mechanism's error challenge (334 with JSON), then 535, as Gmail answers.
 */
class OAuthSmtpServer {
  readonly attempts: AuthAttempt[] = [];
  readonly mails: string[] = [];
  connections = 0;
  readonly #listener: Deno.TcpListener;
  readonly #tasks: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor(readonly valid: () => string | undefined) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.#accepting = (async () => {
      try {
        for await (const conn of listener) this.#tasks.push(this.#serve(conn));
      } catch {
        // closed
      }
    })();
  }

  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    await Promise.allSettled(this.#tasks);
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const connection = ++this.connections;
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    let buffer = "";
    const chunk = new Uint8Array(4096);
    const readLine = async (): Promise<string | null> => {
      while (!buffer.includes("\r\n")) {
        const n = await conn.read(chunk);
        if (n === null) return null;
        buffer += decoder.decode(chunk.subarray(0, n));
      }
      const i = buffer.indexOf("\r\n");
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      return line;
    };
    const say = (text: string) => conn.write(encoder.encode(text + "\r\n"));
    const errorChallenge = btoa(
      JSON.stringify({ status: "401", schemes: "bearer", scope: "https://mail.google.com/" }),
    );
    const check = async (mechanism: string, payload: string): Promise<void> => {
      let text = "";
      try {
        text = atob(payload);
      } catch {
        // not base64: no token
      }
      const field = text.split("\x01").find((f) => f.startsWith("auth=Bearer "));
      const token = field?.slice("auth=Bearer ".length) ?? "";
      const accepted = token !== "" && token === this.valid();
      this.attempts.push({ connection, mechanism, token, accepted });
      if (accepted) {
        await say("235 2.7.0 Accepted");
        return;
      }
      await say(`334 ${errorChallenge}`);
      await readLine();
      await say("535-5.7.8 Username and Password not accepted.\r\n535 5.7.8 BadCredentials");
    };
    try {
      await say("220 oauth.test ESMTP");
      for (let line = await readLine(); line !== null; line = await readLine()) {
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO") {
          await say("250-oauth.test\r\n250-AUTH XOAUTH2 OAUTHBEARER\r\n250 8BITMIME");
        } else if (verb === "AUTH") {
          const [, mechanism, initial] = line.split(" ");
          if (initial !== undefined) {
            await check(mechanism, initial);
          } else {
            await say("334 ");
            await check(mechanism, (await readLine()) ?? "");
          }
        } else if (verb === "DATA") {
          await say("354 go ahead");
          const lines: string[] = [];
          for (let l = await readLine(); l !== null && l !== "."; l = await readLine()) {
            lines.push(l);
          }
          this.mails.push(lines.join("\n"));
          await say("250 2.0.0 queued");
        } else if (verb === "QUIT") {
          await say("221 2.0.0 bye");
          break;
        } else {
          await say("250 2.0.0 ok");
        }
      }
    } catch {
      // the client went away
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}

/** A home directory with a private config file for one OAuth account. */
interface Fixture {
  home: string;
  config: string;
  logfile: string;
  idp: TokenEndpoint;
  smtp: OAuthSmtpServer;
  /** Runs postie as sendmail with the fixture's config and home. */
  send(extraArgs?: string[]): Promise<RunResult>;
  /** The cache files under ~/.cache/postie. */
  cacheFiles(): Promise<string[]>;
  close(): Promise<void>;
}

async function fixture(auth: "xoauth2" | "oauthbearer" = "xoauth2"): Promise<Fixture> {
  const home = await Deno.makeTempDir({ prefix: "postie-oauth2-cli-" });
  const idp = new TokenEndpoint();
  const smtp = new OAuthSmtpServer(() => idp.current);
  const config = `${home}/msmtprc`;
  const logfile = `${home}/postie.log`;
  await Deno.writeTextFile(
    config,
    [
      "account default",
      "host 127.0.0.1",
      `port ${smtp.port}`,
      "from ann@example.org",
      `auth ${auth}`,
      "user ann@example.org",
      `oauth2_token_endpoint ${idp.url}`,
      "oauth2_client_id 1234.apps.example",
      `oauth2_client_secret ${CLIENT_SECRET}`,
      `oauth2_refresh_token_eval cat ${home}/refresh-token`,
      `logfile ${logfile}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  await Deno.writeTextFile(`${home}/refresh-token`, REFRESH_TOKEN + "\n", { mode: 0o600 });
  const cacheDir = `${home}/.cache/postie`;
  return {
    home,
    config,
    logfile,
    idp,
    smtp,
    send: (extraArgs = []) =>
      runPostie(["-C", config, ...extraArgs, "bob@example.org"], {
        env: { HOME: home },
        stdin: "Subject: hi\n\nhello\n",
      }),
    async cacheFiles(): Promise<string[]> {
      try {
        return (await Array.fromAsync(Deno.readDir(cacheDir))).map((e) => `${cacheDir}/${e.name}`);
      } catch {
        return [];
      }
    },
    async close(): Promise<void> {
      await smtp.close();
      await idp.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

async function setCachedToken(f: Fixture, token: string, expiresAt: number): Promise<void> {
  const [file] = await f.cacheFiles();
  const entry = JSON.parse(await Deno.readTextFile(file));
  await Deno.writeTextFile(
    file,
    JSON.stringify({ ...entry, access_token: token, expires_at: expiresAt }),
  );
}

Deno.test("the first send refreshes the token, authenticates and writes a private cache", async () => {
  const f = await fixture();
  try {
    const result = await f.send();
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
    assert.equal(f.idp.requests.length, 1);
    assert.deepEqual(Object.fromEntries(f.idp.requests[0]), {
      grant_type: "refresh_token",
      refresh_token: REFRESH_TOKEN,
      client_id: "1234.apps.example",
      client_secret: CLIENT_SECRET,
    });
    assert.deepEqual(f.smtp.attempts, [
      { connection: 1, mechanism: "XOAUTH2", token: `${ACCESS_PREFIX}1`, accepted: true },
    ]);
    assert.equal(f.smtp.mails.length, 1);
    const files = await f.cacheFiles();
    assert.equal(files.length, 1);
    assert.match(files[0], /\/\.cache\/postie\/oauth2-[0-9a-f]{32}\.json$/);
    assert.equal((await Deno.stat(files[0])).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${f.home}/.cache/postie`)).mode! & 0o777, 0o700);
    const cached = JSON.parse(await Deno.readTextFile(files[0]));
    assert.equal(cached.access_token, `${ACCESS_PREFIX}1`);
    assert.ok(cached.expires_at > Date.now() / 1000 + 3000);
  } finally {
    await f.close();
  }
});

Deno.test("a cached token is used without asking the token endpoint", async () => {
  const f = await fixture();
  try {
    assert.equal((await f.send()).code, 0);
    const second = await f.send();
    assert.equal(second.code, 0);
    assert.equal(f.idp.requests.length, 1);
    assert.deepEqual(f.smtp.attempts.map((a) => [a.connection, a.token, a.accepted]), [
      [1, `${ACCESS_PREFIX}1`, true],
      [2, `${ACCESS_PREFIX}1`, true],
    ]);
  } finally {
    await f.close();
  }
});

Deno.test("an expired cached token is refreshed before AUTH", async () => {
  const f = await fixture();
  try {
    assert.equal((await f.send()).code, 0);
    // Inside the safety margin counts as expired.
    await setCachedToken(f, `${ACCESS_PREFIX}1`, Math.floor(Date.now() / 1000) + 30);
    const result = await f.send();
    assert.equal(result.code, 0);
    assert.equal(f.idp.requests.length, 2);
    assert.deepEqual(f.smtp.attempts.at(-1), {
      connection: 2,
      mechanism: "XOAUTH2",
      token: `${ACCESS_PREFIX}2`,
      accepted: true,
    });
    const cached = JSON.parse(await Deno.readTextFile((await f.cacheFiles())[0]));
    assert.equal(cached.access_token, `${ACCESS_PREFIX}2`);
  } finally {
    await f.close();
  }
});

for (const auth of ["xoauth2", "oauthbearer"] as const) {
  Deno.test(`${auth}: a cached token the server refuses is refreshed and AUTH retried on the same connection`, async () => {
    const f = await fixture(auth);
    try {
      assert.equal((await f.send()).code, 0);
      await setCachedToken(f, `${ACCESS_PREFIX}revoked`, Math.floor(Date.now() / 1000) + 3000);
      const result = await f.send(["-d"]);
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      assert.equal(f.idp.requests.length, 2);
      const mechanism = auth.toUpperCase();
      assert.deepEqual(f.smtp.attempts.slice(1), [
        { connection: 2, mechanism, token: `${ACCESS_PREFIX}revoked`, accepted: false },
        { connection: 2, mechanism, token: `${ACCESS_PREFIX}2`, accepted: true },
      ]);
      assert.equal(f.smtp.connections, 2);
      assert.equal(f.smtp.mails.length, 2);
    } finally {
      await f.close();
    }
  });
}

Deno.test("a fresh token the server refuses is an authentication failure without a second refresh", async () => {
  const f = await fixture();
  try {
    f.smtp.attempts.length = 0;
    const smtp = new OAuthSmtpServer(() => "nothing-is-valid");
    await Deno.writeTextFile(
      f.config,
      (await Deno.readTextFile(f.config)).replace(/^port \d+$/m, `port ${smtp.port}`),
    );
    try {
      const result = await f.send();
      assert.equal(result.code, 77);
      assert.match(result.stderr, /authentication failed \(method XOAUTH2\)/);
      assert.equal(f.idp.requests.length, 1);
      assert.equal(smtp.attempts.length, 1);
    } finally {
      await smtp.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("invalid_grant ends with exit 77 and one line naming the endpoint and the error", async () => {
  const f = await fixture();
  try {
    f.idp.failWith = "invalid_grant";
    const result = await f.send();
    assert.equal(result.code, 77);
    assert.equal(
      result.stderr,
      `postie: OAuth2 token refresh at ${f.idp.url} failed: invalid_grant ` +
        "(HTTP 400: Token has been expired or revoked.)\n" +
        `postie: could not send mail (account default from ${f.config})\n`,
    );
    assert.equal(f.smtp.attempts.length, 0);
    assert.deepEqual(await f.cacheFiles(), []);
    const log = await Deno.readTextFile(f.logfile);
    assert.match(
      log,
      /errormsg='OAuth2 token refresh at .* failed: invalid_grant .*' exitcode=EX_NOPERM/,
    );
  } finally {
    await f.close();
  }
});

Deno.test("a rotated refresh token is kept in the cache and used for the next refresh", async () => {
  const f = await fixture();
  try {
    f.idp.rotateTo = ROTATED_TOKEN;
    assert.equal((await f.send()).code, 0);
    await setCachedToken(f, `${ACCESS_PREFIX}1`, 0);
    assert.equal((await f.send()).code, 0);
    assert.equal(f.idp.requests[1].get("refresh_token"), ROTATED_TOKEN);
  } finally {
    await f.close();
  }
});

Deno.test("no secret or token appears in output, debug transcript, log file or errors", async () => {
  const f = await fixture();
  try {
    f.idp.rotateTo = ROTATED_TOKEN;
    const outputs: RunResult[] = [];
    outputs.push(await f.send(["-d"]));
    await setCachedToken(f, `${ACCESS_PREFIX}revoked`, Math.floor(Date.now() / 1000) + 3000);
    outputs.push(await f.send(["-d"]));
    outputs.push(await runPostie(["-C", f.config, "-P"], { env: { HOME: f.home } }));
    await setCachedToken(f, `${ACCESS_PREFIX}1`, 0);
    f.idp.failWith = "invalid_grant";
    outputs.push(await f.send(["-d"]));
    assert.deepEqual(outputs.map((o) => o.code), [0, 0, 0, 77]);
    assert.match(outputs[0].stdout, /AUTH XOAUTH2/);
    assert.match(outputs[2].stdout, /^oauth2_client_secret = \*$/m);
    const texts = [
      ...outputs.flatMap((o) => [o.stdout, o.stderr]),
      await Deno.readTextFile(f.logfile),
    ].join("\n");
    const issued = [...f.idp.issued, `${ACCESS_PREFIX}revoked`];
    assert.ok(issued.length >= 3);
    for (const secret of [CLIENT_SECRET, REFRESH_TOKEN, ROTATED_TOKEN, ...issued]) {
      assert.ok(!texts.includes(secret), `${secret} leaked`);
    }
    assert.ok(!texts.includes("SECRET"));
    // The cache file's name carries no secret either.
    for (const file of await f.cacheFiles()) assert.ok(!file.includes("SECRET"));
  } finally {
    await f.close();
  }
});
