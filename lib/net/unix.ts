/**
 * Connections to a local unix socket (msmtp's `socket` setting).
 *
 * @module
 */

import { DeadlineExceeded, describeNetError, socketConnectFailed } from "./errors.ts";
import { type ByteStream, DenoConnStream, withDeadline } from "./tcp.ts";

/**
 * Connects to the unix socket at `path`. Failure: `cannot connect to PATH: DETAIL` (75).
 *
 * @example Usage
 * ```ts
 * import { connectUnix } from "./unix.ts";
 * const stream = await connectUnix("/run/postie/smtp.sock", 0);
 * stream.close();
 * ```
 */
export async function connectUnix(path: string, timeoutMs: number): Promise<ByteStream> {
  const attempt = Deno.connect({ transport: "unix", path });
  try {
    // A unix connect does not take a signal; on timeout the late connection is closed.
    const conn = await withDeadline(attempt, timeoutMs, () => {
      attempt.then((late) => late.close(), () => {});
    });
    return new DenoConnStream(conn);
  } catch (error) {
    const detail = error instanceof DeadlineExceeded
      ? "Connection timed out"
      : describeNetError(error);
    throw socketConnectFailed(path, detail, error);
  }
}
