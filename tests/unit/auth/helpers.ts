import { ScriptedPeer, type ScriptedPeerOptions } from "../../support/scripted_peer.ts";
import { SmtpSession } from "../../../lib/smtp/session.ts";

/** A session past EHLO with a scripted peer offering `capabilities`, and its transcript. */
export async function readySession(
  options: ScriptedPeerOptions,
): Promise<{ peer: ScriptedPeer; session: SmtpSession; debug: string[] }> {
  const peer = new ScriptedPeer(options);
  const debug: string[] = [];
  const session = new SmtpSession(peer.client, { debug: (line) => debug.push(line) });
  await session.greet();
  await session.ehlo("localhost");
  return { peer, session, debug };
}

/** Standard base64 of a text. */
export function b64(text: string): string {
  return btoa(text);
}

/** Decodes the bytes an authenticator produced as Latin-1 text, for comparisons. */
export function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : String.fromCharCode(...bytes);
}
