/**
 * The sendmail-mode scenarios of the differential suite: each one runs msmtp and postie
 * with the same msmtprc, arguments and standard input against a fresh capture server, and
 * the two runs must agree on the SMTP dialogue, the DATA bytes, the exit code, the output
 * and the log line. Scenarios with `postieOnly` cover the deliberate differences: there
 * only postie runs, and its result must match the expectation given.
 */

import type { CaptureServerOptions } from "../../scripts/capture_server.ts";

/** The server a scenario talks to. */
export type ServerSpec =
  | CaptureServerOptions
  /** A port nothing listens on. */
  | "closed"
  /** No server at all (the host does not resolve, or nothing is sent). */
  | "none";

/** What postie alone must do, for the cases where it deliberately differs from msmtp. */
export interface PostieExpectation {
  /** The whole standard error, when given. */
  stderr?: string;
  /** The DATA of the one mail received (dot-unstuffed, Date and Message-ID normalised). */
  data?: string;
  /** The `RCPT TO` lines the server saw, in order. */
  rcpt?: string[];
  /** The number of SMTP sessions the server saw. */
  sessions?: number;
}

/** One scenario. */
export interface SendScenario {
  /** The behaviour, as a sentence: the test's name. */
  name: string;
  /**
   * Lines appended to the `account default` section, after `host`, `port`, `from
   * sender@example.com`; `$DIR` is the scenario's directory, `$PORT` the server's port. A later
   * line overrides an earlier one; an `account` line starts another account.
   */
  config?: string[];
  /** Arguments after `-C RCFILE`; `$PORT` is the server's port. */
  args: string[];
  /** Pass no `-C RCFILE` (for `--host` mode). */
  noRc?: boolean;
  /** Standard input (a string is UTF-8); defaults to a small mail. */
  stdin?: string | Uint8Array;
  /** The server; the default is the full-featured capture server. */
  server?: ServerSpec;
  /** Files to create in the scenario's directory before the run. */
  files?: Record<string, string>;
  /** The exit code both programs (or postie alone, with `postieOnly`) must give. */
  code: number;
  /** A regular expression the log line's time stamp must match (default: msmtp's `%b %d %H:%M:%S`). */
  logTime?: RegExp;
  /** Only postie runs; its result is checked against this. */
  postieOnly?: PostieExpectation;
  /** A known difference that is not fixed yet; the comment next to it names the difference. */
  ignore?: boolean;
}

/** A small mail with a Subject and a body. */
export const SIMPLE = "Subject: test\n\nbody\n";

/** msmtp's own test mail with To, Cc over two lines and Bcc (its transcript H1). */
export const MAIL_T = `From: "Jane Doe" <jane@wild.example>
To: "Bob, Jr." <bob@example.org>, carol@example.org (Carol)
Cc: dave@example.org,
\teve@example.org
Bcc: secret@example.org
Subject: -t test

body line
`;

/** A forwarded mail: the first Resent- block wins over To/Cc. */
export const MAIL_RESENT = `Resent-From: fwd@example.com
Resent-To: r1@example.org
Resent-Cc: r2@example.org
Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000
From: orig@example.com
To: orig-to@example.org
Subject: resent

body
`;

const encoder = new TextEncoder();

