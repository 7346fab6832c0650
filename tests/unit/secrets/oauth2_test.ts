import assert from "node:assert/strict";
import { DEFAULT_SETTINGS, type Settings } from "../../../lib/config/account.ts";
import { applyCommand, SettingValueError } from "../../../lib/config/values.ts";
import { ConfigError } from "../../../lib/errors.ts";
import {
  cacheDirectory,
  cacheFilePath,
  EXPIRY_MARGIN_SECONDS,
  OAuth2Error,
  OAuth2TokenSource,
  usesOAuth2Refresh,
} from "../../../lib/secrets/oauth2.ts";

const CLIENT_SECRET = "client-secret-0123456789";
const REFRESH_TOKEN = "refresh-token-abcdefghij";

/** What the loopback token endpoint answers next and what it was asked. */
interface TokenEndpoint {
  url: string;
  requests: URLSearchParams[];
  /** The next answers (status, JSON body); the last one repeats. */
  answers: { status: number; body: unknown }[];
  close(): Promise<void>;
}

function serveTokenEndpoint(answers: { status: number; body: unknown }[]): TokenEndpoint {
  const requests: URLSearchParams[] = [];
  const endpoint: TokenEndpoint = {
    url: "",
    requests,
    answers,
    close: async () => {
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    assert.equal(req.method, "POST");
    assert.equal(req.headers.get("content-type"), "application/x-www-form-urlencoded");
    requests.push(new URLSearchParams(await req.text()));
    const answer = endpoint.answers.length > 1 ? endpoint.answers.shift()! : endpoint.answers[0];
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    return new Response(text, {
      status: answer.status,
      headers: { "content-type": "application/json" },
    });
  });
  endpoint.url = `http://127.0.0.1:${server.addr.port}/token`;
  return endpoint;
}

function settings(endpoint: string, extra: Partial<Settings> = {}): Settings {
  return {
    ...DEFAULT_SETTINGS,
    host: "smtp.example",
    auth: "XOAUTH2",
    user: "ann@example.org",
    oauth2_token_endpoint: endpoint,
    oauth2_client_id: "client-id",
    oauth2_client_secret: CLIENT_SECRET,
    oauth2_refresh_token: REFRESH_TOKEN,
    ...extra,
  };
}

