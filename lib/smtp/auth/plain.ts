/**
 * SASL PLAIN (RFC 4616): `\0user\0password` as the initial response on the AUTH line,
 * as msmtp sends it (some servers insist on the initial response).
 *
 * @module
 */

import type { Authenticator } from "../session.ts";
import { concat, utf8 } from "./bytes.ts";

/**
 * The PLAIN payload: an empty authorization identity, the user and the password, each
 * separated by a NUL byte.
 *
 * @example Usage
 * ```ts
 * import { plainPayload } from "./plain.ts";
 * console.log(plainPayload("alice", "secret").length); // 13
 * ```
 */
export function plainPayload(user: string, password: string): Uint8Array {
  return concat([new Uint8Array([0]), utf8(user), new Uint8Array([0]), utf8(password)]);
}

/**
 * A PLAIN authenticator.
 *
 * @example Usage
 * ```ts
 * import { createPlain } from "./plain.ts";
 * const auth = createPlain("alice", "secret");
 * console.log(auth.mechanism); // "PLAIN"
 * ```
 */
export function createPlain(user: string, password: string): Authenticator {
  return {
    mechanism: "PLAIN",
    initialResponse: (): Uint8Array => plainPayload(user, password),
    // Everything was said on the AUTH line; a further challenge gets an empty answer.
    onChallenge: (): Uint8Array => new Uint8Array(0),
  };
}
