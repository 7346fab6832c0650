/**
 * The on-disk format of a queue entry (documented for users in docs/QUEUE.md).
 *
 * An entry is two files under the queue directory:
 *
 * - `mail/ID`: one line of JSON (the {@linkcode QueueEnvelope}: sender, recipients, account,
 *   when it was queued), a line feed, then the mail exactly as it goes to the server (headers
 *   already rewritten, not dot-stuffed). Written once, never changed: a mail is in the queue
 *   exactly when this file exists.
 * - `state/ID`: one line of JSON (the {@linkcode QueueState}: attempts, next attempt, last
 *   error, recipients already done). Absent until the first attempt; replaced atomically.
 *
 * @module
 */

/** The version written in every envelope; an entry of another version is not touched. */
export const FORMAT_VERSION = 1;

/** How the account of a queued mail is found again when the queue is run. */
export interface QueueSelection {
  /** The configuration file given with `-C`, if any. */
  configFile?: string;
  /** The account name (`-a`, or the one chosen by the sender when queued). */
  account?: string;
  /** `--host`: an account made from the command line. */
  host?: string;
  /** Settings given as options when the mail was queued (`--port=2525`, …). */
  overrides?: { option: string; name: string; arg: string }[];
  /** `--env-file`. */
  envFile?: string;
  /** `--config-format`. */
  configFormat?: "msmtprc" | "toml";
}

/** DSN parameters (RFC 3461) of one recipient, as a relay client gave them. */
export interface QueueRecipientDsn {
  /** `NEVER` or conditions joined by `,`, for this recipient; absent = the mail's `notify`. */
  notify?: string;
  /** `ORCPT`: `TYPE;ADDRESS`, the address xtext-decoded (`rfc822;b@example.org`). */
  orcpt?: string;
}

/** DSN parameters of the mail (RFC 3461), as the account set them or a relay client gave them. */
export interface QueueDsn {
  /** `NEVER` or conditions joined by `,`, for every recipient without its own; null = none. */
  notify: string | null;
  /** `HDRS` or `FULL`; null = not sent. */
  ret: "HDRS" | "FULL" | null;
  /** `ENVID`, xtext-decoded; absent = not sent. */
  envid?: string;
  /** Per-recipient parameters by envelope recipient; a recipient not listed has none. */
  recipients?: Record<string, QueueRecipientDsn>;
  /**
   * The parameters came from a relay's client, not from the account: they are dropped
   * when the server does not offer DSN (an account's own are an error there, as in msmtp).
   */
  optional?: boolean;
}

/** The first line of `mail/ID`: who the mail is from and to, and how to send it. */
export interface QueueEnvelope {
  /** Always {@linkcode FORMAT_VERSION}. */
  v: number;
  /** The envelope sender; `""` is the null sender (bounces). */
  from: string;
  /** The envelope recipients, in order, at least one. */
  recipients: string[];
  /** The account to send through. */
  selection: QueueSelection;
  /** The account's name, for listings. */
  account: string;
  /** When the mail was queued, in milliseconds since the epoch. */
  queued: number;
  /** DSN parameters, when the account sets them or a relay client gave them. */
  dsn?: QueueDsn;
  /** True for a delivery status notification postie generated: it never bounces. */
  bounce?: boolean;
}

/** `state/ID`: what happened to the mail so far. */
export interface QueueState {
  /** Delivery attempts made (connections that reached the mail or failed trying). */
  attempts: number;
  /** When the mail is due again, in milliseconds since the epoch (0 = now). */
  next: number;
  /** The last failure, in one line (`451 4.3.0 try later`, `cannot connect to …`). */
  error?: string;
  /** Recipients that are finished: accepted by the server or bounced. */
  done: string[];
  /** The delay warning (`queue_warn`) was sent. */
  warned?: boolean;
}

/** The state of a mail never tried. */
export function initialState(): QueueState {
  return { attempts: 0, next: 0, done: [] };
}

