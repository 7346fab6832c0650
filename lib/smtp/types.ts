/**
 * The plain data of the SMTP layer, shared by the reply parser and the errors (which
 * carry replies) without either importing the other.
 *
 * @module
 */

/** One complete server reply. */
export interface Reply {
  /** The three-digit code of the first line. */
  code: number;
  /** The text of each line after the code and its separator. */
  lines: string[];
  /** Each whole line without its line ending, e.g. `250-PIPELINING`. */
  raw: string[];
  /** The RFC 3463 enhanced status code of the first line (`2.1.0`), when present. */
  enhanced?: string;
}

/** Where in the SMTP dialogue an error happened. */
export type SmtpStage =
  | "greeting"
  | "ehlo"
  | "helo"
  | "lhlo"
  | "starttls"
  | "auth"
  | "mail"
  | "rcpt"
  | "data"
  | "end-of-data"
  | "etrn"
  | "rset"
  | "quit";
