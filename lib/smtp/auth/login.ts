/**
 * SASL LOGIN (draft-murchison-sasl-login): the user after the first 334, the password
 * after the second, whatever the prompts say (servers word them differently).
 *
 * @module
 */

import type { Authenticator } from "../session.ts";
import { utf8 } from "./bytes.ts";

/**
 * A LOGIN authenticator.
 *
 * @example Usage
 * ```ts
 * import { createLogin } from "./login.ts";
 * const auth = createLogin("alice", "secret");
 * console.log(auth.initialResponse()); // null
 * ```
 */
export function createLogin(user: string, password: string): Authenticator {
  let step = 0;
  return {
    mechanism: "LOGIN",
    initialResponse: (): null => null,
    onChallenge: (): Uint8Array => {
      step++;
      if (step === 1) return utf8(user);
      if (step === 2) return utf8(password);
      return new Uint8Array(0);
    },
  };
}
