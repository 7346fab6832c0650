/**
 * The relay's users file (`listen_users`): one `NAME:HASH` line per user, `#` comments
 * and blank lines ignored. Only hashed passwords are accepted, in the form
 *
 * ```
 * alice:$scrypt$ln=14,r=8,p=1$SALT$HASH
 * ```
 *
 * (scrypt, RFC 7914, with cost 2^ln, block size r and parallelism p; SALT and HASH in
 * unpadded base64). `postie --hash-password` prints such a hash. A line whose password
 * is not a hash is refused with the file and line, so a plain password never works.
 *
 * node:crypto is loaded by the caller's `import()` of this module, only in relay mode.
 *
 * @module
 */

import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from "node:crypto";
import { ConfigError } from "../errors.ts";

/** The users of a users file, by name. */
export type Users = ReadonlyMap<string, string>;

const SCRYPT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function scrypt(
  password: string,
  salt: Uint8Array,
  length: number,
  ln: number,
  r: number,
  p: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // maxmem above the 32 MiB default so that ln up to 16 with r = 8 is computable
    scryptCallback(
      password,
      salt,
      length,
      { N: 2 ** ln, r, p, maxmem: 256 * 1024 * 1024 },
      (error, key) => {
        if (error) reject(error);
        else resolve(new Uint8Array(key));
      },
    );
  });
}

function b64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/=+$/, "");
}

function unb64(text: string): Uint8Array {
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/**
 * Hashes a password for the users file (scrypt, cost 2^14, r 8, p 1, 16-byte salt).
 *
 * @example Usage
 * ```ts
 * import { hashPassword, verifyPassword } from "./users.ts";
 * const hash = await hashPassword("s3cret");
 * console.log(hash.startsWith("$scrypt$ln=14,r=8,p=1$"), await verifyPassword(hash, "s3cret"));
 * // true true
 * ```
 */
export async function hashPassword(password: string, ln = 14): Promise<string> {
  const salt = new Uint8Array(randomBytes(16));
  const key = await scrypt(password, salt, 32, ln, 8, 1);
  return `$scrypt$ln=${ln},r=8,p=1$${b64(salt)}$${b64(key)}`;
}

/** Whether a string is a hash this module can check. */
export function isPasswordHash(text: string): boolean {
  const m = SCRYPT.exec(text);
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 20 && Number(m[2]) >= 1 &&
    Number(m[3]) >= 1;
}

/**
 * Checks a password against a hash in constant time (for a given hash).
 *
 * @example Usage
 * ```ts
 * import { hashPassword, verifyPassword } from "./users.ts";
 * console.log(await verifyPassword(await hashPassword("a", 4), "b")); // false
 * ```
 */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const m = SCRYPT.exec(hash);
  if (m === null) return false;
  const expected = unb64(m[5]);
  const key = await scrypt(
    password,
    unb64(m[4]),
    expected.length,
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * Parses users-file text. Throws {@linkcode ConfigError} (with file and line) for a line
 * without `:`, an empty name, a repeated name, or a password that is not a hash.
 *
 * @example Usage
 * ```ts
 * import { parseUsers } from "./users.ts";
 * const users = parseUsers("# relay users\nalice:$scrypt$ln=14,r=8,p=1$c2FsdA$aGFzaA\n", "users");
 * console.log([...users.keys()]); // ["alice"]
 * ```
 */
export function parseUsers(text: string, file: string): Users {
  const users = new Map<string, string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const at = { file, line: i + 1 };
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ConfigError("expected NAME:HASH", at);
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (users.has(name)) throw new ConfigError(`user ${name} is listed twice`, at);
    if (!isPasswordHash(hash)) {
      throw new ConfigError(
        `the password of user ${name} is not a $scrypt$ hash; plain passwords are refused ` +
          "(make one with postie --hash-password)",
        at,
      );
    }
    users.set(name, hash);
  });
  return users;
}

/** Reads and parses a users file; a missing or unreadable file is a {@linkcode ConfigError}. */
export async function loadUsers(file: string): Promise<Users> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new ConfigError(`cannot read users file: ${e instanceof Error ? e.message : e}`, {
      file,
    });
  }
  return parseUsers(text, file);
}
