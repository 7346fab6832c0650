/**
 * Address extraction from mail headers, exactly as msmtp 1.8.23's header scanner does it:
 * one pass over the header block that finds the recipients of To/Cc/Bcc (or of the first
 * Resent- block), the first From address, and whether Date and Message-ID exist.
 *
 * The scanner is a port of msmtp's character state machine, quirks included, because the
 * recipients a user gets must be the ones msmtp would give: `joe@x.org Joe` yields `Joe`,
 * `From: a@x, b@x` with `-t` makes `b@x` a recipient, a folded list without a comma keeps only
 * the last address of the fold.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";

/**
 * An address that must not reach the SMTP envelope: it holds a control character.
 * msmtp replaces such characters by `_`; postie refuses the mail instead (a deliberate
 * difference, so nothing can be smuggled into an SMTP command).
 *
 * @example Usage
 * ```ts
 * import { AddressError } from "./addresses.ts";
 * const e = new AddressError("bad", 65);
 * console.log(e.exitCode); // 65
 * ```
 */
export class AddressError extends PostieError {
  /** An address error with its message and exit code (EX_DATAERR unless given). */
  constructor(message: string, exitCode: ExitCode = ExitCode.DATAERR) {
    super(message, exitCode);
    this.name = "AddressError";
  }
}

/** What one scan of a header block found. */
export interface HeaderScan {
  /** Recipients of To/Cc/Bcc, or of the first Resent- block when one exists (only with `recipients`). */
  recipients: string[];
  /**
   * The first address of the first From header that has one; `""` when a From header at the
   * very end of the input had none (msmtp then uses the null sender); `null` without a From.
   */
  from: string | null;
  /** A `Date:` header exists (case-insensitive name, colon right after it). */
  hasDate: boolean;
  /** A `Message-ID:` header exists. */
  hasMsgid: boolean;
}

/** What {@linkcode scanHeaders} looks for. */
export interface ScanOptions {
  /** Collect recipients from To/Cc/Bcc and Resent-To/Cc/Bcc (`-t`). */
  recipients: boolean;
  /** Look for the From address and Date/Message-ID (true for the mail, false for argv). */
  fromAndFlags: boolean;
  /** Where the text came from, for error messages. */
  origin?: string;
  /** Exit code for an address with a control character. */
  errorExitCode?: ExitCode;
  /**
   * The block was followed by the empty line that ends the headers (as opposed to the end of
   * the input). It matters: `From:` with no address right before the end of the input gives
   * the empty sender in msmtp, before an empty line it gives no From at all.
   */
  terminated?: boolean;
}

// States of msmtp's scanner (msmtp.c, msmtp_read_headers), same meaning, same transitions.
const LINESTART_FRESH = 0;
const LINESTART_AFTER_ADDRHDR = 1;
const OTHER_HDR = 2;
const DATE1 = 3;
const MSGID1 = 7;
const FROM1 = 17;
const FROM2 = 18;
const FROM3 = 19;
const TO = 20;
const CC = 21;
const BCC1 = 22;
const BCC2 = 23;
const ADDRHDR_ALMOST = 24;
const RESENT = 25;
const ADDRHDR_DEFAULT = 26;
const ADDRHDR_DQUOTE = 27;
const ADDRHDR_BRACKETS_START = 28;
const ADDRHDR_IN_BRACKETS = 29;
const ADDRHDR_PARENTH_START = 30;
const ADDRHDR_IN_PARENTH = 31;
const ADDRHDR_IN_ADDRESS = 32;
const ADDRHDR_BACKQUOTE = 33;
const HEADERS_END = 34;

// "Date:" is matched by DATE1..DATE4 (3..6), "Message-ID:" by MSGID1..MSGID10 (7..16).
const DATE_WORD = "date";
const MSGID_WORD = "message-id";

const NL = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

function isBlank(c: number): boolean {
  return c === SP || c === TAB;
}

/** Decodes an address's bytes; invalid UTF-8 becomes U+FFFD instead of failing. */
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Scans a header block (or a synthetic `To:` header built from an argument) the way msmtp
 * does. CRs are ignored, as msmtp ignores them; the scan stops at the first empty line.
 *
 * @example Usage
 * ```ts
 * import { scanHeaders } from "./addresses.ts";
 * const block = new TextEncoder().encode("To: a@x.org, B <b@x.org>\nDate: x\n");
 * const scan = scanHeaders(block, { recipients: true, fromAndFlags: true });
 * console.log(scan.recipients, scan.hasDate); // ["a@x.org", "b@x.org"] true
 * ```
 */
