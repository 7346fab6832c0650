/**
 * XOAUTH2 (Google's and Microsoft's OAuth 2.0 mechanism): `user=U^Aauth=Bearer T^A^A`,
 * sent as msmtp sends it: `AUTH XOAUTH2`, then the payload after the empty 334.
 *
 * @module
 */

import type { Authenticator } from "../session.ts";
import { utf8 } from "./bytes.ts";

/**
 * The XOAUTH2 payload.
 *
 * @example Usage
 * ```ts
 * import { xoauth2Payload } from "./xoauth2.ts";
 * const text = new TextDecoder().decode(xoauth2Payload("alice", "tok123"));
 * console.log(text === "user=alice\x01auth=Bearer tok123\x01\x01"); // true
 * ```
 */
export function xoauth2Payload(user: string, token: string): Uint8Array {
  return utf8(`user=${user}\x01auth=Bearer ${token}\x01\x01`);
}

/**
 * An XOAUTH2 authenticator. A second 334 carries the server's JSON error; it is answered
 * with an empty line so the server ends the exchange with its failure reply.
 *
 * @example Usage
 * ```ts
 * import { createXoauth2 } from "./xoauth2.ts";
 * console.log(createXoauth2("alice", "tok123").initialResponse()); // null
 * ```
 */
export function createXoauth2(user: string, token: string): Authenticator {
  let sent = false;
  return {
    mechanism: "XOAUTH2",
    initialResponse: (): null => null,
    onChallenge: (): Uint8Array => {
      if (sent) return new Uint8Array(0);
      sent = true;
      return xoauth2Payload(user, token);
    },
  };
}
