/**
 * An independent MIME parser for composed mails: Python's `email` package with
 * `policy.default`, which decodes RFC 2047 words and RFC 2231 parameters itself. A mail is
 * parsed in a `python3` child process and comes back as plain JSON.
 */

/** One leaf part of a parsed mail. */
export interface ParsedPart {
  /** `text/plain`, `application/pdf`, … */
  contentType: string;
  /** The `charset` parameter, in lower case, or null without one. */
  charset: string | null;
  /** The decoded file name, when the part has one. */
  filename: string | null;
  /** `attachment`, `inline`, or null. */
  disposition: string | null;
  /** The part's decoded bytes. */
  bytes: Uint8Array;
}

/** A mail as Python's `email` package sees it. */
export interface ParsedMail {
  /** Every header name, in order, as written. */
  headerNames: string[];
  /** Decoded header values by lower-case name (the first of each name). */
  headers: Record<string, string>;
  /** The display names and addresses of From, To, Cc and Reply-To. */
  addresses: Record<string, { name: string; address: string }[]>;
  /** The content types as a tree: `multipart/mixed(multipart/alternative(text/plain,…),…)`. */
  structure: string;
  /** The leaves, depth first. */
  parts: ParsedPart[];
  /** What Python's parser complained about (defects), for every part. */
  defects: string[];
}

const SCRIPT = String.raw`
import base64, json, sys
from email import policy
from email.parser import BytesParser

msg = BytesParser(policy=policy.default).parse(sys.stdin.buffer)

def tree(part):
    if part.is_multipart():
        return part.get_content_type() + "(" + ",".join(tree(p) for p in part.iter_parts()) + ")"
    return part.get_content_type()

defects = []
leaves = []
for part in msg.walk():
    defects.extend(type(d).__name__ for d in part.defects)
    if part.is_multipart():
        continue
    leaves.append({
        "contentType": part.get_content_type(),
        "charset": part.get_content_charset(),
        "filename": part.get_filename(),
        "disposition": part.get_content_disposition(),
        "bytes": base64.b64encode(part.get_payload(decode=True) or b"").decode(),
    })

addresses = {}
for name in ("from", "to", "cc", "reply-to", "bcc"):
    header = msg[name]
    if header is not None:
        addresses[name] = [
            {"name": a.display_name, "address": a.addr_spec} for a in header.addresses
        ]

headers = {}
for key in msg.keys():
    if key.lower() not in headers:
        headers[key.lower()] = str(msg[key])

json.dump({
    "headerNames": list(msg.keys()),
    "headers": headers,
    "addresses": addresses,
    "structure": tree(msg),
    "parts": leaves,
    "defects": defects,
}, sys.stdout)
`;

/** Why Python cannot parse mails here, or undefined when it can. */
export function pythonUnavailable(): string | undefined {
  try {
    const out = new Deno.Command("python3", {
      args: ["-c", "import email.policy"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success ? undefined : "python3 cannot import email.policy";
  } catch {
    return "python3 is not installed";
  }
}

/** Parses a raw mail with Python's `email` package (`policy.default`). */
export async function parseWithPython(raw: Uint8Array | string): Promise<ParsedMail> {
  const child = new Deno.Command("python3", {
    args: ["-c", SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(typeof raw === "string" ? new TextEncoder().encode(raw) : raw);
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`python3 failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const parsed = JSON.parse(new TextDecoder().decode(out.stdout)) as Omit<ParsedMail, "parts"> & {
    parts: (Omit<ParsedPart, "bytes"> & { bytes: string })[];
  };
  return {
    ...parsed,
    parts: parsed.parts.map((part) => ({
      ...part,
      bytes: Uint8Array.from(atob(part.bytes), (c) => c.charCodeAt(0)),
    })),
  };
}