export function scanHeaders(input: Uint8Array, options: ScanOptions): HeaderScan {
  const wantRcpt = options.recipients;
  const wantFrom = options.fromAndFlags;
  const origin = options.origin ?? "the mail headers";
  const errorExitCode = options.errorExitCode ?? ExitCode.DATAERR;

  let state = LINESTART_FRESH;
  let oldstate = LINESTART_FRESH;
  let backquoteSave = LINESTART_FRESH;
  let parenDepth = 0;
  let parenSave = LINESTART_FRESH;
  let foldedSave = LINESTART_FRESH;
  let fromHdr = -1; // -1 before, 0 inside, 1 after the first From: with an address
  let resentIndex = -1;
  let resentBlock = -1; // -1 before, 0 inside, 1 after the first Resent- block
  let wordIndex = 0; // position inside "date" / "message-id" while matching them
  let current: number[] | null = null;
  let forget = false;
  let finish = false;

  let from: string | null = null;
  let hasDate = false;
  let hasMsgid = false;
  const normal: string[] = [];
  const resent: string[] = [];

  const finishRecipient = (): void => {
    const address = toAddress(current ?? [], origin, errorExitCode);
    if (fromHdr === 0) {
      from = address;
      fromHdr = 1;
    } else if (wantRcpt && resentBlock === 0) {
      resent.push(address);
    } else if (wantRcpt) {
      normal.push(address);
    }
    current = null;
  };

  // The dispatch at the start of a header line, shared by both line-start states.
  const lineStart = (c: number, afterAddrHdr: boolean): number => {
    const l = lower(c);
    if (wantFrom && l === 0x64 /* d */) {
      wordIndex = 1;
      return DATE1;
    }
    if (wantFrom && l === 0x6d /* m */) {
      wordIndex = 1;
      return MSGID1;
    }
    if (wantFrom && fromHdr < 0 && l === 0x66 /* f */) return FROM1;
    if (wantRcpt && l === 0x74 /* t */) return TO;
    if (wantRcpt && l === 0x63 /* c */) return CC;
    if (wantRcpt && l === 0x62 /* b */) return BCC1;
    if ((afterAddrHdr ? wantRcpt : wantFrom || wantRcpt) && resentBlock <= 0 && l === 0x72) {
      resentIndex = 0;
      return RESENT;
    }
    if (c === NL) return HEADERS_END;
    return OTHER_HDR;
  };

  // Any character that breaks a header-name match: newline starts over, the rest is "other".
  const mismatch = (c: number): number => (c === NL ? LINESTART_FRESH : OTHER_HDR);

  // Resent- blocks end at the first header that is not a Resent- one.
  const endResentBlock = (): void => {
    if (resentBlock === 0 && resentIndex !== 6) resentBlock = 1;
  };

  const end = input.length + (options.terminated ? 1 : 0);
  for (let i = 0; i <= end; i++) {
    const eof = i === end;
    const c = eof ? -1 : i < input.length ? input[i] : NL;
    if (c === CR) continue;
    oldstate = state;
    if (eof) {
      state = HEADERS_END;
      if (current) finish = true;
    } else {
      switch (state) {
        case LINESTART_FRESH:
          parenDepth = 0;
          resentIndex = -1;
          state = lineStart(c, false);
          break;

        case LINESTART_AFTER_ADDRHDR:
          resentIndex = -1;
          if (!isBlank(c)) {
            if (current) finish = true;
            else if (fromHdr === 0) fromHdr = -1; // the From: header just ended had no address
          }
          state = isBlank(c) ? foldedSave : lineStart(c, true);
          break;

        case OTHER_HDR:
          endResentBlock();
          if (c === NL) state = LINESTART_FRESH;
          break;

        case RESENT: {
          const l = lower(c);
          if (resentIndex < 5 && l === "resent".charCodeAt(resentIndex + 1)) {
            resentIndex++;
          } else if (resentIndex === 5 && c === 0x2d /* - */) {
            if (resentBlock === -1) resentBlock = 0;
            resentIndex++;
          } else if (resentIndex === 6 && l === 0x74) {
            state = TO;
          } else if (resentIndex === 6 && l === 0x63) {
            state = CC;
          } else if (resentIndex === 6 && l === 0x62) {
            state = BCC1;
          } else {
            // 1.8.23 does not treat Resent-From as a From header (1.8.26 does).
            state = mismatch(c);
          }
          break;
        }

        case DATE1:
          if (wordIndex < DATE_WORD.length && lower(c) === DATE_WORD.charCodeAt(wordIndex)) {
            wordIndex++;
          } else if (wordIndex === DATE_WORD.length && c === 0x3a) {
            hasDate = true;
            state = OTHER_HDR;
          } else {
            state = mismatch(c);
          }
          break;

        case MSGID1:
          if (wordIndex < MSGID_WORD.length && lower(c) === MSGID_WORD.charCodeAt(wordIndex)) {
            wordIndex++;
          } else if (wordIndex === MSGID_WORD.length && c === 0x3a) {
            hasMsgid = true;
            state = OTHER_HDR;
          } else {
            state = mismatch(c);
          }
          break;

        case FROM1:
          endResentBlock();
          state = lower(c) === 0x72 ? FROM2 : mismatch(c);
          break;

        case FROM2:
          state = lower(c) === 0x6f ? FROM3 : mismatch(c);
          break;

        case FROM3:
          if (lower(c) === 0x6d) {
            fromHdr = 0;
            state = ADDRHDR_ALMOST;
          } else {
            state = mismatch(c);
          }
          break;

        case TO:
          endResentBlock();
          state = lower(c) === 0x6f ? ADDRHDR_ALMOST : mismatch(c);
          break;

        case CC:
          endResentBlock();
          state = lower(c) === 0x63 ? ADDRHDR_ALMOST : mismatch(c);
          break;

        case BCC1:
          endResentBlock();
          state = lower(c) === 0x63 ? BCC2 : mismatch(c);
          break;

        case BCC2:
          state = lower(c) === 0x63 ? ADDRHDR_ALMOST : mismatch(c);
          break;

        case ADDRHDR_ALMOST:
          if (fromHdr === 0 && c !== 0x3a) fromHdr = -1;
          state = c === 0x3a ? ADDRHDR_DEFAULT : mismatch(c);
          break;

        case ADDRHDR_DEFAULT:
          if (c === NL) {
            if (current) finish = true;
            foldedSave = state;
            state = LINESTART_AFTER_ADDRHDR;
          } else if (c === 0x5c /* \ */) {
            backquoteSave = state;
            state = ADDRHDR_BACKQUOTE;
          } else if (c === 0x28 /* ( */) {
            parenSave = state;
            state = ADDRHDR_PARENTH_START;
          } else if (c === 0x22 /* " */) {
            if (current) forget = true;
            state = ADDRHDR_DQUOTE;
          } else if (c === 0x3c /* < */) {
            if (current) forget = true;
            state = ADDRHDR_BRACKETS_START;
          } else if (isBlank(c)) {
            // keep state
          } else if (c === 0x3a /* : group name */) {
            if (current) forget = true;
          } else if (c === 0x3b || c === 0x2c /* ; , */) {
            if (current) finish = true;
          } else {
            if (current) forget = true;
            state = ADDRHDR_IN_ADDRESS;
          }
          break;

        case ADDRHDR_DQUOTE:
          if (c === NL) {
            foldedSave = state;
            state = LINESTART_AFTER_ADDRHDR;
          } else if (c === 0x5c) {
            backquoteSave = state;
            state = ADDRHDR_BACKQUOTE;
          } else if (c === 0x22) {
            state = ADDRHDR_DEFAULT;
          }
          break;

        case ADDRHDR_BRACKETS_START:
          if (c === NL) {
            foldedSave = state;
            state = LINESTART_AFTER_ADDRHDR;
          } else if (c === 0x28) {
            parenSave = state;
            state = ADDRHDR_PARENTH_START;
          } else if (c === 0x3e /* > */) {
            state = ADDRHDR_DEFAULT;
          } else {
            state = ADDRHDR_IN_BRACKETS;
          }
          break;

        case ADDRHDR_IN_BRACKETS:
          if (c === NL) {
            foldedSave = state;
            state = LINESTART_AFTER_ADDRHDR;
          } else if (c === 0x5c) {
            backquoteSave = state;
            state = ADDRHDR_BACKQUOTE;
          } else if (c === 0x28) {
            parenSave = state;
            state = ADDRHDR_PARENTH_START;
          } else if (c === 0x3e) {
            finish = true;
            state = ADDRHDR_DEFAULT;
          }
          break;

        case ADDRHDR_PARENTH_START:
          if (c === NL) {
            foldedSave = state;
            state = LINESTART_AFTER_ADDRHDR;
          } else if (c === 0x29 /* ) */) {
            state = parenSave;
          } else {
            parenDepth++;
            state = ADDRHDR_IN_PARENTH;
          }
          break;

        case ADDRHDR_IN_PARENTH:
          if (c === NL) {
            foldedSave = state;
            state = LINESTART_AFTER_ADDRHDR;
          } else if (c === 0x5c) {
            backquoteSave = state;
            state = ADDRHDR_BACKQUOTE;
          } else if (c === 0x28) {
            state = ADDRHDR_PARENTH_START;
          } else if (c === 0x29) {
            parenDepth--;
            if (parenDepth === 0) state = parenSave;
          }
          break;

        case ADDRHDR_IN_ADDRESS:
          if (c === NL) {
            foldedSave = ADDRHDR_DEFAULT;
            state = LINESTART_AFTER_ADDRHDR;
          } else if (c === 0x5c) {
            backquoteSave = state;
            state = ADDRHDR_BACKQUOTE;
          } else if (c === 0x22) {
            forget = true;
            state = ADDRHDR_DQUOTE;
          } else if (c === 0x28) {
            parenSave = state;
            state = ADDRHDR_PARENTH_START;
          } else if (c === 0x3c) {
            forget = true;
            state = ADDRHDR_BRACKETS_START;
          } else if (isBlank(c)) {
            state = ADDRHDR_DEFAULT;
          } else if (c === 0x3a) {
            forget = true;
            state = ADDRHDR_DEFAULT;
          } else if (c === 0x2c || c === 0x3b) {
            finish = true;
            state = ADDRHDR_DEFAULT;
          }
          break;

        case ADDRHDR_BACKQUOTE:
          if (c === NL) {
            foldedSave = ADDRHDR_DEFAULT;
            state = LINESTART_AFTER_ADDRHDR;
          } else {
            state = backquoteSave;
          }
          break;
      }
    }

    if (forget) {
      current = null;
      forget = false;
    }
    if (finish) {
      // msmtp only finishes a started address; the guard keeps a malformed input harmless.
      if (current) finishRecipient();
      finish = false;
    }
    if (
      (state === ADDRHDR_IN_ADDRESS || state === ADDRHDR_IN_BRACKETS) &&
      oldstate !== ADDRHDR_PARENTH_START && oldstate !== ADDRHDR_IN_PARENTH &&
      oldstate !== LINESTART_AFTER_ADDRHDR
    ) {
      (current ??= []).push(c);
    }
    if (state === HEADERS_END) break;
  }

  // A From: header at the very end of the input without an address: msmtp's empty sender.
  if (fromHdr === 0) from = "";

  return {
    recipients: resentBlock >= 0 ? resent : normal,
    from,
    hasDate,
    hasMsgid,
  };
}

