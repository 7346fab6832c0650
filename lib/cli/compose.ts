/**
 * Composing a mail on the command line (`--subject`, `--attach`, `--html`, and the `mail`
 * personality): standard input is the text, the options add the rest, and the composed
 * mail then goes the way of any mail read from standard input (header rewriting, delivery,
 * logging). Loaded only when composing.
 *
 * @module
 */

import type { Account } from "../config/account.ts";
import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { composeMail, type ComposeOptions } from "../message/compose.ts";
import { buildEnvelope } from "../message/envelope.ts";
import { readHeaderBlock } from "../message/read.ts";
import type { ComposeRequest, ParsedArgs } from "./args.ts";
import type { IncomingMail } from "./send.ts";

const NAMED_ERRORS: Record<string, string> = {
  NotFound: "No such file or directory",
  PermissionDenied: "Permission denied",
};

async function checkFile(path: string, what: string): Promise<void> {
  let reason: string | undefined;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      reason = "Is a directory";
    } else {
      (await Deno.open(path, { read: true })).close();
    }
  } catch (error) {
    reason = (error instanceof Error ? NAMED_ERRORS[error.name] : undefined) ??
      (error instanceof Error ? error.message : String(error));
  }
  if (reason !== undefined) {
    throw new PostieError(`cannot read ${what} ${path}: ${reason}`, ExitCode.NOINPUT);
  }
}

/**
 * Checks that every file to attach or include can be read, before standard input, the
 * configuration or the network are touched: a typo in `--attach` is the caller's mistake
 * and is reported as such (EX_NOINPUT), naming the file.
 *
 * @example Usage
 * ```ts
 * import { checkComposeFiles } from "./compose.ts";
 * await checkComposeFiles({
 *   subject: "x", attachments: ["/etc/hostname"], htmlFile: undefined, cc: [], bcc: [],
 * });
 * ```
 */
export async function checkComposeFiles(request: ComposeRequest): Promise<void> {
  if (request.htmlFile !== undefined) await checkFile(request.htmlFile, "HTML file");
  for (const path of request.attachments) await checkFile(path, "attachment");
}

/**
 * Composes the mail the command line asks for, from the chosen account's envelope-from
 * (with `-F`'s full name), the recipients, and standard input as the text, and returns it
 * split as a mail read from standard input would be.
 */
export async function composeFromCommandLine(
  inv: ParsedArgs,
  request: ComposeRequest,
  account: Account,
  stdin: ReadableStream<Uint8Array>,
  hostname: string,
): Promise<IncomingMail> {
  const from = account.settings.from;
  const mail: ComposeOptions = {
    text: stdin,
    attachments: request.attachments.map((path) => ({ path })),
  };
  // No From for the null sender: header rewriting treats that mail as msmtp would.
  if (from !== null && from !== "") mail.from = { name: inv.fullName ?? "", address: from };
  if (inv.recipients.length > 0) mail.to = inv.recipients;
  if (request.cc.length > 0) mail.cc = request.cc;
  if (request.bcc.length > 0) mail.bcc = request.bcc;
  if (request.subject !== undefined) mail.subject = request.subject;
  if (request.htmlFile !== undefined) mail.html = { path: request.htmlFile };
  const composed = await composeMail(mail, { hostname });
  const block = await readHeaderBlock(composed.raw);
  const envelope = buildEnvelope({
    headerBlock: block.header,
    hasSeparator: block.hasSeparator,
    cliRecipients: composed.envelope.to,
    readRecipients: false,
  });
  return { block, envelope };
}
