/**
 * Authentication for a session: choose the mechanism as msmtp does, find the password only
 * when the mechanism needs one (keyring, netrc and the prompt are asked at AUTH time, as
 * msmtp asks them), then run the SASL exchange.
 *
 * With `oauth2_token_endpoint` set, XOAUTH2 and OAUTHBEARER take their token from
 * postie's OAuth 2.0 refresh instead (cached between runs); when the server refuses a
 * cached token, postie refreshes it and authenticates once more on the same connection
 * (RFC 4954 allows a new AUTH after a failed one).
 *
 * @module
 */

import type { Settings } from "../config/account.ts";
import { lookupPassword } from "../secrets/password.ts";
import { SmtpAuthError } from "../smtp/errors.ts";
import { type Authenticator, chooseAuthenticator } from "../smtp/auth/select.ts";
import type { Capabilities } from "../smtp/capabilities.ts";
import type { SmtpSession } from "../smtp/session.ts";
import { defaultRootsFetch } from "../net/roots.ts";

/** The open session {@linkcode authenticate} works on. */
export interface AuthTarget {
  /** The session, after EHLO (and STARTTLS). */
  session: SmtpSession;
  /** The capabilities of the last EHLO. */
  capabilities: Capabilities;
  /** Whether TLS is active (PLAIN and LOGIN are refused without it unless configured). */
  tlsActive: boolean;
}

/** Options of {@linkcode authenticate}. */
export interface AuthOptions {
  /**
   * Whether the password prompt on the terminal may be shown when no other source has a
   * password (msmtp's last resort; a script usually wants false).
   * @default {true}
   */
  prompt?: boolean;
}

/**
 * Authenticates the open session with the account's `auth`, `user` and password sources.
 *
 * @example Usage
 * ```ts ignore
 * import { authenticate } from "./auth.ts";
 * await authenticate(account.settings, target, Deno.env.toObject());
 * ```
 */
export async function authenticate(
  s: Settings,
  open: AuthTarget,
  env: Readonly<Record<string, string>>,
  options: AuthOptions = {},
): Promise<void> {
  const choose = (password: () => Promise<string | null>): Promise<Authenticator> =>
    chooseAuthenticator({
      auth: s.auth,
      user: s.user,
      password,
      host: s.host ?? s.socket ?? "",
      port: s.port,
      tlsActive: open.tlsActive,
      serverMechanisms: open.capabilities.auth,
      serverAdvertisesAuth: open.capabilities.authAdvertised,
    });
  const lookupEnv = { getenv: (name: string) => env[name], home: () => env.HOME ?? "" };
  // The refresh code loads only for accounts that configure it.
  const oauth2 = s.oauth2_token_endpoint === null ? null : await import("../secrets/oauth2.ts");
  if (oauth2 === null || !oauth2.usesOAuth2Refresh(s)) {
    const authenticator = await choose(() =>
      lookupPassword({ settings: s, env: lookupEnv, tty: options.prompt ?? true })
    );
    await open.session.authenticate(authenticator);
    return;
  }
  // After a trust file emptied Deno's default roots, the token endpoint still gets them.
  const fetch = await defaultRootsFetch();
  const tokens = new oauth2.OAuth2TokenSource(s, { env: lookupEnv, ...(fetch ? { fetch } : {}) });
  let fromCache = false;
  const authenticator = await choose(async () => {
    const access = await tokens.accessToken();
    fromCache = access.fromCache;
    return access.token;
  });
  try {
    await open.session.authenticate(authenticator);
  } catch (error) {
    // A cached token may have been revoked or may have expired early; a fresh one is
    // worth one more try. A fresh token that is refused is a real failure.
    if (!(error instanceof SmtpAuthError) || !fromCache) throw error;
    await open.session.authenticate(await choose(() => tokens.refresh()));
  }
}