/**
 * Turns collected address bytes into a string: blanks become `_` as in msmtp, any other
 * control character is refused (msmtp would write `_` there too).
 */
function toAddress(bytes: number[], origin: string, exitCode: ExitCode): string {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === SP || b === TAB) {
      out[i] = 0x5f;
    } else if (b < 0x20 || b === 0x7f) {
      const shown = bytes.map((x) => (x < 0x20 || x === 0x7f ? 0x3f : x));
      throw new AddressError(
        `address ${JSON.stringify(decoder.decode(new Uint8Array(shown)))} in ${origin} ` +
          `contains a control character (0x${b.toString(16).padStart(2, "0")}); ` +
          `refusing to put it into the SMTP envelope`,
        exitCode,
      );
    } else {
      out[i] = b;
    }
  }
  return decodeAddressBytes(out);
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes an address's bytes as UTF-8, keeping each byte that is not part of valid UTF-8 as
 * a lone surrogate U+DC80–U+DCFF (a "surrogate escape"). The SMTP session writes such a
 * surrogate back as the byte it stands for, so an address with invalid UTF-8 reaches the
 * server byte for byte, as msmtp sends it, instead of with U+FFFD in its place.
 *
 * @example Usage
 * ```ts
 * import { decodeAddressBytes } from "./addresses.ts";
 * console.log(decodeAddressBytes(Uint8Array.of(0x61, 0xff)) === "a\udcff"); // true
 * ```
 */
