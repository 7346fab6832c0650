/**
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding, the
 * mechanisms `auth on` prefers. The password never leaves the client; the server must
 * prove that it knows it too, or the exchange fails.
 *
 * @module
 */

import { ExitCode } from "../../exit.ts";
import { SmtpError, SmtpProtocolError } from "../errors.ts";
import type { Authenticator } from "../session.ts";
import { fromBase64, fromUtf8, toBase64, utf8 } from "./bytes.ts";
import { saslprep } from "./saslprep.ts";

/** The SCRAM variants postie speaks. */
export type ScramMechanism = "SCRAM-SHA-1" | "SCRAM-SHA-256";

/** Options of {@linkcode createScram}. */
export interface ScramOptions {
  /** The client nonce; random (18 bytes, base64) unless given. Tests fix it. */
  clientNonce?: string;
}

/** Refuse iteration counts that would make PBKDF2 run for minutes on a hostile server. */
const MAX_ITERATIONS = 10_000_000;
/** `c=` of the final message: base64 of the GS2 header `n,,` (no binding, no authzid). */
const GS2_HEADER = "n,,";

const HASHES: Record<ScramMechanism, { name: string; bits: number }> = {
  "SCRAM-SHA-1": { name: "SHA-1", bits: 160 },
  "SCRAM-SHA-256": { name: "SHA-256", bits: 256 },
};

/**
 * A SCRAM authenticator. `AUTH SCRAM-…` is sent without an initial response, as msmtp
 * does; the client-first message answers the empty 334, the client-final message the
 * server-first, and the server-final (`v=`) is verified and answered with an empty line.
 *
 * @throws {SmtpError} when the user name or password cannot be prepared with SASLprep
 * (EX_SOFTWARE, as msmtp's GNU SASL failure).
 *
 * @example Usage
 * ```ts
 * import { createScram } from "./scram.ts";
 * const auth = createScram("SCRAM-SHA-256", "user", "pencil");
 * console.log(auth.mechanism); // "SCRAM-SHA-256"
 * ```
 */
export function createScram(
  mechanism: ScramMechanism,
  user: string,
  password: string,
  options: ScramOptions = {},
): Authenticator {
  const preparedUser = saslprep(user);
  const preparedPassword = saslprep(password);
  if (preparedUser === null || preparedPassword === null) {
    throw new SmtpError(
      `authentication method ${mechanism}: SASLprep failed for the ${
        preparedUser === null ? "user name" : "password"
      }`,
      ExitCode.SOFTWARE,
      { stage: "auth" },
    );
  }
  const hash = HASHES[mechanism];
  const clientNonce = options.clientNonce ?? randomNonce();
  const clientFirstBare = `n=${saslName(preparedUser)},r=${clientNonce}`;
  let step = 0;
  let expectedServerSignature: Uint8Array | undefined;
  let verified = false;

  const fail = (detail: string): SmtpError =>
    new SmtpError(`authentication failed (method ${mechanism})`, ExitCode.NOPERM, {
      stage: "auth",
      details: [detail],
    });
  const invalid = (): SmtpProtocolError =>
    new SmtpProtocolError(`authentication method ${mechanism}: server sent invalid challenge`, {
      stage: "auth",
    });

  return {
    mechanism,
    initialResponse: (): null => null,
    async onChallenge(challenge: Uint8Array): Promise<Uint8Array> {
      step++;
      if (step === 1) return utf8(GS2_HEADER + clientFirstBare);
      if (step === 2) {
        const serverFirst = fromUtf8(challenge);
        const attrs = parseAttributes(serverFirst);
        if (attrs === null) throw invalid();
        if (attrs.has("e")) throw fail(`server error: ${attrs.get("e")}`);
        if (attrs.has("m")) throw invalid();
        const nonce = attrs.get("r");
        const salt = attrs.get("s");
        const iterations = Number(attrs.get("i"));
        if (
          nonce === undefined || salt === undefined || !/^[1-9][0-9]*$/.test(attrs.get("i") ?? "")
        ) {
          throw invalid();
        }
        if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
          throw fail("the server nonce does not extend the client nonce");
        }
        if (iterations > MAX_ITERATIONS) {
          throw fail(`the server asks for ${iterations} iterations, more than ${MAX_ITERATIONS}`);
        }
        let saltBytes: Uint8Array;
        try {
          saltBytes = fromBase64(salt);
        } catch {
          throw invalid();
        }
        const withoutProof = `c=${toBase64(utf8(GS2_HEADER))},r=${nonce}`;
        const authMessage = utf8(`${clientFirstBare},${serverFirst},${withoutProof}`);
        const keys = await scramKeys(hash, utf8(preparedPassword), saltBytes, iterations);
        const clientSignature = await hmac(hash.name, keys.storedKey, authMessage);
        const proof = keys.clientKey.map((b, i) => b ^ clientSignature[i]);
        expectedServerSignature = await hmac(hash.name, keys.serverKey, authMessage);
        return utf8(`${withoutProof},p=${toBase64(proof)}`);
      }
      if (step === 3) {
        const attrs = parseAttributes(fromUtf8(challenge));
        if (attrs === null) throw invalid();
        if (attrs.has("e")) throw fail(`server error: ${attrs.get("e")}`);
        const v = attrs.get("v");
        if (v === undefined) throw invalid();
        if (expectedServerSignature === undefined || !sameBytes(v, expectedServerSignature)) {
          throw fail("the server signature is wrong: the server does not know the password");
        }
        verified = true;
        return new Uint8Array(0);
      }
      return new Uint8Array(0);
    },
    onSuccess(): void {
      if (!verified) throw fail("the server did not prove that it knows the password");
    },
  };
}

/** The keys derived from the password (RFC 5802 §3). */
interface ScramKeys {
  clientKey: Uint8Array;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

async function scramKeys(
  hash: { name: string; bits: number },
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramKeys> {
  const base = await crypto.subtle.importKey("raw", password as BufferSource, "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: hash.name, salt: salt as BufferSource, iterations },
      base,
      hash.bits,
    ),
  );
  const clientKey = await hmac(hash.name, salted, utf8("Client Key"));
  const storedKey = new Uint8Array(
    await crypto.subtle.digest(hash.name, clientKey as BufferSource),
  );
  const serverKey = await hmac(hash.name, salted, utf8("Server Key"));
  return { clientKey, storedKey, serverKey };
}

async function hmac(hash: string, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data as BufferSource));
}

/** `a=…,b=…` into a map; null when an attribute is malformed or repeated. */
function parseAttributes(text: string): Map<string, string> | null {
  const attrs = new Map<string, string>();
  for (const part of text.split(",")) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m || attrs.has(m[1])) return null;
    attrs.set(m[1], m[2]);
  }
  return attrs;
}

/** RFC 5802 `saslname`: `=` and `,` are escaped. */
function saslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

function randomNonce(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(18)));
}

/** Compares a base64 signature with bytes in time independent of where they differ. */
function sameBytes(base64: string, expected: Uint8Array): boolean {
  let actual: Uint8Array;
  try {
    actual = fromBase64(base64);
  } catch {
    return false;
  }
  if (actual.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff |= actual[i] ^ expected[i];
  return diff === 0;
}
