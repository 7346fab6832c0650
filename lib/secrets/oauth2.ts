/**
 * OAuth 2.0 access tokens for XOAUTH2 and OAUTHBEARER, obtained from a refresh token
 * (RFC 6749 §6) and cached between runs, so an account needs no helper script: msmtp
 * only takes a ready token from `password`/`passwordeval`.
 *
 * The cache is one JSON file per account under `$XDG_CACHE_HOME/postie/` (or
 * `~/.cache/postie/`), directory 0700, file 0600, named by a hash of the token endpoint,
 * client id, scope and user, so its name reveals nothing. It holds the access token, its
 * expiry and, when the server rotates refresh tokens, the newest refresh token.
 *
 * No secret (client secret, refresh token, access token) ever appears in an error
 * message: messages name the endpoint and the server's OAuth error code.
 *
 * @module
 */

import { ConfigError, PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { evalPassword, runEvalCommand } from "./eval.ts";

/** Seconds before its expiry at which a cached access token counts as expired. */
export const EXPIRY_MARGIN_SECONDS = 60;

/** The lifetime assumed when a token response has no `expires_in` (RFC 6749 §5.1). */
export const DEFAULT_LIFETIME_SECONDS = 3600;

/** How long the token endpoint may take when the account sets no `timeout`. */
export const DEFAULT_REFRESH_TIMEOUT_MS = 60_000;

/**
 * The account settings a refresh reads (an `Account`'s `settings` fits): the `oauth2_*`
 * commands, `user` (part of the cache key: one mailbox, one token) and `timeout` (also the
 * limit for the token request).
 */
export interface OAuth2Settings {
  /** `oauth2_token_endpoint`: where refresh tokens are exchanged. */
  oauth2_token_endpoint: string | null;
  /** `oauth2_client_id`. */
  oauth2_client_id: string | null;
  /** `oauth2_client_secret`. */
  oauth2_client_secret: string | null;
  /** `oauth2_client_secret_eval`: a command printing the client secret. */
  oauth2_client_secret_eval: string | null;
  /** `oauth2_refresh_token`. */
  oauth2_refresh_token: string | null;
  /** `oauth2_refresh_token_eval`: a command printing the refresh token. */
  oauth2_refresh_token_eval: string | null;
  /** `oauth2_scope`. */
  oauth2_scope: string | null;
  /** `user`: part of the cache key. */
  user: string | null;
  /** `timeout` in seconds (0: none). */
  timeout: number;
}

/** What {@linkcode OAuth2TokenSource} needs from the outside world. */
export interface OAuth2Options {
  /** The environment: `XDG_CACHE_HOME` and the home directory for the cache. */
  env: {
    getenv(name: string): string | undefined;
    home(): string;
  };
  /** The HTTP client; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** The clock in milliseconds; defaults to `Date.now`. */
  now?: () => number;
  /** Runs an `_eval` command; defaults to `sh -c` (first output line). */
  evalCommand?: (command: string) => Promise<string | undefined>;
}

/** An access token and where it came from. */
export interface AccessToken {
  /** The token to send as `auth=Bearer TOKEN`. */
  token: string;
  /** True when it was read from the cache (the server may still reject it). */
  fromCache: boolean;
}

/** What the cache file holds. */
interface CacheEntry {
  access_token: string;
  /** Unix time in seconds. */
  expires_at: number;
  /** A refresh token the server handed out in place of the configured one. */
  refresh_token?: string;
  /** SHA-256 (hex) of the configured refresh token `refresh_token` replaced. */
  replaces?: string;
}

/**
 * A token refresh failed: the endpoint refused (`invalid_grant`, `invalid_client`, an
 * HTTP error) or could not be reached. A refusal is an authentication failure (EX_NOPERM);
 * an unreachable endpoint or an HTTP 5xx is temporary (EX_TEMPFAIL), so callers retry.
 *
 * @example Usage
 * ```ts
 * import { OAuth2Error } from "./oauth2.ts";
 * const e = new OAuth2Error("https://idp.example/token", "invalid_grant");
 * console.log(e.message); // "OAuth2 token refresh at https://idp.example/token failed: invalid_grant"
 * console.log(e.exitCode); // 77
 * ```
 */
export class OAuth2Error extends PostieError {
  /** The token endpoint that was asked. */
  readonly endpoint: string;
  /** The OAuth error code (`invalid_grant`), `http_NNN`, or `network`. */
  readonly code: string;

  /** `reason` is appended to the code; it must already be free of secrets. */
  constructor(endpoint: string, code: string, reason?: string, options: { cause?: unknown } = {}) {
    super(
      `OAuth2 token refresh at ${endpoint} failed: ${code}${reason ? ` (${reason})` : ""}`,
      code === "network" || /^http_5\d\d$/.test(code) ? ExitCode.TEMPFAIL : ExitCode.NOPERM,
      options,
    );
    this.name = "OAuth2Error";
    this.endpoint = endpoint;
    this.code = code;
  }
}

/**
 * Whether the account refreshes its OAuth 2.0 token itself: `auth` is `xoauth2` or
 * `oauthbearer` and a token endpoint is set.
 *
 * @example Usage
 * ```ts
 * import { usesOAuth2Refresh } from "./oauth2.ts";
 * console.log(usesOAuth2Refresh({ auth: "XOAUTH2", oauth2_token_endpoint: "https://x/t" })); // true
 * console.log(usesOAuth2Refresh({ auth: "PLAIN", oauth2_token_endpoint: "https://x/t" })); // false
 * ```
 */
export function usesOAuth2Refresh(
  s: { auth: string; oauth2_token_endpoint: string | null },
): boolean {
  const mech = s.auth.toUpperCase();
  return (mech === "XOAUTH2" || mech === "OAUTHBEARER") && s.oauth2_token_endpoint !== null;
}

/**
 * The directory of postie's cache: `$XDG_CACHE_HOME/postie` when that is an absolute
 * path (as the XDG spec requires), else `~/.cache/postie`.
 *
 * @example Usage
 * ```ts
 * import { cacheDirectory } from "./oauth2.ts";
 * const env = { getenv: () => undefined, home: () => "/home/ann" };
 * console.log(cacheDirectory(env)); // "/home/ann/.cache/postie"
 * ```
 */
export function cacheDirectory(env: OAuth2Options["env"]): string {
  const xdg = env.getenv("XDG_CACHE_HOME");
  if (xdg !== undefined && xdg.startsWith("/")) return `${xdg.replace(/\/+$/, "")}/postie`;
  return `${env.home().replace(/\/+$/, "")}/.cache/postie`;
}

/**
 * The cache file of an account: `oauth2-` and the first 32 hex digits of the SHA-256 of
 * endpoint, client id, scope and user, so the name reveals nothing.
 *
 * @example Usage
 * ```ts
 * import { cacheFilePath } from "./oauth2.ts";
 * const env = { getenv: () => "/tmp/cache", home: () => "/home/ann" };
 * const path = await cacheFilePath(
 *   { oauth2_token_endpoint: "https://idp.example/token", oauth2_client_id: "c", oauth2_scope: null, user: "ann" },
 *   env,
 * );
 * console.log(path.startsWith("/tmp/cache/postie/oauth2-")); // true
 * ```
 */
export async function cacheFilePath(
  s: Pick<OAuth2Settings, "oauth2_token_endpoint" | "oauth2_client_id" | "oauth2_scope" | "user">,
  env: OAuth2Options["env"],
): Promise<string> {
  const key = [s.oauth2_token_endpoint, s.oauth2_client_id, s.oauth2_scope, s.user]
    .map((part) => part ?? "").join("\n");
  return `${cacheDirectory(env)}/oauth2-${(await sha256Hex(key)).slice(0, 32)}.json`;
}

/**
 * Access tokens for one account: from the cache while valid, else refreshed at the
 * token endpoint (and cached).
 *
 * @example Usage
 * ```ts ignore
 * import { OAuth2TokenSource } from "./oauth2.ts";
 * const source = new OAuth2TokenSource(account.settings, {
 *   env: { getenv: (n) => Deno.env.get(n), home: () => Deno.env.get("HOME") ?? "" },
 * });
 * const { token, fromCache } = await source.accessToken();
 * // after the server refused a cached token:
 * const fresh = await source.refresh();
 * ```
 */
export class OAuth2TokenSource {
  readonly #s: OAuth2Settings;
  readonly #endpoint: string;
  readonly #options: OAuth2Options;
  readonly #now: () => number;
  /** Every secret seen, so that no message can repeat one. */
  readonly #secrets = new Set<string>();
  #path: string | undefined;

  /** A token source for the account's settings; the endpoint must be set. */
  constructor(settings: OAuth2Settings, options: OAuth2Options) {
    if (settings.oauth2_token_endpoint === null) {
      throw new ConfigError("oauth2_token_endpoint not set");
    }
    this.#s = settings;
    this.#endpoint = settings.oauth2_token_endpoint;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The cached access token while it has more than {@linkcode EXPIRY_MARGIN_SECONDS}
   * left, else a fresh one from {@linkcode OAuth2TokenSource.refresh}.
   *
   * @throws {OAuth2Error} the refresh failed (EX_NOPERM).
   * @throws {ConfigError} no refresh token is configured, or an `_eval` printed nothing.
   */
  async accessToken(): Promise<AccessToken> {
    const entry = await this.#readCache();
    if (entry !== null && entry.expires_at - EXPIRY_MARGIN_SECONDS > this.#now() / 1000) {
      this.#secrets.add(entry.access_token);
      return { token: entry.access_token, fromCache: true };
    }
    return { token: await this.refresh(), fromCache: false };
  }

  /**
   * Asks the token endpoint for a new access token with the refresh token
   * (`grant_type=refresh_token`), caches it and returns it. A refresh token the server
   * rotated earlier is preferred to the configured one it replaced.
   *
   * @throws {OAuth2Error} the endpoint refused or could not be reached (EX_NOPERM).
   * @throws {ConfigError} no refresh token is configured, or an `_eval` printed nothing.
   */
  async refresh(): Promise<string> {
    const s = this.#s;
    const configured = await this.#secret(
      s.oauth2_refresh_token,
      s.oauth2_refresh_token_eval,
    );
    if (configured === null) {
      throw new ConfigError(
        "oauth2_token_endpoint requires oauth2_refresh_token or oauth2_refresh_token_eval",
      );
    }
    const configuredHash = await sha256Hex(configured);
    const cached = await this.#readCache();
    let rotated = cached?.refresh_token !== undefined && cached.replaces === configuredHash
      ? cached.refresh_token
      : undefined;
    if (rotated !== undefined) this.#secrets.add(rotated);
    const clientSecret = await this.#secret(s.oauth2_client_secret, s.oauth2_client_secret_eval);

    const form = (refreshToken: string): URLSearchParams => {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: refreshToken,
      });
      if (s.oauth2_client_id !== null) form.set("client_id", s.oauth2_client_id);
      if (clientSecret !== null) form.set("client_secret", clientSecret);
      if (s.oauth2_scope !== null) form.set("scope", s.oauth2_scope);
      return form;
    };

    let answer: Record<string, unknown>;
    try {
      answer = await this.#post(form(rotated ?? configured));
    } catch (error) {
      // A rotated token revoked since: the configured one may still be good.
      if (!(error instanceof OAuth2Error && error.code === "invalid_grant") || !rotated) {
        throw error;
      }
      rotated = undefined;
      answer = await this.#post(form(configured));
    }
    const token = answer.access_token as string;
    this.#secrets.add(token);
    const entry: CacheEntry = {
      access_token: token,
      expires_at: Math.floor(this.#now() / 1000) + lifetime(answer.expires_in),
    };
    const newRefresh = typeof answer.refresh_token === "string" && answer.refresh_token !== ""
      ? answer.refresh_token
      : rotated;
    if (newRefresh !== undefined && newRefresh !== configured) {
      this.#secrets.add(newRefresh);
      entry.refresh_token = newRefresh;
      entry.replaces = configuredHash;
    }
    await this.#writeCache(entry);
    return token;
  }

  /** The value of a secret setting or its `_eval` command, or null when neither is set. */
  async #secret(value: string | null, command: string | null): Promise<string | null> {
    let secret = value;
    if (secret === null && command !== null) {
      const limit = this.#s.timeout > 0 ? this.#s.timeout * 1000 : undefined;
      secret = await evalPassword(
        command,
        this.#options.evalCommand ?? ((c) => runEvalCommand(c, limit)),
      );
    }
    if (secret !== null) this.#secrets.add(secret);
    return secret;
  }

  /** POSTs the form and returns the parsed success answer (with an access token). */
  async #post(form: URLSearchParams): Promise<Record<string, unknown>> {
    const endpoint = this.#endpoint;
    const timeoutMs = this.#s.timeout > 0 ? this.#s.timeout * 1000 : DEFAULT_REFRESH_TIMEOUT_MS;
    let response: Response;
    try {
      response = await (this.#options.fetch ?? fetch)(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: form.toString(),
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof DOMException && error.name === "TimeoutError"
        ? `no answer within ${Math.round(timeoutMs / 1000)} seconds`
        : error instanceof Error
        ? error.message
        : String(error);
      throw new OAuth2Error(endpoint, "network", this.#clean(reason), { cause: error });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new OAuth2Error(endpoint, "network", "the answer was cut off", { cause: error });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const json = isRecord(body) ? body : undefined;
    if (json !== undefined && typeof json.error === "string" && json.error !== "") {
      const description = typeof json.error_description === "string" ? json.error_description : "";
      const http = response.ok ? "" : `HTTP ${response.status}`;
      const reason = [http, this.#clean(description)].filter((p) => p !== "").join(": ");
      throw new OAuth2Error(endpoint, this.#clean(json.error), reason);
    }
    if (!response.ok) {
      throw new OAuth2Error(
        endpoint,
        `http_${response.status}`,
        this.#clean(`HTTP ${response.status} ${response.statusText}`.trim()),
      );
    }
    if (json === undefined || typeof json.access_token !== "string" || json.access_token === "") {
      throw new OAuth2Error(endpoint, "invalid_response", "the answer holds no access_token");
    }
    return json;
  }

  /** One line of at most 200 characters, with no secret and no control character. */
  #clean(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (secret.length >= 4) out = out.split(secret).join("*");
    }
    // deno-lint-ignore no-control-regex
    out = out.replace(/[\x00-\x1f\x7f]/g, "?");
    return out.length > 200 ? `${out.slice(0, 197)}...` : out;
  }

  async #cachePath(): Promise<string> {
    this.#path ??= await cacheFilePath(this.#s, this.#options.env);
    return this.#path;
  }

  /** The cache entry, or null when there is none or it cannot be read or understood. */
  async #readCache(): Promise<CacheEntry | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(await this.#cachePath());
    } catch {
      return null;
    }
    try {
      const entry: unknown = JSON.parse(text);
      if (
        !isRecord(entry) || typeof entry.access_token !== "string" ||
        entry.access_token === "" || typeof entry.expires_at !== "number"
      ) {
        return null;
      }
      return {
        access_token: entry.access_token,
        expires_at: entry.expires_at,
        ...(typeof entry.refresh_token === "string" && typeof entry.replaces === "string"
          ? { refresh_token: entry.refresh_token, replaces: entry.replaces }
          : {}),
      };
    } catch {
      return null;
    }
  }

  /**
   * Writes the entry through a private temporary file and a rename, so a reader never
   * sees half a file and the file is never readable by others, not even for a moment.
   * A cache that cannot be written is no error: the next run refreshes again.
   */
  async #writeCache(entry: CacheEntry): Promise<void> {
    const path = await this.#cachePath();
    const dir = path.slice(0, path.lastIndexOf("/"));
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      await Deno.chmod(dir, 0o700);
      await Deno.writeTextFile(temporary, JSON.stringify(entry) + "\n", {
        createNew: true,
        mode: 0o600,
      });
      await Deno.chmod(temporary, 0o600);
      await Deno.rename(temporary, path);
    } catch {
      await Deno.remove(temporary).catch(() => {});
    }
  }
}

/** `expires_in` in seconds when it is a sensible number, else the default lifetime. */
function lifetime(expiresIn: unknown): number {
  const seconds = typeof expiresIn === "string" ? Number(expiresIn) : expiresIn;
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0
    ? Math.floor(seconds)
    : DEFAULT_LIFETIME_SECONDS;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
