/**
 * SASL EXTERNAL (RFC 4422 appendix A): the credentials are the TLS client certificate;
 * the client only names the identity to act as, which may be empty.
 *
 * @module
 */

import type { Authenticator } from "../session.ts";
import { utf8 } from "./bytes.ts";

/**
 * An EXTERNAL authenticator: `AUTH EXTERNAL`, then the user (or an empty line) after
 * the 334, as msmtp does.
 *
 * @example Usage
 * ```ts
 * import { createExternal } from "./external.ts";
 * console.log(createExternal(null).mechanism); // "EXTERNAL"
 * ```
 */
export function createExternal(user: string | null): Authenticator {
  let answered = false;
  return {
    mechanism: "EXTERNAL",
    initialResponse: (): null => null,
    onChallenge: (): Uint8Array => {
      if (answered) return new Uint8Array(0);
      answered = true;
      return utf8(user ?? "");
    },
  };
}