/** Ids are `YYYYmmddTHHMMSS-` and 8 hex digits: sortable by time, safe as a file name. */
const ID_PATTERN = /^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$/;

/** Whether a string is a well-formed queue id (and so safe to use as a file name). */
export function isQueueId(text: string): boolean {
  return ID_PATTERN.test(text);
}

let sequence = 0;

/**
 * A new id for a mail queued at `now`: the second, then 6 hex digits of milliseconds and a
 * per-process sequence (so one process's mails sort in the order it queued them), then 2
 * random hex digits against collisions between processes.
 */
export function newQueueId(now: Date): string {
  const iso = now.toISOString(); // 2026-12-02T07:55:00.000Z
  const stamp = iso.slice(0, 19).replace(/[-:]/g, "");
  sequence = (sequence + 1) % 4096;
  const ordered = (now.getUTCMilliseconds() * 4096 + sequence).toString(16).padStart(6, "0");
  const random = crypto.getRandomValues(new Uint8Array(1))[0].toString(16).padStart(2, "0");
  return `${stamp}-${ordered}${random}`;
}

/** Why an entry's text could not be used. */
export class QueueFormatError extends Error {
  /** A message naming what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "QueueFormatError";
  }
}

/** The envelope line, with its line feed. */
export function encodeEnvelope(envelope: QueueEnvelope): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(envelope) + "\n");
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses an envelope line (without its line feed). Throws {@linkcode QueueFormatError}
 * when it is not an envelope of this version.
 */
export function decodeEnvelope(line: string): QueueEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new QueueFormatError("the envelope line is not JSON");
  }
  if (!isRecord(value)) throw new QueueFormatError("the envelope line is not an object");
  if (value.v !== FORMAT_VERSION) {
    throw new QueueFormatError(`unknown queue format version ${JSON.stringify(value.v)}`);
  }
  if (typeof value.from !== "string") throw new QueueFormatError("the sender is missing");
  if (!isStringArray(value.recipients) || value.recipients.length === 0) {
    throw new QueueFormatError("the recipients are missing");
  }
  if (typeof value.account !== "string") throw new QueueFormatError("the account is missing");
  if (!isRecord(value.selection)) throw new QueueFormatError("the account selection is missing");
  if (typeof value.queued !== "number" || !Number.isFinite(value.queued)) {
    throw new QueueFormatError("the queue time is missing");
  }
  if (value.dsn !== undefined) checkDsn(value.dsn);
  return value as unknown as QueueEnvelope;
}

const optionalString = (value: unknown): boolean =>
  value === undefined || typeof value === "string";

/**
 * The DSN fields must have their types: they become SMTP parameters and report fields.
 * Entries without `envid` or `recipients` (all entries of earlier versions) are fine.
 */
function checkDsn(dsn: unknown): void {
  const bad = (what: string) => new QueueFormatError(`the DSN parameters are malformed (${what})`);
  if (!isRecord(dsn)) throw bad("not an object");
  if (dsn.notify !== null && !optionalString(dsn.notify)) throw bad("notify");
  if (!optionalString(dsn.envid)) throw bad("envid");
  if (dsn.recipients === undefined) return;
  if (!isRecord(dsn.recipients)) throw bad("recipients");
  for (const one of Object.values(dsn.recipients)) {
    if (!isRecord(one) || !optionalString(one.notify) || !optionalString(one.orcpt)) {
      throw bad("recipients");
    }
  }
}

/** The state file's text. */
export function encodeState(state: QueueState): string {
  return JSON.stringify(state) + "\n";
}

/** Parses a state file. Throws {@linkcode QueueFormatError}. */
export function decodeState(text: string): QueueState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new QueueFormatError("the state file is not JSON");
  }
  if (
    !isRecord(value) || typeof value.attempts !== "number" || typeof value.next !== "number" ||
    !isStringArray(value.done)
  ) {
    throw new QueueFormatError("the state file is not a queue state");
  }
  return value as unknown as QueueState;
}