export function decodeAddressBytes(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    // some bytes are not UTF-8: decode sequence by sequence below
  }
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const length = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? (b <= 0xef ? 3 : 0) : b >= 0xc2 ? 2 : 0;
    if (length > 0 && i + length <= bytes.length) {
      try {
        out += strictDecoder.decode(bytes.subarray(i, i + length));
        i += length;
        continue;
      } catch {
        // not a valid sequence: escape its first byte
      }
    }
    out += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return out;
}

/**
 * Whether a string contains a character that must never reach an SMTP command line:
 * CR, LF, NUL or any other C0 control character, or DEL.
 *
 * @example Usage
 * ```ts
 * import { hasControlChar } from "./addresses.ts";
 * console.log(hasControlChar("a@b\r\nRCPT TO:<x>")); // true
 * ```
 */
export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Refuses an envelope address with CR, LF or another control character (a deliberate
 * difference from msmtp, which passes `-f` through unchanged). Use it for `-f`, config `from`
 * and any other address that does not come through {@linkcode scanHeaders}.
 *
 * @example Usage
 * ```ts
 * import { assertEnvelopeAddress } from "./addresses.ts";
 * assertEnvelopeAddress("joe@example.org", "envelope-from address"); // fine
 * ```
 */
export function assertEnvelopeAddress(
  address: string,
  what: string,
  exitCode: ExitCode = ExitCode.USAGE,
): void {
  if (hasControlChar(address)) {
    throw new AddressError(
      `${what} ${JSON.stringify(address)} contains a control character ` +
        `(CR, LF or similar); refusing to put it into the SMTP envelope`,
      exitCode,
    );
  }
}

