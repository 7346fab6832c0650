/**
 * SASL CRAM-MD5 (RFC 2195): `user HEX(HMAC-MD5(password, challenge))`.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import type { Authenticator } from "../session.ts";
import { utf8 } from "./bytes.ts";

/**
 * The CRAM-MD5 response to a challenge.
 *
 * @example Usage
 * ```ts
 * import { cramMd5Response } from "./cram_md5.ts";
 * const challenge = new TextEncoder().encode("<1896.697170952@postoffice.reston.mci.net>");
 * const r = new TextDecoder().decode(cramMd5Response("tim", "tanstaaftanstaaf", challenge));
 * console.log(r); // "tim b913a602c7eda7a495b4e6e7334d3890"
 * ```
 */
export function cramMd5Response(user: string, password: string, challenge: Uint8Array): Uint8Array {
  // HMAC hashes keys longer than the block size itself, so passwords over 64 bytes work
  // (msmtp's built-in, non-GNU-SASL code got that wrong before 1.8.24).
  const digest = createHmac("md5", utf8(password)).update(challenge).digest("hex");
  return utf8(`${user} ${digest}`);
}

/**
 * A CRAM-MD5 authenticator.
 *
 * @example Usage
 * ```ts
 * import { createCramMd5 } from "./cram_md5.ts";
 * console.log(createCramMd5("tim", "tanstaaftanstaaf").mechanism); // "CRAM-MD5"
 * ```
 */
export function createCramMd5(user: string, password: string): Authenticator {
  let answered = false;
  return {
    mechanism: "CRAM-MD5",
    initialResponse: (): null => null,
    onChallenge: (challenge: Uint8Array): Uint8Array => {
      if (answered) return new Uint8Array(0);
      answered = true;
      return cramMd5Response(user, password, challenge);
    },
  };
}
