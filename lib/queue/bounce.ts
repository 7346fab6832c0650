/**
 * Delivery status notifications (RFC 3464): the bounce a sender gets when a queued mail
 * cannot be delivered, and the optional delay warning.
 *
 * The report is `multipart/report; report-type=delivery-status` (RFC 6522) with three
 * parts: a human-readable explanation, the `message/delivery-status` fields (one group
 * per recipient), and the original headers as `text/rfc822-headers`, or the whole original
 * as `message/rfc822` when the sender asked for it (`RET=FULL`) and it is small. The structure is
 * fixed and small, so it is written here directly rather than through a MIME composer.
 *
 * Bounce-loop rules live with the caller: no notification is made for the null sender
 * (the sender of every notification), so a notification never bounces.
 *
 * @module
 */

import { formatDateHeader, newMsgidHex } from "../message/rewrite.ts";

/** One recipient in a notification. */
export interface BounceRecipient {
  address: string;
  /** RFC 3463 status, e.g. `5.1.1`. */
  status: string;
  /** The server's reply as `smtp; 550 5.1.1 …`, when there was one. */
  diagnostic?: string;
  /** The server that gave it, when known. */
  remote?: string;
  /**
   * The original recipient the sender gave with `ORCPT` (`rfc822;b@example.org`), reported
   * as `Original-Recipient` (RFC 3464 §2.3.1).
   */
  original?: string;
}

/** What a notification says. */
export interface BounceInput {
  /** `failed`: the mail was given up; `delayed`: a warning, it is still being retried. */
  action: "failed" | "delayed";
  /** The original envelope sender, the notification's recipient (never empty). */
  to: string;
  /** The host name for Reporting-MTA, From and Message-ID. */
  hostname: string;
  /** The queue id of the original mail. */
  queueId: string;
  /** When the original mail was queued. */
  arrival: Date;
  /** The recipients this notification is about. */
  recipients: BounceRecipient[];
  /** The original mail's header block, as stored. */
  originalHeaders: Uint8Array;
  /**
   * The whole original mail, to return instead of its headers (`RET=FULL`, RFC 3461 §4.3),
   * as `message/rfc822`.
   */
  originalMessage?: Uint8Array;
  /** Why, in a sentence (`the mail could not be delivered within 5 days`). */
  reason: string;
  /** Until when it is retried (`delayed` only). */
  retryUntil?: Date;
  /** The time of the notification; now by default. */
  now?: Date;
  /** The sender's `ENVID`, reported as `Original-Envelope-Id` (RFC 3464 §2.2.1). */
  envid?: string;
}

/** Printable ASCII only: DSN fields are ASCII and one line each (RFC 3464 §2.1). */
function field(text: string): string {
  return text.replace(/[\r\n\t]+/g, " ").replace(/[^\x20-\x7e]/g, "?").slice(0, 900);
}

/** An address as an `rfc822;` value: UTF-8 addresses are allowed as utf-8 type (RFC 6533). */
function addressType(address: string): string {
  return /^[\x20-\x7e]*$/.test(address) ? `rfc822; ${address}` : `utf-8; ${field(address)}`;
}

/** The original headers (or mail) with CRLF line ends, ending with one. */
function crlfHeaders(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(b);
  }
  if (out.length > 0 && out[out.length - 1] !== 0x0a) out.push(0x0d, 0x0a);
  return Uint8Array.from(out);
}

/**
 * Builds the notification: the whole mail, CRLF line ends, ready to queue with the null
 * sender.
 */
export function buildBounce(input: BounceInput): Uint8Array {
  const now = input.now ?? new Date();
  const host = field(input.hostname);
  const boundary = `=_postie_${newMsgidHex(host).slice(0, 24)}`;
  const failed = input.action === "failed";
  const subject = failed
    ? "Undelivered Mail Returned to Sender"
    : "Delayed Mail (still being retried)";
  const list = input.recipients.map((r) =>
    `<${field(r.address)}>: ${field(r.diagnostic?.replace(/^smtp; /, "") ?? r.status)}`
  );
  const explanation = failed
    ? [
      `This is the mail system at host ${host}.`,
      "",
      "I'm sorry to have to inform you that your message could not",
      "be delivered to one or more recipients. It's attached below.",
      "",
      `Reason: ${field(input.reason)}`,
      "",
      ...list,
    ]
    : [
      `This is the mail system at host ${host}.`,
      "",
      "####################################################################",
      "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
      "####################################################################",
      "",
      "Your message could not be delivered yet; it is still being retried",
      input.retryUntil ? `until ${formatDateHeader(input.retryUntil)}.` : "for a while.",
      "",
      `Reason: ${field(input.reason)}`,
      "",
      ...list,
    ];
  const perMessage = [
    ...(input.envid === undefined ? [] : [`Original-Envelope-Id: ${field(input.envid)}`]),
    `Reporting-MTA: dns; ${host}`,
    `X-Postie-Queue-ID: ${field(input.queueId)}`,
    `Arrival-Date: ${formatDateHeader(input.arrival)}`,
  ];
  const perRecipient = input.recipients.map((r) => {
    const lines = [
      ...(r.original === undefined ? [] : [`Original-Recipient: ${field(r.original)}`]),
      `Final-Recipient: ${addressType(r.address)}`,
      `Action: ${input.action}`,
      `Status: ${field(r.status)}`,
    ];
    if (r.remote) lines.push(`Remote-MTA: dns; ${field(r.remote)}`);
    if (r.diagnostic) lines.push(`Diagnostic-Code: ${field(r.diagnostic)}`);
    lines.push(`Last-Attempt-Date: ${formatDateHeader(now)}`);
    if (!failed && input.retryUntil) {
      lines.push(`Will-Retry-Until: ${formatDateHeader(input.retryUntil)}`);
    }
    return lines.join("\r\n");
  });
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${host}>`,
    `To: <${input.to.replace(/[\r\n<>]/g, "")}>`,
    `Subject: ${subject}`,
    `Date: ${formatDateHeader(now)}`,
    `Message-ID: <${newMsgidHex(host)}.bounce@${host}>`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status;`,
    `\tboundary="${boundary}"`,
    "Content-Transfer-Encoding: 8bit",
    "",
    "This is a MIME-encapsulated message.",
    "",
    `--${boundary}`,
    "Content-Description: Notification",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    ...explanation,
    "",
    `--${boundary}`,
    "Content-Description: Delivery report",
    "Content-Type: message/delivery-status",
    "",
    perMessage.join("\r\n"),
    "",
    perRecipient.join("\r\n\r\n"),
    "",
    `--${boundary}`,
    ...(input.originalMessage === undefined
      ? ["Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers"]
      : ["Content-Description: Undelivered Message", "Content-Type: message/rfc822"]),
    "Content-Transfer-Encoding: 8bit",
    "",
    "",
  ].join("\r\n");
  const tail = `\r\n--${boundary}--\r\n`;
  const encoder = new TextEncoder();
  const a = encoder.encode(head);
  const b = crlfHeaders(input.originalMessage ?? input.originalHeaders);
  const c = encoder.encode(tail);
  const out = new Uint8Array(a.length + b.length + c.length);
  out.set(a);
  out.set(b, a.length);
  out.set(c, a.length + b.length);
  return out;
}
