/**
 * OAUTHBEARER (RFC 7628): `n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A` as the initial
 * response, byte for byte as msmtp builds it (the user is not escaped, as in msmtp).
 *
 * @module
 */

import type { Authenticator } from "../session.ts";
import { utf8 } from "./bytes.ts";

/**
 * The OAUTHBEARER initial client response.
 *
 * @example Usage
 * ```ts
 * import { oauthbearerPayload } from "./oauthbearer.ts";
 * const text = new TextDecoder().decode(oauthbearerPayload("alice", "127.0.0.1", 2525, "t"));
 * console.log(text === "n,a=alice,\x01host=127.0.0.1\x01port=2525\x01auth=Bearer t\x01\x01"); // true
 * ```
 */
export function oauthbearerPayload(
  user: string,
  host: string,
  port: number,
  token: string,
): Uint8Array {
  return utf8(`n,a=${user},\x01host=${host}\x01port=${port}\x01auth=Bearer ${token}\x01\x01`);
}

/**
 * An OAUTHBEARER authenticator. A 334 after the initial response is the server's error
 * (JSON); RFC 7628 §3.2.3 has the client answer it with a single `^A`, after which the
 * server sends its failure reply and the session reports `authentication failed`.
 *
 * @example Usage
 * ```ts
 * import { createOauthbearer } from "./oauthbearer.ts";
 * console.log(createOauthbearer("alice", "mail.example", 587, "t").mechanism); // "OAUTHBEARER"
 * ```
 */
export function createOauthbearer(
  user: string,
  host: string,
  port: number,
  token: string,
): Authenticator {
  return {
    mechanism: "OAUTHBEARER",
    initialResponse: (): Uint8Array => oauthbearerPayload(user, host, port, token),
    onChallenge: (): Uint8Array => new Uint8Array([0x01]),
  };
}
