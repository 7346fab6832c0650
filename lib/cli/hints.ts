/**
 * One line after msmtp's error lines that says what to do next (`NAME: hint: …`), for the
 * mistakes users make most: a port and TLS mode that do not go together, a server without
 * STARTTLS, a certificate nobody trusts, no configuration at all, SCRAM against a server that
 * keeps only hashed passwords. msmtp's own lines are printed unchanged before it.
 *
 * @module
 */

import { ConfigError, PostieError } from "../errors.ts";
import type { Settings } from "../config/account.ts";
import { systemConfigPath } from "../config/paths.ts";
import { SmtpAuthError } from "../smtp/errors.ts";
import { processPathEnv } from "./help.ts";

/** What a hint may look at besides the error. */
export interface HintContext {
  /** The account's settings, once an account was chosen. */
  settings?: Settings;
  /** The environment (for the configuration file names). */
  env: Readonly<Record<string, string>>;
}

const TIMED_OUT = "the operation timed out";

/** The `--serverinfo` command that shows a server's certificate whatever it is. */
function serverinfoRecipe(s: Settings): string {
  const host = s.host ?? "HOST";
  const tls = s.tls_starttls ? "--tls" : "--tls --tls-starttls=off";
  return `postie --serverinfo --host=${host} --port=${s.port} ${tls} --tls-certcheck=off`;
}

/**
 * The hint for `error`, or undefined when there is nothing useful to add.
 *
 * @example Usage
 * ```ts
 * import { hintFor } from "./hints.ts";
 * import { ConfigError } from "../errors.ts";
 * const error = new ConfigError("account default not found: no configuration file available");
 * const hint = hintFor(error, { env: { HOME: "/home/ann" } });
 * console.log(hint?.startsWith("no configuration file: postie looked for /etc/msmtprc")); // true
 * ```
 */
export function hintFor(error: unknown, context: HintContext): string | undefined {
  if (!(error instanceof PostieError)) return undefined;
  const message = error.message;
  if (error instanceof ConfigError && message.endsWith("no configuration file available")) {
    const paths = processPathEnv(context.env);
    const home = paths.home();
    const xdg = context.env.XDG_CONFIG_HOME || `${home}/.config`;
    return `no configuration file: postie looked for ${
      systemConfigPath(paths)
    }, ${home}/.msmtprc ` +
      `and ${xdg}/msmtp/config; create one of them (or name one with -C), or give --host ` +
      "and --from on the command line (or POSTIE_HOST and POSTIE_FROM in the environment)";
  }
  const s = context.settings;
  if (!s || s.socket) return undefined;
  const port = s.port;
  const starttls = s.tls && s.tls_starttls;
  if (port === 465 && !(s.tls && !s.tls_starttls) && message.includes(TIMED_OUT)) {
    return "port 465 expects TLS from the first byte and waits for it: set tls on and " +
      "tls_starttls off, or use port 587 with STARTTLS";
  }
  if (
    s.tls && !s.tls_starttls && port !== 465 && message.startsWith("TLS handshake failed:") &&
    !message.includes(TIMED_OUT)
  ) {
    return `the server on port ${port} speaks plain SMTP first: set tls_starttls on to use ` +
      "STARTTLS, or use port 465 for TLS from the first byte";
  }
  if (starttls && message === "the server does not support TLS via the STARTTLS command") {
    return `the server on port ${port} does not offer STARTTLS: check host and port; for TLS ` +
      "from the first byte use port 465 with tls_starttls off";
  }
  if (message.startsWith("TLS certificate verification failed: The certificate is NOT trusted.")) {
    if (/revoked/.test(message)) return undefined;
    return "if you trust this server, put its CA certificate in a file named by " +
      `tls_trust_file; \`${serverinfoRecipe(s)}\` shows the certificate and its fingerprint ` +
      "(for tls_fingerprint)";
  }
  if (error instanceof SmtpAuthError && error.mechanism.startsWith("SCRAM-")) {
    return "if the password is right, the server may keep only hashed passwords, which " +
      `${error.mechanism} cannot use: set auth plain (sent only over TLS)`;
  }
  return undefined;
}

/**
 * The hint as the line to print after msmtp's lines, or none.
 *
 * @example Usage
 * ```ts
 * import { hintLines } from "./hints.ts";
 * console.log(hintLines(new Error("x"), { env: {} })); // []
 * ```
 */
export function hintLines(error: unknown, context: HintContext): string[] {
  const hint = hintFor(error, context);
  return hint === undefined ? [] : [`hint: ${hint}`];
}
