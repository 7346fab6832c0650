/**
 * Chooses the SASL mechanism for an account and builds its authenticator, with msmtp's
 * rules and messages: `auth on` picks the best method the server offers that does not
 * reveal the password on an unencrypted connection; an explicit method is used as given
 * (even without TLS, as msmtp does) but never replaced by another.
 *
 * @module
 */

import { PostieError } from "../../errors.ts";
import { ExitCode } from "../../exit.ts";
import { SmtpError, SmtpUnsupportedError } from "../errors.ts";
import type { Authenticator } from "../session.ts";
import { createCramMd5 } from "./cram_md5.ts";
import { createExternal } from "./external.ts";
import { createLogin } from "./login.ts";
import { createOauthbearer } from "./oauthbearer.ts";
import { createPlain } from "./plain.ts";
import { createScram, type ScramOptions } from "./scram.ts";
import { createXoauth2 } from "./xoauth2.ts";

export type { Authenticator } from "../session.ts";
export type { ScramOptions } from "./scram.ts";

/** The mechanisms postie implements, upper case. */
export const SUPPORTED_MECHANISMS: readonly string[] = Object.freeze([
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
  "XOAUTH2",
  "OAUTHBEARER",
  "EXTERNAL",
]);

/**
 * `auth on` with TLS active, best first. SCRAM leads, as in msmtp 1.8.26 (1.8.23 put
 * PLAIN first); DIGEST-MD5 and NTLM, which msmtp's GNU SASL build also tries, are not
 * implemented.
 */
export const AUTO_ORDER_TLS: readonly string[] = Object.freeze([
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
  "CRAM-MD5",
  "LOGIN",
]);

/**
 * `auth on` without TLS: only methods that neither reveal the password nor let a
 * listener replay or crack it offline cheaply. msmtp's GNU SASL build allows SCRAM only.
 */
export const AUTO_ORDER_CLEAR: readonly string[] = Object.freeze(["SCRAM-SHA-256", "SCRAM-SHA-1"]);

/** What {@linkcode chooseAuthenticator} needs to know. */
export interface ChooseAuthenticatorOptions {
  /** The account's `auth`: `on`, or one method in upper case (`PLAIN`). */
  auth: string;
  /** The account's `user`, null when unset. */
  user: string | null;
  /**
   * Finds the password (or OAuth token) when the chosen method needs one; null when no
   * source answers. Called at most once, and only after the method and user are settled,
   * so the keyring and the prompt are not consulted for nothing.
   */
  password: () => Promise<string | null>;
  /** The `host` setting (for OAUTHBEARER's `host=`). */
  host: string;
  /** The port (for OAUTHBEARER's `port=`). */
  port: number;
  /** Whether the connection is encrypted (after STARTTLS or with implicit TLS). */
  tlsActive: boolean;
  /** The mechanisms the server offers (upper case), `SmtpSession.capabilities.auth`. */
  serverMechanisms: ReadonlySet<string>;
  /** Whether the server sent an AUTH line at all, `SmtpSession.capabilities.authAdvertised`. */
  serverAdvertisesAuth: boolean;
  /** SCRAM options (a fixed client nonce in tests). */
  scram?: ScramOptions;
}

/**
 * Refuses a method postie does not implement, with msmtp's words for a method its build
 * lacks (EX_UNAVAILABLE). msmtp checks this before connecting; so should the caller.
 *
 * @example Usage
 * ```ts
 * import { checkAuthMethodSupported } from "./select.ts";
 * checkAuthMethodSupported("PLAIN"); // fine
 * try {
 *   checkAuthMethodSupported("GSSAPI");
 * } catch (e) {
 *   console.log((e as Error).message); // "support for authentication method GSSAPI is not compiled in"
 * }
 * ```
 */
export function checkAuthMethodSupported(auth: string): void {
  const mech = auth.toUpperCase();
  if (mech === "ON" || mech === "OFF" || SUPPORTED_MECHANISMS.includes(mech)) return;
  throw new PostieError(
    `support for authentication method ${mech} is not compiled in`,
    ExitCode.UNAVAILABLE,
  );
}

/**
 * Picks the mechanism and builds its authenticator, in msmtp's order of checks:
 * method implemented → server offers AUTH → server offers the method (or `auth on`
 * finds one) → user set (not for EXTERNAL) → password found (not for EXTERNAL).
 *
 * Every refusal is EX_UNAVAILABLE. `the server does not support authentication` is an
 * {@linkcode SmtpUnsupportedError} (QUIT is still sent, as msmtp does); the others are
 * plain {@linkcode SmtpError}s with `quitAllowed` false, because msmtp closes without
 * QUIT after them: `support for authentication method X is not compiled in`, `the server
 * does not support authentication method X`, `cannot use a
 * secure authentication method` (no TLS), `cannot find a usable authentication method`
 * (TLS), `authentication method X needs a user name`, `authentication method X needs a
 * password`.
 *
 * @example Usage
 * ```ts
 * import { chooseAuthenticator } from "./select.ts";
 * const auth = await chooseAuthenticator({
 *   auth: "on",
 *   user: "alice",
 *   password: () => Promise.resolve("secret"),
 *   host: "mail.example",
 *   port: 587,
 *   tlsActive: true,
 *   serverMechanisms: new Set(["PLAIN", "LOGIN"]),
 *   serverAdvertisesAuth: true,
 * });
 * console.log(auth.mechanism); // "PLAIN"
 * ```
 */
export async function chooseAuthenticator(
  options: ChooseAuthenticatorOptions,
): Promise<Authenticator> {
  const requested = options.auth.toUpperCase();
  // msmtp ends the session without QUIT when its smtp_auth() refuses, but says goodbye
  // when the server lacks AUTH altogether (checked before smtp_auth() is called).
  const unavailable = (message: string): SmtpError =>
    new SmtpError(message, ExitCode.UNAVAILABLE, { stage: "auth" });
  if (requested !== "ON" && !SUPPORTED_MECHANISMS.includes(requested)) {
    throw unavailable(`support for authentication method ${requested} is not compiled in`);
  }
  if (!options.serverAdvertisesAuth) {
    throw new SmtpUnsupportedError("the server does not support authentication", "auth");
  }
  let mech: string;
  if (requested === "ON") {
    const order = options.tlsActive ? AUTO_ORDER_TLS : AUTO_ORDER_CLEAR;
    const found = order.find((m) => options.serverMechanisms.has(m));
    if (found === undefined) {
      throw unavailable(
        options.tlsActive
          ? "cannot find a usable authentication method"
          : "cannot use a secure authentication method",
      );
    }
    mech = found;
  } else {
    if (!options.serverMechanisms.has(requested)) {
      throw unavailable(`the server does not support authentication method ${requested}`);
    }
    mech = requested;
  }
  if (mech === "EXTERNAL") return createExternal(options.user);
  const user = options.user;
  if (user === null) throw unavailable(`authentication method ${mech} needs a user name`);
  const password = await options.password();
  if (password === null) throw unavailable(`authentication method ${mech} needs a password`);
  switch (mech) {
    case "PLAIN":
      return createPlain(user, password);
    case "LOGIN":
      return createLogin(user, password);
    case "CRAM-MD5":
      return createCramMd5(user, password);
    case "SCRAM-SHA-1":
    case "SCRAM-SHA-256":
      return createScram(mech, user, password, options.scram);
    case "XOAUTH2":
      return createXoauth2(user, password);
    default:
      return createOauthbearer(user, options.host, options.port, password);
  }
}