const encoder = new TextEncoder();

/**
 * Parses one command-line recipient word as an address list, as msmtp does (it writes the
 * word as a `To:` header and scans it): `'"Joe X" <joe@example.org>, ann@example.org'` gives
 * two recipients, `root` gives `root`. A word with a control character is refused (msmtp would
 * let a newline start a new header line).
 *
 * @example Usage
 * ```ts
 * import { parseRecipientArgument } from "./addresses.ts";
 * console.log(parseRecipientArgument('"Joe X" <joe@example.org>, ann@example.org'));
 * // ["joe@example.org", "ann@example.org"]
 * ```
 */
export function parseRecipientArgument(word: string): string[] {
  if (isPlainWord(word)) return [word];
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if ((c < 0x20 && c !== TAB) || c === 0x7f) {
      throw new AddressError(
        `recipient ${JSON.stringify(word)} contains a control character ` +
          `(CR, LF or similar); refusing to put it into the SMTP envelope`,
        ExitCode.USAGE,
      );
    }
  }
  return scanHeaders(encoder.encode(`To: ${word}\n\n`), {
    recipients: true,
    fromAndFlags: false,
    origin: "the command line",
    errorExitCode: ExitCode.USAGE,
  }).recipients;
}

/**
 * Whether the scanner would give `word` back unchanged as the one recipient of `To: word`:
 * printable ASCII without blanks and without a character that means something in an address
 * list (`\ ( " < : , ;`), so no comment, quote, angle address, group or second address can
 * start. `>` and `)` are plain characters inside an address, for msmtp as here. Such words
 * (`user@example.org`, `root`) are nearly all recipients; the fast path spares each of them a
 * synthetic header and a run of the state machine (tests/unit/address_fast_path_test.ts
 * checks that both paths agree).
 */
function isPlainWord(word: string): boolean {
  // one regular expression rather than a loop over the characters: about 1 400 instructions
  // less per word (callgrind, 1 000 command-line recipients, with the loop below)
  return PLAIN_WORD.test(word);
}

/**
 * Printable ASCII without the space and the characters of an address list that
 * {@linkcode isPlainWord} leaves to the scanner, `\ ( " < : , ;`.
 */
const PLAIN_WORD = /^[!#-')-+\--9=-\[\]-~]+$/;

/**
 * Parses every command-line recipient word, in order.
 *
 * @example Usage
 * ```ts
 * import { parseRecipientArguments } from "./addresses.ts";
 * console.log(parseRecipientArguments(["a@x.org", "b@x.org, c@x.org"])); // 3 addresses
 * ```
 */
export function parseRecipientArguments(words: readonly string[]): string[] {
  // a loop rather than flatMap: no array per plain word
  const recipients: string[] = [];
  for (const word of words) {
    if (isPlainWord(word)) recipients.push(word);
    else recipients.push(...parseRecipientArgument(word));
  }
  return recipients;
}
