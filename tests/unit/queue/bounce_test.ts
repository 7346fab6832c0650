import assert from "node:assert/strict";
import { buildBounce } from "../../../lib/queue/bounce.ts";

/** Parses a mail with Python's `email` package (policy.default) and reports its structure. */
async function pythonParse(mail: Uint8Array): Promise<Record<string, unknown>> {
  const script = `
import sys, json, email
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
parts = [p.get_content_type() for p in msg.iter_parts()]
status = msg.get_payload()[1]
groups = [dict(g.items()) for g in status.get_payload()]
print(json.dumps({
  "type": msg.get_content_type(),
  "report_type": msg.get_param("report-type"),
  "to": str(msg["To"]),
  "subject": str(msg["Subject"]),
  "auto": str(msg["Auto-Submitted"]),
  "parts": parts,
  "groups": groups,
  "headers": str(msg.get_payload()[2].get_content()),
  "defects": [str(d) for d in msg.defects] + [str(d) for p in msg.walk() for d in p.defects],
}))
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(mail);
  await w.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const havePython = (() => {
  try {
    return new Deno.Command("python3", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "a bounce is a multipart/report Python's email parses, one group per recipient",
  ignore: !havePython && Deno.env.get("CI") !== "true",
  fn: async () => {
    const mail = buildBounce({
      action: "failed",
      to: "sender@example.org",
      hostname: "mx.example.org",
      queueId: "20261202T080000-0badc0de",
      arrival: new Date(Date.UTC(2026, 11, 2, 8)),
      recipients: [
        { address: "bad@example.net", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 no such user" },
        { address: "gone@example.net", status: "5.2.1", diagnostic: "smtp; 550 5.2.1 disabled" },
      ],
      originalHeaders: new TextEncoder().encode("Subject: hello\nMessage-ID: <m1@x>\n"),
      reason: "the server refused some recipients",
    });
    const parsed = await pythonParse(mail);
    assert.equal(parsed.type, "multipart/report");
    assert.equal(parsed.report_type, "delivery-status");
    assert.equal(parsed.to, "sender@example.org");
    assert.equal(parsed.auto, "auto-replied");
    assert.deepEqual(parsed.parts, [
      "text/plain",
      "message/delivery-status",
      "text/rfc822-headers",
    ]);
    const groups = parsed.groups as Record<string, string>[];
    assert.equal(groups.length, 3); // per-message fields, then one group per recipient
    assert.equal(groups[0]["Reporting-MTA"], "dns; mx.example.org");
    assert.deepEqual(
      groups.slice(1).map((g) => [g["Final-Recipient"], g.Action, g.Status]),
      [
        ["rfc822; bad@example.net", "failed", "5.1.1"],
        ["rfc822; gone@example.net", "failed", "5.2.1"],
      ],
    );
    assert.equal(groups[1]["Diagnostic-Code"], "smtp; 550 5.1.1 no such user");
    assert.match(parsed.headers as string, /Subject: hello\r?\nMessage-ID: <m1@x>/);
    assert.deepEqual(parsed.defects, []);
  },
});

Deno.test({
  name: "a delay warning says delayed and until when it is retried",
  ignore: !havePython && Deno.env.get("CI") !== "true",
  fn: async () => {
    const mail = buildBounce({
      action: "delayed",
      to: "sender@example.org",
      hostname: "mx.example.org",
      queueId: "20261202T080000-0badc0de",
      arrival: new Date(0),
      recipients: [{ address: "slow@example.net", status: "4.4.1" }],
      originalHeaders: new TextEncoder().encode("Subject: x\r\n"),
      reason: "cannot connect to mx, port 25: Connection refused\r\nInjected: header",
      retryUntil: new Date(5 * 86400_000),
    });
    const parsed = await pythonParse(mail);
    const groups = parsed.groups as Record<string, string>[];
    assert.equal(groups[1].Action, "delayed");
    assert.ok(groups[1]["Will-Retry-Until"]);
    assert.equal(parsed.subject, "Delayed Mail (still being retried)");
    // a reason with line breaks cannot inject header fields
    assert.doesNotMatch(new TextDecoder().decode(mail), /\r\nInjected: header/);
  },
});

Deno.test({
  name:
    "ENVID and ORCPT come back as Original-Envelope-Id and Original-Recipient (RFC 3464), first in their groups",
  ignore: !havePython && Deno.env.get("CI") !== "true",
  fn: async () => {
    const mail = buildBounce({
      action: "failed",
      to: "sender@example.org",
      hostname: "mx.example.org",
      queueId: "20261202T080000-0badc0de",
      arrival: new Date(Date.UTC(2026, 11, 2, 8)),
      envid: "QQ+1=x y",
      recipients: [
        { address: "bad@example.net", status: "5.1.1", original: "rfc822;Old+1@example.net" },
        { address: "gone@example.net", status: "5.2.1" },
      ],
      originalHeaders: new TextEncoder().encode("Subject: hello\n"),
      reason: "the server refused some recipients",
    });
    const parsed = await pythonParse(mail);
    const groups = parsed.groups as Record<string, string>[];
    assert.equal(groups[0]["Original-Envelope-Id"], "QQ+1=x y");
    assert.equal(Object.keys(groups[0])[0], "Original-Envelope-Id");
    assert.equal(groups[1]["Original-Recipient"], "rfc822;Old+1@example.net");
    assert.equal(Object.keys(groups[1])[0], "Original-Recipient");
    assert.equal(groups[1]["Final-Recipient"], "rfc822; bad@example.net");
    assert.equal(groups[2]["Original-Recipient"], undefined);
    assert.deepEqual(parsed.defects, []);
  },
});

Deno.test({
  name:
    "with the original mail given (RET=FULL) the third part is message/rfc822 holding all of it",
  ignore: !havePython && Deno.env.get("CI") !== "true",
  fn: async () => {
    const original = "Subject: hello\nMessage-ID: <m1@x>\n\nthe body\nline 2\n";
    const mail = buildBounce({
      action: "failed",
      to: "sender@example.org",
      hostname: "mx.example.org",
      queueId: "20261202T080000-0badc0de",
      arrival: new Date(0),
      recipients: [{ address: "bad@example.net", status: "5.1.1" }],
      originalHeaders: new TextEncoder().encode("Subject: hello\nMessage-ID: <m1@x>\n"),
      originalMessage: new TextEncoder().encode(original),
      reason: "refused",
    });
    const script = `
import sys, email
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
part = msg.get_payload()[2]
inner = part.get_payload()[0]
print(part.get_content_type(), inner["Subject"], repr(inner.get_content()))
`;
    const child = new Deno.Command("python3", {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(mail);
    await w.close();
    const out = new TextDecoder().decode((await child.output()).stdout);
    assert.equal(out, "message/rfc822 hello 'the body\\r\\nline 2\\r\\n'\n");
    assert.deepEqual((await pythonParse(mail)).defects, []);
  },
});
