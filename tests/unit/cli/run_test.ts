import assert from "node:assert/strict";
import { programName, run, type RunIo } from "../../../lib/cli/run.ts";
import { realEnv } from "../../../lib/config/resolve.ts";

interface Captured {
  io: RunIo;
  out: () => string;
  err: () => string;
}

function fakeIo(argv0 = "postie", env: Record<string, string> = {}, input = ""): Captured {
  let out = "";
  let err = "";
  const io: RunIo = {
    argv0,
    env: { HOME: "/nonexistent", ...env },
    configEnv: realEnv(),
    stdin: new Blob([input]).stream(),
    stdout: (text) => {
      out += text;
      return Promise.resolve();
    },
    stderr: (text) => {
      err += text;
      return Promise.resolve();
    },
  };
  return { io, out: () => out, err: () => err };
}

Deno.test("programName() is argv[0]'s base name, postie when run through deno", () => {
  assert.equal(programName("/usr/sbin/sendmail"), "sendmail");
  assert.equal(programName("postie"), "postie");
  assert.equal(programName("deno"), "postie");
  assert.equal(programName("/usr/bin/deno"), "postie");
  assert.equal(programName(""), "postie");
});

Deno.test("usage errors print NAME: message and end with 64", async () => {
  const c = fakeIo("/usr/lib/sendmail");
  assert.equal(await run(["-bx"], c.io), 64);
  assert.equal(c.err(), "sendmail: unsupported operation mode bx\n");
  assert.equal(c.out(), "");
});

Deno.test("getopt's messages keep argv[0] as invoked, as glibc prints it", async () => {
  const c = fakeIo("/usr/sbin/sendmail");
  assert.equal(await run(["-r", "x"], c.io), 64);
  assert.equal(c.err(), "/usr/sbin/sendmail: invalid option -- 'r'\n");
  const d = fakeIo("deno");
  await run(["--bogus"], d.io);
  assert.equal(d.err(), "postie: unrecognized option '--bogus'\n");
});

Deno.test("--version prints the version and the config file names and ends with 0", async () => {
  const c = fakeIo("postie", { HOME: "/tmp/postie-no-such-home" });
  assert.equal(await run(["--version"], c.io), 0);
  assert.match(c.out(), /^postie version /);
  assert.match(c.out(), /\nUser configuration file name: \/tmp\/postie-no-such-home\/\.msmtprc\n/);
  assert.equal(c.err(), "");
});

Deno.test("--help --version prints both, version first", async () => {
  const c = fakeIo();
  assert.equal(await run(["--help", "--version"], c.io), 0);
  assert.ok(c.out().indexOf("postie version") < c.out().indexOf("Usage:"));
});

Deno.test("-d0.1 prints the version and stops", async () => {
  const c = fakeIo();
  assert.equal(await run(["-d0.1", "rcpt@example.org"], c.io), 0);
  assert.match(c.out(), /^postie version /);
});

Deno.test("no recipients and no -t is a usage error, even with -d", async () => {
  for (const argv of [[], ["-d"], ["-bm", "-i"]]) {
    const c = fakeIo();
    assert.equal(await run(argv, c.io), 64);
    assert.equal(c.err(), "postie: no recipients found\n");
  }
});

Deno.test("--help uses the invoked name in its usage lines", async () => {
  const c = fakeIo("/usr/sbin/sendmail");
  assert.equal(await run(["--help"], c.io), 0);
  assert.match(c.out(), /^ {2}sendmail \[option\.\.\.\] \[--\] recipient\.\.\.$/m);
});

Deno.test("an unexpected exception is one internal-error line and exit 70", async () => {
  const c = fakeIo();
  c.io.stdout = () => Promise.reject(new Error("disk on fire"));
  assert.equal(await run(["--version"], c.io), 70);
  assert.equal(c.err(), "postie: internal error: disk on fire\n");
});

Deno.test("POSTIE_DEBUG_STACK adds the stack trace to an internal error", async () => {
  const c = fakeIo("postie", { POSTIE_DEBUG_STACK: "1" });
  c.io.stdout = () => Promise.reject(new Error("disk on fire"));
  assert.equal(await run(["--version"], c.io), 70);
  assert.match(c.err(), /^postie: internal error: disk on fire\nError: disk on fire\n\s+at /);
});

Deno.test("-P prints the chosen account's settings and ends with 0", async () => {
  const c = fakeIo("postie", {}, "Subject: s\n\nbody\n");
  assert.equal(await run(["--host=mx.example.org", "--port=2525", "-P", "-t"], c.io), 0);
  assert.match(c.out(), /^using account specified on command line\nhost = mx\.example\.org\n/);
  assert.match(c.out(), /^port = 2525$/m);
  assert.match(c.out(), /reading recipients from the command line and the mail\n$/);
  assert.equal(c.err(), "");
});

Deno.test("-t without any recipient in the mail is a usage error", async () => {
  const c = fakeIo("postie", {}, "Subject: s\n\nbody\n");
  assert.equal(await run(["--host=mx.example.org", "-t"], c.io), 64);
  assert.equal(c.err(), "postie: no recipients found\n");
});

Deno.test("--read-envelope-from prints the address it took from the mail", async () => {
  const c = fakeIo("postie", {}, "From: Joe <joe@example.org>\n\nbody\n");
  assert.equal(await run(["--host=mx", "-P", "--read-envelope-from"], c.io), 0);
  assert.match(c.out(), /^envelope from address extracted from mail: joe@example\.org\n/);
  assert.match(c.out(), /^from = joe@example\.org$/m);
});

Deno.test("a send to a host that does not exist ends with msmtp's lines", async () => {
  const c = fakeIo("postie", {}, "Subject: s\n\nbody\n");
  const args = ["--host=nonexistent.invalid", "-f", "a@b.c", "rcpt@example.org"];
  const code = await run(args, c.io);
  // 75 when this machine's name server does not answer in time (a temporary failure)
  const reason = code === 68 ? "Name or service not known" : "Temporary failure in name resolution";
  assert.ok(code === 68 || code === 75, `exit code ${code}`);
  assert.equal(
    c.err(),
    `postie: cannot locate host nonexistent.invalid: ${reason}\n` +
      "postie: could not send mail\n",
  );
});