function bytes(...parts: Array<string | number[]>): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? encoder.encode(p) : Uint8Array.from(p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const manyRecipients = Array.from({ length: 150 }, (_, i) => `r${i + 1}@example.org`);

/** The scenarios, grouped by topic. */
export const SCENARIOS: SendScenario[] = [
  // ---- line ends, dot-stuffing, body bytes
  {
    name: "an LF mail is sent with CRLF line ends and a leading dot doubled",
    args: ["rcpt@example.org"],
    stdin: "Subject: test 1\nTo: rcpt@example.org\n\nHello body\n.leading dot line\n",
    code: 0,
  },
  {
    name: "a CRLF mail is sent unchanged",
    args: ["rcpt@example.org"],
    stdin: "Subject: crlf\r\nTo: rcpt@example.org\r\n\r\nline one\r\nline two\r\n",
    code: 0,
  },
  {
    name: "mixed LF and CRLF line ends all become CRLF",
    args: ["rcpt@example.org"],
    stdin: "Subject: mixed\r\nX-One: 1\n\r\nfirst\r\nsecond\nthird\r\n\nlast\n",
    code: 0,
  },
  {
    name: "body lines '.', '..' and '.x' are dot-stuffed",
    args: ["rcpt@example.org"],
    stdin: "Subject: dots\n\n.\n..\n.x\nx.\n...\n. \n",
    code: 0,
  },
  {
    name: "a body that is a single '.' line is stuffed, not taken as the end",
    args: ["rcpt@example.org"],
    stdin: "Subject: lone dot\n\n.\n",
    code: 0,
  },
  {
    name: "a last body line '.' without a newline is stuffed",
    args: ["rcpt@example.org"],
    stdin: "Subject: lone dot\n\nbefore\n.",
    code: 0,
  },
  {
    name: "an 8-bit UTF-8 header and body pass byte for byte",
    args: ["rcpt@example.org"],
    stdin: "Subject: Grüße aus Köln\n\nÄpfel, Birnen, 日本語, emoji 😀\n",
    code: 0,
  },
  {
    name: "a Latin-1 body passes byte for byte",
    args: ["rcpt@example.org"],
    stdin: bytes("Subject: latin1\n\n", [0x47, 0x72, 0xfc, 0xdf, 0x65, 0x20, 0xe9, 0xff, 0x0a]),
    code: 0,
  },
  {
    name: "a mail with headers and an empty body is sent",
    args: ["rcpt@example.org"],
    stdin: "Subject: empty body\n\n",
    code: 0,
  },
  {
    name: "an empty mail gets only the generated headers",
    args: ["rcpt@example.org"],
    stdin: "",
    code: 0,
  },
  {
    name: "a mail without a final newline gets one",
    args: ["rcpt@example.org"],
    stdin: "Subject: no newline\n\nlast line",
    code: 0,
  },
  {
    name: "a header-only mail without an empty line is sent as is",
    args: ["rcpt@example.org"],
    stdin: "Subject: headers only\nX-Extra: yes\n",
    code: 0,
  },
  {
    name: "a header-only mail without any newline is terminated",
    args: ["rcpt@example.org"],
    stdin: "Subject: just this",
    code: 0,
  },
  {
    name: "a mail whose first line is not a header is taken as body",
    args: ["rcpt@example.org"],
    stdin: "hello there\nthis is all body\n",
    code: 0,
  },
  {
    name: "a body with empty lines only keeps them",
    args: ["rcpt@example.org"],
    stdin: "Subject: blank\n\n\n\n\n",
    code: 0,
  },
  {
    name: "a long body line of 3000 characters passes unchanged",
    args: ["rcpt@example.org"],
    stdin: `Subject: long\n\n${"x".repeat(3000)}\n.${"y".repeat(1500)}\n`,
    code: 0,
  },
  {
    name: "folded headers and 'From ' body lines pass unchanged",
    args: ["rcpt@example.org"],
    stdin:
      "Subject: a folded\n  subject line\nX-Tab:\tvalue\n\tmore\n\nFrom the start\n>From quoted\n",
    code: 0,
  },
  // ---- recipients from the command line and from the mail (-t)
  {
    name: "-t sends to To, Cc and Bcc, unfolds, and removes Bcc",
    args: ["-t"],
    stdin: MAIL_T,
    code: 0,
  },
  {
    name: "-t with a Bcc-only mail sends to the Bcc address and drops the header",
    args: ["-t"],
    stdin: "Bcc: hidden@example.org\nSubject: bcc only\n\nbody\n",
    code: 0,
  },
  {
    name: "-t with a folded Bcc removes every line of it",
    args: ["-t"],
    stdin: "To: a@example.org\nBcc: b@example.org,\n  c@example.org\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "-t takes the recipients of the first Resent- block",
    args: ["-t"],
    stdin: MAIL_RESENT,
    code: 0,
  },
  {
    name: "-t --read-envelope-from takes From, not Resent-From",
    args: ["-t", "--read-envelope-from"],
    stdin: MAIL_RESENT,
    code: 0,
  },
  {
    name: "-t adds the command-line recipients first",
    args: ["-t", "extra@example.org"],
    stdin: MAIL_T,
    code: 0,
  },
  {
    name: "-t reads group syntax, comments and quoted local parts",
    args: ["-t"],
    stdin: 'To: friends: a@example.org, "b c"@example.org (B);, d@example.org\n' +
      "cc: (just a comment) e@example.org\n\nbody\n",
    code: 0,
  },
  {
    name: "-t with lower-case header names still finds recipients",
    args: ["-t"],
    stdin: "to: low@example.org\nCC: up@example.org\nbcc: hid@example.org\n\nbody\n",
    code: 0,
  },
  {
    name: "-t sends a duplicate recipient as often as it appears",
    args: ["-t", "a@example.org"],
    stdin: "To: a@example.org\nCc: a@example.org\n\nbody\n",
    code: 0,
  },
  {
    name: "-t with no recipient headers and no arguments is a usage error",
    args: ["-t"],
    stdin: SIMPLE,
    server: "none",
    code: 64,
  },
  {
    name: "no recipients at all is a usage error",
    args: [],
    server: "none",
    code: 64,
  },
  {
    name: "an address-list argument gives one recipient per address",
    args: ['"Joe X" <joe@example.org>, ann@example.org'],
    code: 0,
  },
  {
    name: "an argument with a comment and angle brackets gives the bare address",
    args: ["joe@example.org (Joe)", "<ann@example.org>"],
    code: 0,
  },
  {
    name: "recipients after -- and sendmail no-op flags are accepted",
    args: ["-oi", "-i", "-oem", "--", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "a local recipient without a domain is sent as is",
    args: ["localuser"],
    code: 0,
  },
  // ---- the envelope from and the generated headers
  {
    name: "--read-envelope-from uses the mail's From address",
    args: ["--read-envelope-from", "rcpt@example.org"],
    stdin: 'From: "Jane Doe" <jane@example.net>\nSubject: x\n\nbody\n',
    code: 0,
  },
  {
    name: "-f overrides the configured from, in the envelope and the From header",
    args: ["-f", "other@example.com", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-f '<>' sends the null sender with an empty From header",
    args: ["-f", "<>", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-f MAILER-DAEMON sends the null sender",
    args: ["-f", "MAILER-DAEMON", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-f mailer-daemon is matched case-insensitively",
    args: ["-f", "mailer-daemon", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-f without a domain makes the Message-ID use the host name",
    args: ["-f", "joe", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-F adds the full name to the generated From header",
    args: ["-F", "Full Name", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-F does not touch an existing From header under set_from_header auto",
    args: ["-F", "Full Name", "rcpt@example.org"],
    stdin: "From: me@example.net\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "--set-from-header=on replaces an existing folded From header",
    args: ["--set-from-header=on", "rcpt@example.org"],
    stdin: "Subject: x\nFrom: Someone\n <someone@example.net>\nX-After: 1\n\nbody\n",
    code: 0,
  },
  {
    name: "--set-from-header=off adds no From header",
    args: ["--set-from-header=off", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "--set-date-header=off adds no Date header",
    args: ["--set-date-header=off", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "--set-msgid-header=off adds no Message-ID",
    args: ["--set-msgid-header=off", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "all header generation off sends the mail as given",
    args: [
      "--set-from-header=off",
      "--set-date-header=off",
      "--set-msgid-header=off",
      "rcpt@example.org",
    ],
    code: 0,
  },
  {
    name: "existing From, Date and Message-ID headers (any case) are kept",
    args: ["rcpt@example.org"],
    stdin: "from: a@example.net\nDATE: Mon, 1 Jan 2024 00:00:00 +0000\n" +
      "message-id: <abc@example.net>\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "--remove-bcc-headers=off keeps Bcc with -t",
    args: ["-t", "--remove-bcc-headers=off"],
    stdin: "To: a@example.org\nBcc: b@example.org\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "Bcc is removed without -t too",
    args: ["rcpt@example.org"],
    stdin: "To: a@example.org\nBcc: b@example.org\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "--undisclosed-recipients with -F and set_from_header on rewrites To/Cc/Bcc and From",
    args: ["--undisclosed-recipients", "--set-from-header=on", "-F", "Full Name", "-t"],
    stdin: MAIL_T,
    code: 0,
  },
  {
    name: "--domain sets the EHLO argument",
    args: ["--domain=client.example", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "the from address comes from the config's from with no -f",
    config: ["from cfg@example.net"],
    args: ["rcpt@example.org"],
    code: 0,
  },
  // ---- DSN
  {
    name: "-N failure,delay -R hdrs adds NOTIFY and RET parameters",
    args: ["-N", "failure,delay", "-R", "hdrs", "a@example.org", "b@example.org"],
    code: 0,
  },
  {
    name: "-N never -R full adds NOTIFY=NEVER and RET=FULL",
    args: ["-N", "never", "-R", "full", "a@example.org"],
    code: 0,
  },
  {
    name: "DSN against a server without DSN fails with EX_UNAVAILABLE",
    args: ["-N", "failure", "rcpt@example.org"],
    server: { minimal: true },
    code: 69,
  },
  // ---- refusals and failures
  {
    name: "a rejected envelope from gives EX_DATAERR",
    args: ["-f", "badfrom@example.com", "rcpt@example.org"],
    code: 65,
  },
  {
    name: "a recipient rejected with 550 after good ones gives EX_DATAERR",
    args: ["good@example.org", "good2@example.org", "reject@example.org"],
    code: 65,
  },
  {
    name: "a recipient rejected with 550 before good ones aborts the mail",
    args: ["reject@example.org", "good@example.org"],
    code: 65,
  },
  {
    name: "a temporarily failed recipient gives EX_UNAVAILABLE",
    args: ["tempfail@example.org"],
    code: 69,
  },
  {
    name: "a 554 after the data gives EX_UNAVAILABLE",
    args: ["rcpt@example.org"],
    stdin: "Subject: x\n\nREJECTDATA\n",
    code: 69,
  },
  {
    name: "a 451 after the data gives EX_UNAVAILABLE",
    args: ["rcpt@example.org"],
    stdin: "Subject: x\n\nTEMPDATA\n",
    code: 69,
  },
  {
    name: "a refused connection gives EX_TEMPFAIL",
    args: ["rcpt@example.org"],
    server: "closed",
    code: 75,
  },
  // ---- server kinds
  {
    name: "LMTP with every recipient accepted succeeds",
    args: ["--protocol=lmtp", "ok@example.org", "ok2@example.org"],
    server: { lmtp: true },
    code: 0,
  },
  {
    name: "LMTP with one recipient failing after the data gives EX_UNAVAILABLE",
    args: ["--protocol=lmtp", "ok@example.org", "lmtpbad@example.org", "ok2@example.org"],
    server: { lmtp: true },
    code: 69,
  },
  {
    name: "LMTP failure with --debug shows the per-recipient replies",
    args: ["--protocol=lmtp", "-d", "ok@example.org", "lmtpbad@example.org"],
    server: { lmtp: true },
    code: 69,
  },
  {
    name: "a minimal server without extensions still gets EHLO and the mail",
    args: ["-d", "a@example.org", "b@example.org"],
    server: { minimal: true },
    code: 0,
  },
  {
    name: "a server refusing EHLO gets HELO",
    args: ["-d", "rcpt@example.org"],
    server: { refuseEhlo: true },
    code: 0,
  },
  {
    name: "a server without PIPELINING gets one command at a time",
    args: ["-d", "a@example.org", "b@example.org"],
    server: { capabilities: ["SIZE 10240000", "8BITMIME"] },
    code: 0,
  },
  {
    name: "150 recipients are pipelined in batches of at most 100",
    args: ["-d", ...manyRecipients],
    code: 0,
  },
  // ---- transcripts and logging
  {
    name: "-d prints the configuration and the SMTP dialogue",
    args: ["-d", "rcpt@example.org"],
    stdin: "Subject: dbg\n\nbody\n.dot\n",
    code: 0,
  },
  {
    name: "-v behaves like -d",
    args: ["-v", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-d with a rejected recipient shows the failure in order",
    args: ["-d", "good@example.org", "reject@example.org"],
    code: 65,
  },
  {
    name: "logfile - writes the log line to standard output",
    config: ["logfile -"],
    args: ["rcpt@example.org"],
    code: 0,
  },
  {
    name: "logfile_time_format sets the log line's time stamp",
    config: ["logfile_time_format %Y-%m-%dT%H:%M:%S"],
    args: ["rcpt@example.org"],
    logTime: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/,
    code: 0,
  },
  {
    name: "a failed delivery with logfile - prints the log line after the errors",
    config: ["logfile -"],
    args: ["tempfail@example.org"],
    code: 69,
  },
  {
    name: "--logfile on the command line overrides the config file",
    args: ["--logfile=-", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "an alias with one target is replaced in the envelope",
    files: { "aliases": "root: admin@example.org\n" },
    config: ["aliases $DIR/aliases"],
    args: ["root", "x@example.org"],
    code: 0,
  },
  // ---- more header and envelope corners
  {
    name: "a line without a colon ends the header block",
    args: ["-t"],
    stdin: "To: a@example.org\nnot a header\nCc: b@example.org\n\nbody\n",
    code: 0,
  },
  {
    name: "a mail starting with an empty line is all body",
    args: ["rcpt@example.org"],
    stdin: "\nTo: nobody@example.org\nbody\n",
    code: 0,
  },
  {
    name: "an mbox 'From ' first line is not a header",
    args: ["rcpt@example.org"],
    stdin: "From someone@example.net Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "a header block ending in CRLF after LF headers",
    args: ["-t"],
    stdin: "To: a@example.org\nSubject: x\r\n\r\nbody\n",
    code: 0,
  },
  {
    name: "headers with empty values and trailing blanks pass unchanged",
    args: ["-t"],
    stdin: "X-Empty:\nTo: a@example.org   \nBcc:\nSubject:  spaced  \n\nbody\n",
    code: 0,
  },
  {
    name: "a 'Bcc :' header with a blank before the colon",
    args: ["-t"],
    stdin: "To: a@example.org\nBcc : b@example.org\nBcc-Note: kept\n\nbody\n",
    code: 0,
  },
  {
    name: "-t with 'To: undisclosed-recipients:;' alone finds no recipient",
    args: ["-t"],
    stdin: "To: undisclosed-recipients:;\nSubject: x\n\nbody\n",
    server: "none",
    code: 64,
  },
  {
    name: "-t with a quoted local part containing a blank",
    args: ["-t"],
    stdin: 'To: "john doe"@example.org, <"x y"@example.org>\n\nbody\n',
    code: 0,
  },
  {
    name: "-t with a folded To header in CRLF input",
    args: ["-t"],
    stdin: "To: a@example.org,\r\n b@example.org\r\nSubject: x\r\n\r\nbody\r\n",
    code: 0,
  },
  {
    name: "-t with Resent-To only uses it and ignores To",
    args: ["-t"],
    stdin: "Resent-To: r1@example.org\nTo: t@example.org\nCc: c@example.org\n\nbody\n",
    code: 0,
  },
  {
    name: "-t with two Resent- blocks takes the first",
    args: ["-t"],
    stdin: "Resent-Date: Tue, 2 Jan 2024 00:00:00 +0000\nResent-To: new@example.org\n" +
      "Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000\nResent-To: old@example.org\n" +
      "To: t@example.org\n\nbody\n",
    code: 0,
  },
  {
    name: "--read-envelope-from takes the first of several From addresses",
    args: ["--read-envelope-from", "rcpt@example.org"],
    stdin: "From: a@example.net, b@example.net\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "--read-envelope-from without a From header is a configuration error",
    args: ["--read-envelope-from", "rcpt@example.org"],
    server: "none",
    code: 78,
  },
  {
    name: "--read-envelope-from chooses the account by the From address",
    config: ["", "account wild", "host 127.0.0.1", "port $PORT", "from *@wild.example"],
    args: ["--read-envelope-from", "-d", "rcpt@example.org"],
    stdin: 'From: "Jane" <jane@wild.example>\nSubject: x\n\nbody\n',
    code: 0,
  },
  {
    name: "-f with a sub-address chooses the account of the base address",
    config: ["", "account plain", "host 127.0.0.1", "port $PORT", "from other@example.com"],
    args: ["-f", "other+tag@example.com", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-a chooses the account by name",
    config: ["", "account second", "host 127.0.0.1", "port $PORT", "from second@example.com"],
    args: ["-a", "second", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-f with a display name is passed to MAIL FROM as given",
    args: ["-f", "Joe <joe@example.com>", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-f '' sends the null sender",
    args: ["-f", "", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "--set-from-header=on with -f '<>' writes an empty From",
    args: ["--set-from-header=on", "-f", "<>", "rcpt@example.org"],
    stdin: "From: x@example.net\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "-F with quotes and 8-bit characters is written as given",
    args: ["-F", 'J\u00f6hn "JJ" Doe', "rcpt@example.org"],
    code: 0,
  },
  {
    name: "-F '' writes no full name",
    args: ["-F", "", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "--undisclosed-recipients with command-line recipients removes To",
    args: ["--undisclosed-recipients", "a@example.org"],
    stdin: "To: shown@example.org\nCc: c@example.org,\n d@example.org\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "auto_from with maildomain builds the from address",
    config: ["auto_from on", "maildomain auto.example"],
    args: ["rcpt@example.org"],
    code: 0,
  },
  {
    name: "domain in the config sets the EHLO argument",
    config: ["domain cfg.example"],
    args: ["rcpt@example.org"],
    code: 0,
  },
  {
    name: "--dsn-notify=success and --dsn-return=full long forms",
    args: ["--dsn-notify=success", "--dsn-return=full", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "dsn_notify and dsn_return in the config file",
    config: ["dsn_notify delay", "dsn_return headers"],
    args: ["rcpt@example.org"],
    code: 0,
  },
  {
    name: "--host mode without a configuration file",
    noRc: true,
    args: ["--host=127.0.0.1", "--port=$PORT", "-f", "host@example.com", "rcpt@example.org"],
    code: 0,
  },
  {
    name: "--host mode failure says only 'could not send mail'",
    noRc: true,
    args: ["--host=127.0.0.1", "--port=$PORT", "-f", "host@example.com", "reject@example.org"],
    code: 65,
  },
  {
    name: "a recipient starting with '-' after --",
    args: ["--", "-dash@example.org"],
    code: 0,
  },
  {
    name: "a NUL byte in the body is passed through",
    args: ["rcpt@example.org"],
    stdin: bytes("Subject: nul\n\nbefore", [0], "after\n"),
    code: 0,
  },
  {
    name: "a non-ASCII recipient is sent as given",
    args: ["j\u00f6rg@example.org"],
    code: 0,
  },
  {
    name: "a mail of 20000 lines streams through unchanged",
    args: ["rcpt@example.org"],
    stdin: "Subject: big\n\n" +
      Array.from({ length: 20000 }, (_, i) => i % 7 === 0 ? `.line ${i}` : `line ${i}`).join("\n") +
      "\n",
    code: 0,
  },
  {
    name: "-t ignores Resent-Bcc for removal but sends to it",
    args: ["-t"],
    stdin: "Resent-To: r1@example.org\nResent-Bcc: rb@example.org\nTo: t@example.org\n\nbody\n",
    code: 0,
  },
  {
    name: "-t with 8-bit display names finds the addresses",
    args: ["-t"],
    stdin:
      "To: J\u00f6rg M\u00fcller <joerg@example.org>, =?UTF-8?Q?Ren=C3=A9?= <rene@example.org>\n" +
      "Subject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "a header line of 2000 characters passes unchanged",
    args: ["-t"],
    stdin: `To: a@example.org\nX-Long: ${"z".repeat(2000)}\nSubject: x\n\nbody\n`,
    code: 0,
  },
  {
    name: "--read-envelope-from with an empty From before the body is a configuration error",
    args: ["--read-envelope-from", "rcpt@example.org"],
    stdin: "Subject: x\nFrom:\n\nbody\n",
    server: "none",
    code: 78,
  },
  {
    name: "--read-envelope-from with an empty From at the end of the input",
    args: ["--read-envelope-from", "rcpt@example.org"],
    stdin: "Subject: x\nFrom:",
    code: 0,
  },
  {
    name: "--undisclosed-recipients with --remove-bcc-headers=off still removes Bcc",
    args: ["--undisclosed-recipients", "--remove-bcc-headers=off", "-t"],
    stdin: "To: a@example.org\nBcc: b@example.org\nSubject: x\n\nbody\n",
    code: 0,
  },
  {
    name: "--set-from-header=on with -F replaces a From that is the last header",
    args: ["--set-from-header=on", "-F", "Full Name", "rcpt@example.org"],
    stdin: "Subject: x\nFrom: old@example.net\n\tcontinued\n\nbody\n",
    code: 0,
  },
  // ---- more failures
  {
    name: "a rejected envelope from with --debug",
    args: ["-d", "-f", "badfrom@example.com", "rcpt@example.org"],
    code: 65,
  },
  {
    name: "a rejected recipient at number 120 of 150 with --debug",
    args: [
      "-d",
      ...manyRecipients.slice(0, 119),
      "reject@example.org",
      ...manyRecipients.slice(120),
    ],
    code: 65,
  },
  {
    name: "a rejected recipient on a server without PIPELINING stops at once",
    args: ["-d", "a@example.org", "reject@example.org", "b@example.org"],
    server: { capabilities: ["8BITMIME"] },
    code: 65,
  },
  {
    name: "a 554 after the data with --debug",
    args: ["-d", "rcpt@example.org"],
    stdin: "Subject: x\n\nREJECTDATA\n",
    code: 69,
  },
  {
    name: "LMTP with a rejected recipient at RCPT gives EX_DATAERR",
    args: ["--protocol=lmtp", "ok@example.org", "reject@example.org"],
    server: { lmtp: true },
    code: 65,
  },
  {
    name: "LMTP with every recipient accepted and --debug",
    args: ["--protocol=lmtp", "-d", "ok@example.org", "ok2@example.org"],
    server: { lmtp: true },
    code: 0,
  },
  {
    name: "LMTP with two recipients failing after the data",
    args: ["--protocol=lmtp", "lmtpbad@example.org", "ok@example.org", "lmtpbad2@example.org"],
    server: { lmtp: true },
    code: 69,
  },
  {
    name: "a 554 greeting gives EX_PROTOCOL",
    args: ["rcpt@example.org"],
    server: { greetingReply: "554 5.3.2 capture.test does not want you" },
    code: 76,
  },
  {
    name: "a refused connection with --debug",
    args: ["-d", "rcpt@example.org"],
    server: "closed",
    code: 75,
  },
  {
    name: "an unwritable log file is reported and the log line printed",
    config: ["logfile $DIR/no/such/dir/log"],
    args: ["rcpt@example.org"],
    code: 0,
  },
  {
    name: "--debug with logfile - prints the log line after the dialogue",
    config: ["logfile -"],
    args: ["-d", "rcpt@example.org"],
    code: 0,
  },
  // ---- deliberate differences: postie's fixed behaviour alone
  {
    name: "a bare CR in the body becomes CRLF (no smuggling)",
    args: ["rcpt@example.org"],
    stdin: "Subject: cr\n\nline one\rline two\r.\r\nend\n",
    code: 0,
    postieOnly: {
      data: "From: sender@example.com\r\nDate: <DATE>\r\nMessage-ID: <HEX.sender@example.com>\r\n" +
        "Subject: cr\r\n\r\nline one\r\nline two\r\n.\r\nend\r\n",
      rcpt: ["C: RCPT TO:<rcpt@example.org>"],
    },
  },
  {
    name: "a CR or LF in -f is refused before anything is sent",
    args: ["-f", "evil@example.com>\r\nRCPT TO:<victim@example.org", "rcpt@example.org"],
    code: 65,
    postieOnly: {
      sessions: 0,
      stderr: "postie: invalid envelope from address " +
        "evil@example.com>??RCPT TO:<victim@example.org: it contains a control character\n" +
        "postie: could not send mail (account default from $RC)\n",
    },
  },
  {
    name: "an LF in a recipient argument is refused before anything is sent",
    args: ["rcpt@example.org\nRCPT TO:<victim@example.org>"],
    code: 64,
    postieOnly: {
      sessions: 0,
      stderr: 'postie: recipient "rcpt@example.org\\nRCPT TO:<victim@example.org>" contains a ' +
        "control character (CR, LF or similar); refusing to put it into the SMTP envelope\n",
    },
  },
  {
    name: "a 421 greeting gives EX_TEMPFAIL",
    args: ["rcpt@example.org"],
    server: { greetingReply: "421 4.3.2 capture.test busy, try later" },
    code: 75,
    postieOnly: {
      stderr: "postie: cannot get initial OK message from server\n" +
        "postie: server message: 421 4.3.2 capture.test busy, try later\n" +
        "postie: could not send mail (account default from $RC)\n",
    },
  },
  {
    name: "aliases expand in file order, every recipient",
    files: {
      "aliases": "root: admin@example.org, ops\nops: ops1@example.org, ops2@example.org\n" +
        "default: catchall@example.org\n",
    },
    config: ["aliases $DIR/aliases"],
    args: ["root", "x@example.org", "unknownlocal"],
    code: 0,
    postieOnly: {
      rcpt: [
        "C: RCPT TO:<admin@example.org>",
        "C: RCPT TO:<ops1@example.org>",
        "C: RCPT TO:<ops2@example.org>",
        "C: RCPT TO:<x@example.org>",
        "C: RCPT TO:<catchall@example.org>",
      ],
    },
  },
];
