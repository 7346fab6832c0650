/**
 * Authentication for a session: choose the mechanism as msmtp does, find the password only
 * when the mechanism needs one (keyring, netrc and the prompt are asked at AUTH time, as
 * msmtp asks them), then run the SASL exchange.
 *
 * @module
 */

import type { Settings } from "../config/account.ts";
import { lookupPassword } from "../secrets/password.ts";
import { chooseAuthenticator } from "../smtp/auth/select.ts";
import type { OpenSession } from "./session.ts";

/**
 * Authenticates the open session with the account's `auth`, `user` and password sources.
 *
 * @example Usage
 * ```ts ignore
 * import { authenticate } from "./auth.ts";
 * await authenticate(account.settings, open, Deno.env.toObject());
 * ```
 */
export async function authenticate(
  s: Settings,
  open: OpenSession,
  env: Readonly<Record<string, string>>,
): Promise<void> {
  const authenticator = await chooseAuthenticator({
    auth: s.auth,
    user: s.user,
    password: () =>
      lookupPassword({
        settings: s,
        env: { getenv: (name) => env[name], home: () => env.HOME ?? "" },
      }),
    host: s.host ?? s.socket ?? "",
    port: s.port,
    tlsActive: open.tls !== null,
    serverMechanisms: open.capabilities.auth,
    serverAdvertisesAuth: open.capabilities.authAdvertised,
  });
  await open.session.authenticate(authenticator);
}