async function withCache(
  fn: (env: { getenv(n: string): string | undefined; home(): string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "postie-oauth2-" });
  try {
    await fn({
      getenv: (n) => n === "XDG_CACHE_HOME" ? `${dir}/cache` : undefined,
      home: () => dir,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("only xoauth2 and oauthbearer accounts with a token endpoint refresh tokens", () => {
  const endpoint = "https://idp.example/token";
  assert.equal(usesOAuth2Refresh({ auth: "XOAUTH2", oauth2_token_endpoint: endpoint }), true);
  assert.equal(usesOAuth2Refresh({ auth: "OAUTHBEARER", oauth2_token_endpoint: endpoint }), true);
  assert.equal(usesOAuth2Refresh({ auth: "XOAUTH2", oauth2_token_endpoint: null }), false);
  assert.equal(usesOAuth2Refresh({ auth: "on", oauth2_token_endpoint: endpoint }), false);
  assert.equal(usesOAuth2Refresh({ auth: "PLAIN", oauth2_token_endpoint: endpoint }), false);
});

Deno.test("the token endpoint must be https, or http on a loopback address", () => {
  for (
    const ok of [
      "https://oauth2.googleapis.com/token",
      "http://127.0.0.1:8080/t",
      "http://localhost/t",
    ]
  ) {
    const set = {};
    applyCommand(set, "oauth2_token_endpoint", ok);
    assert.deepEqual(set, { oauth2_token_endpoint: ok });
  }
  for (const bad of ["http://idp.example/token", "oauth2.googleapis.com/token", "ftp://x/y"]) {
    assert.throws(
      () => applyCommand({}, "oauth2_token_endpoint", bad),
      (e: unknown) =>
        e instanceof SettingValueError && e.reason === "invalid" && /https URL/.test(e.message),
    );
  }
  const unset = {};
  applyCommand(unset, "oauth2_refresh_token", "");
  assert.deepEqual(unset, { oauth2_refresh_token: null });
});

Deno.test("the cache lives under XDG_CACHE_HOME or ~/.cache, named by a hash without secrets", async () => {
  assert.equal(cacheDirectory({ getenv: () => "/x/cache/", home: () => "/h" }), "/x/cache/postie");
  // A relative XDG_CACHE_HOME is invalid by the XDG spec and ignored.
  assert.equal(cacheDirectory({ getenv: () => "rel", home: () => "/h" }), "/h/.cache/postie");
  assert.equal(cacheDirectory({ getenv: () => undefined, home: () => "/h" }), "/h/.cache/postie");
  const env = { getenv: () => undefined, home: () => "/h" };
  const s = settings("https://idp.example/token");
  const path = await cacheFilePath(s, env);
  assert.match(path, /^\/h\/\.cache\/postie\/oauth2-[0-9a-f]{32}\.json$/);
  assert.equal(await cacheFilePath(s, env), path);
  assert.notEqual(await cacheFilePath({ ...s, user: "bob@example.org" }, env), path);
  assert.notEqual(await cacheFilePath({ ...s, oauth2_client_id: "other" }, env), path);
  const otherToken: Settings = { ...s, oauth2_refresh_token: "another" };
  assert.equal(await cacheFilePath(otherToken, env), path);
});

Deno.test("a first refresh posts grant_type=refresh_token and caches the token in a private file", async () => {
  const idp = serveTokenEndpoint([{
    status: 200,
    body: { access_token: "access-1", expires_in: 3600, token_type: "Bearer" },
  }]);
  try {
    await withCache(async (env) => {
      const now = 1_700_000_000_000;
      const source = new OAuth2TokenSource(
        settings(idp.url, { oauth2_scope: "https://mail.google.com/" }),
        {
          env,
          now: () => now,
        },
      );
      assert.deepEqual(await source.accessToken(), { token: "access-1", fromCache: false });
      assert.equal(idp.requests.length, 1);
      assert.deepEqual(Object.fromEntries(idp.requests[0]), {
        grant_type: "refresh_token",
        refresh_token: REFRESH_TOKEN,
        client_id: "client-id",
        client_secret: CLIENT_SECRET,
        scope: "https://mail.google.com/",
      });
      const path = await cacheFilePath(
        settings(idp.url, { oauth2_scope: "https://mail.google.com/" }),
        env,
      );
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(path.slice(0, path.lastIndexOf("/")))).mode! & 0o777, 0o700);
      const cached = JSON.parse(await Deno.readTextFile(path));
      assert.deepEqual(cached, { access_token: "access-1", expires_at: now / 1000 + 3600 });
    });
  } finally {
    await idp.close();
  }
});

Deno.test("a cached token is reused until the safety margin before its expiry", async () => {
  const idp = serveTokenEndpoint([
    { status: 200, body: { access_token: "access-1", expires_in: 600 } },
    { status: 200, body: { access_token: "access-2", expires_in: 600 } },
  ]);
  try {
    await withCache(async (env) => {
      let now = 1_700_000_000_000;
      const make = () => new OAuth2TokenSource(settings(idp.url), { env, now: () => now });
      assert.equal((await make().accessToken()).token, "access-1");
      now += (600 - EXPIRY_MARGIN_SECONDS - 1) * 1000;
      assert.deepEqual(await make().accessToken(), { token: "access-1", fromCache: true });
      assert.equal(idp.requests.length, 1);
      now += 2000;
      assert.deepEqual(await make().accessToken(), { token: "access-2", fromCache: false });
      assert.equal(idp.requests.length, 2);
    });
  } finally {
    await idp.close();
  }
});

Deno.test("the _eval commands run only when a refresh is due", async () => {
  const idp = serveTokenEndpoint([{ status: 200, body: { access_token: "access-1" } }]);
  try {
    await withCache(async (env) => {
      const commands: string[] = [];
      const evalCommand = (command: string): Promise<string | undefined> => {
        commands.push(command);
        return Promise.resolve(command === "get-secret" ? CLIENT_SECRET : REFRESH_TOKEN);
      };
      const s = settings(idp.url, {
        oauth2_client_secret: null,
        oauth2_client_secret_eval: "get-secret",
        oauth2_refresh_token: null,
        oauth2_refresh_token_eval: "get-refresh",
      });
      await new OAuth2TokenSource(s, { env, evalCommand }).accessToken();
      assert.deepEqual(commands, ["get-refresh", "get-secret"]);
      assert.equal(idp.requests[0].get("client_secret"), CLIENT_SECRET);
      assert.equal(idp.requests[0].get("refresh_token"), REFRESH_TOKEN);
      await new OAuth2TokenSource(s, { env, evalCommand }).accessToken();
      assert.equal(commands.length, 2);
    });
  } finally {
    await idp.close();
  }
});

Deno.test("a rotated refresh token is cached and preferred, and dropped when revoked", async () => {
  const idp = serveTokenEndpoint([
    { status: 200, body: { access_token: "access-1", refresh_token: "rotated-refresh-1" } },
    { status: 200, body: { access_token: "access-2" } },
    { status: 400, body: { error: "invalid_grant" } },
    { status: 200, body: { access_token: "access-3" } },
  ]);
  try {
    await withCache(async (env) => {
      const source = new OAuth2TokenSource(settings(idp.url), { env });
      await source.refresh();
      const path = await cacheFilePath(settings(idp.url), env);
      const cached = JSON.parse(await Deno.readTextFile(path));
      assert.equal(cached.refresh_token, "rotated-refresh-1");
      assert.equal(await source.refresh(), "access-2");
      assert.equal(idp.requests[1].get("refresh_token"), "rotated-refresh-1");
      // The server did not rotate again: the rotated token stays.
      assert.equal(JSON.parse(await Deno.readTextFile(path)).refresh_token, "rotated-refresh-1");
      assert.equal(await source.refresh(), "access-3");
      assert.equal(idp.requests[2].get("refresh_token"), "rotated-refresh-1");
      assert.equal(idp.requests[3].get("refresh_token"), REFRESH_TOKEN);
      // A new configured refresh token is used as given, whatever the cache holds.
      idp.answers.splice(0, idp.answers.length, {
        status: 200,
        body: { access_token: "access-4", refresh_token: "rotated-refresh-2" },
      });
      await source.refresh();
      await new OAuth2TokenSource(settings(idp.url, { oauth2_refresh_token: "new-refresh" }), {
        env,
      }).refresh();
      assert.equal(idp.requests.at(-1)!.get("refresh_token"), "new-refresh");
    });
  } finally {
    await idp.close();
  }
});

Deno.test("a refused refresh names the endpoint and the OAuth error, never a secret", async () => {
  const idp = serveTokenEndpoint([{
    status: 400,
    body: {
      error: "invalid_grant",
      error_description: `Token ${REFRESH_TOKEN} has been expired or revoked.`,
    },
  }]);
  try {
    await withCache(async (env) => {
      const error = await new OAuth2TokenSource(settings(idp.url), { env }).accessToken()
        .then(() => undefined, (e) => e);
      assert.ok(error instanceof OAuth2Error);
      assert.equal(error.exitCode, 77);
      assert.equal(error.code, "invalid_grant");
      assert.equal(
        error.message,
        `OAuth2 token refresh at ${idp.url} failed: invalid_grant ` +
          "(HTTP 400: Token * has been expired or revoked.)",
      );
      assert.ok(!error.message.includes(CLIENT_SECRET));
    });
  } finally {
    await idp.close();
  }
});

Deno.test("an HTTP error without OAuth JSON, a bad answer and no server are refresh failures", async () => {
  const idp = serveTokenEndpoint([
    { status: 502, body: "<html>bad gateway</html>" },
    { status: 200, body: { token_type: "Bearer" } },
  ]);
  try {
    await withCache(async (env) => {
      const failure = (s: Settings) =>
        new OAuth2TokenSource(s, { env }).refresh().then(() => undefined, (e) => e);
      const http = await failure(settings(idp.url));
      assert.ok(http instanceof OAuth2Error);
      assert.equal(http.code, "http_502");
      assert.equal(http.exitCode, 75, "a 5xx is temporary: callers retry");
      const empty = await failure(settings(idp.url));
      assert.ok(empty instanceof OAuth2Error);
      assert.equal(empty.code, "invalid_response");
      const port = idp.url.match(/:(\d+)\//)![1];
      await idp.close();
      const down = await failure(settings(`http://127.0.0.1:${port}/token`));
      assert.ok(down instanceof OAuth2Error);
      assert.equal(down.code, "network");
      assert.equal(down.exitCode, 75, "an unreachable endpoint is temporary: callers retry");
      assert.ok(!down.message.includes(REFRESH_TOKEN));
    });
  } finally {
    await idp.close().catch(() => {});
  }
});

Deno.test("a token endpoint without a refresh token is a configuration error", async () => {
  await withCache(async (env) => {
    const s = settings("https://idp.example/token", { oauth2_refresh_token: null });
    await assert.rejects(
      () => new OAuth2TokenSource(s, { env }).accessToken(),
      (e: unknown) =>
        e instanceof ConfigError && e.exitCode === 78 &&
        e.message === "oauth2_token_endpoint requires oauth2_refresh_token or " +
            "oauth2_refresh_token_eval",
    );
  });
});

Deno.test("an unreadable or malformed cache file counts as no cache", async () => {
  const idp = serveTokenEndpoint([{ status: 200, body: { access_token: "access-1" } }]);
  try {
    await withCache(async (env) => {
      const path = await cacheFilePath(settings(idp.url), env);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, "{not json");
      const token = await new OAuth2TokenSource(settings(idp.url), { env }).accessToken();
      assert.deepEqual(token, { token: "access-1", fromCache: false });
    });
  } finally {
    await idp.close();
  }
});

Deno.test("TOML takes the oauth2 keys, and a literal secret marks the file as holding one", async () => {
  const { parseTomlConfig } = await import("../../../lib/config/toml.ts");
  const text = [
    "[accounts.gmail]",
    'oauth2_token_endpoint = "https://oauth2.googleapis.com/token"',
    'oauth2_client_id = "id"',
    'oauth2_refresh_token = { env = "RT" }',
    "",
  ].join("\n");
  const fromEnv = await parseTomlConfig(text, "c.toml", { env: () => REFRESH_TOKEN });
  assert.deepEqual(
    fromEnv.blocks[0].commands.map((c) => [c.name, c.arg]),
    [
      ["oauth2_token_endpoint", "https://oauth2.googleapis.com/token"],
      ["oauth2_client_id", "id"],
      ["oauth2_refresh_token", REFRESH_TOKEN],
    ],
  );
  assert.equal(fromEnv.holdsPassword, false);
  const secret = await parseTomlConfig(
    '[accounts.a]\noauth2_client_secret = "' + CLIENT_SECRET + '"\n',
    "c.toml",
    { env: () => undefined },
  );
  assert.equal(secret.holdsPassword, true);
});
