/**
 * Delivery on this host: local recipients (no domain, or a domain of `local_domains`) go
 * through the system aliases file, then into the user's mbox in the mail spool
 * (`/var/mail/USER`) or into a Maildir (`maildir`). Addresses an alias forwards to are
 * handed back for remote delivery.
 *
 * @module
 */

import { ConfigError, PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { loadLocalAliases, type LocalAliasTable, resolveLocal } from "./aliases.ts";
import { deliverToMaildir } from "./maildir.ts";
import { appendToMbox, type FileOwner } from "./mbox.ts";
import { groupId, isSafeUserName, type LocalUser, lookupUser } from "./users.ts";

/** The default system aliases file; a missing one means no aliases. */
export const DEFAULT_LOCAL_ALIASES = "/etc/aliases";
/** The default mail spool. */
export const DEFAULT_MAIL_SPOOL = "/var/mail";

/** Where and how local mail is stored. */
export interface LocalOptions {
  /** The aliases file; undefined or null for `/etc/aliases` if it exists. */
  aliasesFile?: string | null;
  /** The mbox directory; `/var/mail` by default. */
  mailSpool?: string | null;
  /**
   * A Maildir instead of the mbox: `%u` is the user name, a leading `~/` the user's home.
   * Without either every local user's mail goes into this one Maildir.
   */
  maildir?: string | null;
  /** The passwd file users are looked up in (tests). */
  passwdFile?: string;
  /**
   * Mailboxes and files already written for this mail (by an earlier call), so that no one
   * gets it twice; the call adds the ones it writes.
   */
  done?: Set<string>;
}

/** How one local mailbox or file fared. */
export interface LocalOutcome {
  /** The user, or the file an alias names. */
  recipient: string;
  /** Delivered; failed for now (kept, tried again); failed for good (no such user). */
  status: "delivered" | "temporary" | "permanent";
  /** Where it went: `mbox /var/mail/root`, `maildir /home/a/Maildir`. */
  via?: string;
  /** Why it failed, one line. */
  message?: string;
  /** The sysexits code of a failure; 0 when delivered. */
  exitCode: ExitCode;
}

/** The result of {@linkcode deliverLocal}. */
export interface LocalResult {
  /** Outcomes of the local mailboxes and files (per alias target). */
  outcomes: LocalOutcome[];
  /** Addresses aliases forwarded to, for remote delivery. */
  forwards: string[];
}

/**
 * The local part of a recipient delivered on this host, or undefined when the recipient
 * is remote: no `@`, or a domain in `localDomains` (compared without case).
 *
 * @example Usage
 * ```ts
 * import { localPart } from "./deliver.ts";
 * console.log(localPart("root", []), localPart("Ops@Host.lan", ["host.lan"]), localPart("a@b.org", []));
 * // "root" "Ops" undefined
 * ```
 */
export function localPart(recipient: string, localDomains: readonly string[]): string | undefined {
  const at = recipient.lastIndexOf("@");
  if (at < 0) return recipient;
  const domain = recipient.slice(at + 1).toLowerCase().replace(/\.$/, "");
  return localDomains.some((d) => d.toLowerCase() === domain) ? recipient.slice(0, at) : undefined;
}

function expandPath(template: string, user: LocalUser | undefined, name: string): string {
  let path = template.replaceAll("%u", name);
  if (path.startsWith("~/")) {
    if (user === undefined) throw new Error("no home directory");
    path = user.home + path.slice(1);
  }
  return path;
}

/**
 * Delivers a mail to local recipients. `openData` gives a fresh DATA payload (CRLF,
 * dot-stuffed) for each mailbox. Never throws for a recipient's failure: each ends in an
 * outcome; a broken aliases file fails every recipient with EX_CONFIG.
 *
 * @example Usage
 * ```ts
 * import { deliverLocal } from "./deliver.ts";
 * const spool = await Deno.makeTempDir();
 * const mail = new TextEncoder().encode("Subject: cron\r\n\r\ndone\r\n");
 * const result = await deliverLocal(["root"], "cron@host", () => ReadableStream.from([mail]), {
 *   mailSpool: spool, aliasesFile: "/nonexistent/aliases",
 * });
 * console.log(result.outcomes[0].status, result.outcomes[0].via === `mbox ${spool}/root`);
 * // "delivered" true
 * await Deno.remove(spool, { recursive: true });
 * ```
 */
export async function deliverLocal(
  names: readonly string[],
  sender: string,
  openData: () => ReadableStream<Uint8Array>,
  options: LocalOptions = {},
): Promise<LocalResult> {
  const outcomes: LocalOutcome[] = [];
  const forwards: string[] = [];
  let table: LocalAliasTable | undefined;
  try {
    table = await loadLocalAliases(
      options.aliasesFile ?? DEFAULT_LOCAL_ALIASES,
      options.aliasesFile === undefined || options.aliasesFile === null,
    );
  } catch (e) {
    if (!(e instanceof PostieError)) throw e;
    return {
      outcomes: names.map((recipient) => ({
        recipient,
        status: "temporary",
        message: e.message,
        exitCode: e.exitCode,
      })),
      forwards,
    };
  }
  const mailGid = await groupId("mail");
  const done = options.done ?? new Set<string>();
  for (const name of names) {
    let targets;
    try {
      targets = resolveLocal(name, table);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // an aliases file being edited is fixed soon: keep the mail
      outcomes.push({
        recipient: name,
        status: "temporary",
        message: e.message,
        exitCode: e.exitCode,
      });
      continue;
    }
    for (const target of targets) {
      if (target.kind === "remote") {
        if (!forwards.includes(target.address)) forwards.push(target.address);
        continue;
      }
      const key = `${target.kind}:${
        target.kind === "file" ? target.path : target.user.toLowerCase()
      }`;
      if (done.has(key)) continue;
      done.add(key);
      const recipient = target.kind === "file" ? target.path : target.user;
      outcomes.push(await deliverOne(target, recipient, sender, openData, options, mailGid));
    }
  }
  return { outcomes, forwards };
}

async function deliverOne(
  target: { kind: "mailbox"; user: string } | { kind: "file"; path: string },
  recipient: string,
  sender: string,
  openData: () => ReadableStream<Uint8Array>,
  options: LocalOptions,
  mailGid: number | undefined,
): Promise<LocalOutcome> {
  try {
    if (target.kind === "file") {
      await appendToMbox({ path: target.path, sender, data: openData() });
      return { recipient, status: "delivered", via: `mbox ${target.path}`, exitCode: ExitCode.OK };
    }
    const name = target.user.toLowerCase();
    if (!isSafeUserName(name)) {
      return {
        recipient,
        status: "permanent",
        message: `invalid local user name ${target.user}`,
        exitCode: ExitCode.NOUSER,
      };
    }
    const user = await lookupUser(name, options.passwdFile);
    const template = options.maildir ?? null;
    const perUser = template !== null && (template.includes("%u") || template.startsWith("~/"));
    if (user === undefined && (template === null || perUser)) {
      return {
        recipient,
        status: "permanent",
        message: `unknown local user ${name}`,
        exitCode: ExitCode.NOUSER,
      };
    }
    const owner: FileOwner | undefined = user && { uid: user.uid, gid: mailGid ?? user.gid };
    if (template !== null) {
      const dir = expandPath(template, user, name);
      await deliverToMaildir({
        dir,
        sender,
        data: openData(),
        ...(perUser && user ? { owner: { uid: user.uid, gid: user.gid } } : {}),
      });
      return { recipient, status: "delivered", via: `maildir ${dir}`, exitCode: ExitCode.OK };
    }
    const path = `${options.mailSpool ?? DEFAULT_MAIL_SPOOL}/${name}`;
    await appendToMbox({ path, sender, data: openData(), ...(owner ? { owner } : {}) });
    return { recipient, status: "delivered", via: `mbox ${path}`, exitCode: ExitCode.OK };
  } catch (e) {
    if (!(e instanceof PostieError)) throw e;
    return { recipient, status: "temporary", message: e.message, exitCode: ExitCode.TEMPFAIL };
  }
}
