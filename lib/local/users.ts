/**
 * Local user accounts, from the passwd file: who may receive mail on this host, and who
 * owns the mailbox created for them.
 *
 * @module
 */

/** A passwd entry, as far as delivery needs it. */
export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * Whether a name may be used as a file name in the mail spool: no `/`, not `.` or `..`, no
 * blanks or control characters, as Unix user names are.
 *
 * @example Usage
 * ```ts
 * import { isSafeUserName } from "./users.ts";
 * console.log(isSafeUserName("root"), isSafeUserName("../etc/passwd")); // true false
 * ```
 */
export function isSafeUserName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(name) && name.length <= 64;
}

/**
 * Looks a user up in a passwd file (`/etc/passwd` by default); undefined when absent.
 *
 * @example Usage
 * ```ts
 * import { lookupUser } from "./users.ts";
 * console.log((await lookupUser("root"))?.uid); // 0
 * ```
 */
export async function lookupUser(
  name: string,
  passwdFile = "/etc/passwd",
): Promise<LocalUser | undefined> {
  const text = await Deno.readTextFile(passwdFile);
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 7 || fields[0] !== name) continue;
    return { name, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] };
  }
  return undefined;
}

/**
 * The id of a group in a group file (`/etc/group` by default); undefined when absent.
 *
 * @example Usage
 * ```ts
 * import { groupId } from "./users.ts";
 * console.log(await groupId("root")); // 0
 * ```
 */
export async function groupId(name: string, groupFile = "/etc/group"): Promise<number | undefined> {
  try {
    for (const line of (await Deno.readTextFile(groupFile)).split("\n")) {
      const fields = line.split(":");
      if (fields[0] === name && fields.length >= 3) return Number(fields[2]);
    }
  } catch {
    // no group file: no mail group
  }
  return undefined;
}
