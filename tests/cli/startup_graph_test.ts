/**
 * Pay only for what you use: what a plain send loads. The static import graph is what every
 * start evaluates; everything else must come through `import()` on its own path. Checked twice:
 * on the sources (`deno info --json main.ts`) and on what is installed (the bundle's chunks
 * that the launcher's module imports statically).
 */

import assert from "node:assert/strict";
import { POSTIE } from "../support/differential.ts";
import { moduleGraph } from "../support/module_graph.ts";
import { listenScriptedPeer } from "../support/scripted_peer.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Modules that only their own paths may load: never statically reachable from main.ts. */
const LAZY = [
  "lib/config/toml.ts", // TOML configuration
  "lib/config/dotenv.ts", // .env files
  "lib/net/tls.ts", // STARTTLS and TLS
  "lib/net/socks.ts",
  "lib/net/unix.ts",
  "lib/delivery/auth.ts", // authentication, SCRAM among the mechanisms
  "lib/smtp/auth/scram.ts",
  "lib/secrets/oauth2.ts",
  "lib/secrets/keyring.ts",
  "lib/secrets/prompt.ts",
  "lib/cli/serverinfo.ts",
  "lib/cli/help.ts", // --help and --version
  "lib/cli/pretend.ts",
  "lib/cli/configure.ts",
  "lib/cli/convert.ts",
  "lib/log/logfile.ts",
  "lib/log/syslog.ts",
  "lib/message/aliases.ts",
];

Deno.test("the static graph of main.ts holds no npm package, no node: module and no lazy path", async () => {
  const reached = (await moduleGraph()).staticallyReached;
  const local = [...reached].filter((s) => s.startsWith("file:")).map((s) =>
    new URL(s).pathname.slice(ROOT.length)
  );
  assert.ok(local.includes("lib/delivery/connection.ts"), "the graph walk found the send path");
  assert.deepEqual([...reached].filter((s) => /^(npm|node|jsr|https?):/.test(s)), []);
  assert.deepEqual(local.filter((path) => LAZY.includes(path)), []);
  // every name in LAZY is a real module (a renamed file must not pass silently)
  for (const path of LAZY) assert.ok((await Deno.stat(`${ROOT}${path}`)).isFile, path);
});

Deno.test("every start (--version, --help, mailq) reaches no configuration parser and no SMTP client", async () => {
  const { modules, staticallyReached } = await moduleGraph("main.ts");
  const local = [...staticallyReached].filter((s) => s.startsWith("file:")).map((s) =>
    new URL(s).pathname.slice(ROOT.length)
  );
  assert.ok(local.includes("lib/cli/args.ts"), "the walk found the option parser");
  const heavy = local.filter((path) =>
    /^lib\/(delivery|smtp|message|net\/(tcp|connect)|config\/(resolve|msmtprc))\b/.test(path)
  );
  assert.deepEqual(heavy, []);
  // sendmail mode reaches them through run.ts's one import()
  const run = [...modules.values()].find((m) => m.specifier.endsWith("/lib/cli/run.ts"));
  assert.ok(run?.dependencies?.some((d) => d.isDynamic && d.specifier === "./sendmail.ts"));
});

Deno.test("the installed bundle's start-up chunks import no node: module and no npm code", async () => {
  const launcher = await Deno.readTextFile(POSTIE);
  const entry = /^import "(file:\/\/[^"]+)";$/m.exec(launcher)?.[1];
  assert.ok(entry, `no import line in ${POSTIE}`);
  const STATIC = /^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"/gm;
  const reached = new Set<string>();
  const external: string[] = [];
  const stack = [entry];
  while (stack.length > 0) {
    const url = stack.pop()!;
    if (reached.has(url)) continue;
    reached.add(url);
    const code = await Deno.readTextFile(new URL(url));
    // the bundler's CommonJS shim (createRequire) would boot Node compatibility on every start
    assert.doesNotMatch(code, /__commonJS|createRequire/, `${url} carries CommonJS code`);
    for (const m of code.matchAll(STATIC)) {
      const specifier = m[1] ?? m[2];
      if (specifier.startsWith("./")) stack.push(new URL(specifier, url).href);
      else external.push(`${url} -> ${specifier}`);
    }
  }
  assert.ok(reached.size > 1, "the entry imports its chunks");
  assert.deepEqual(external, []);
  // the lazy paths are chunks of their own, loaded by import() only
  const all = [...reached].join("\n");
  for (const name of ["toml", "tls", "auth", "oauth2", "keyring", "serverinfo", "help"]) {
    assert.doesNotMatch(all, new RegExp(`/${name}-[A-Z0-9]+\\.js`), `${name} loads at start-up`);
  }
});

const HAVE_STRACE = ["/usr/bin/strace", "/bin/strace"].some((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "a start reads the start-up chunks only, not those of lazy paths" +
    (HAVE_STRACE ? "" : " (skipped: strace is not installed; scripts/install.sh installs it)"),
  ignore: !HAVE_STRACE,
  fn: async () => {
    // Deno builds a module graph before running, and a literal `import("./x.js")` puts x.js
    // in it: read, hashed and looked up at every start. The build defers them (build.ts).
    const launcher = await Deno.readTextFile(POSTIE);
    const entry = /^import "file:\/\/([^"]+)";$/m.exec(launcher)?.[1];
    assert.ok(entry, `no import line in ${POSTIE}`);
    const lib = entry.slice(0, entry.lastIndexOf("/") + 1);
    const trace = await Deno.makeTempFile({ prefix: "postie-startup-", suffix: ".strace" });
    try {
      const out = await new Deno.Command("strace", {
        args: ["-f", "-qq", "-e", "trace=openat,open", "-o", trace, POSTIE, "--version"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const opened = new Set<string>();
      for (const m of (await Deno.readTextFile(trace)).matchAll(/"([^"]+\.js)"/g)) {
        if (m[1].startsWith(lib)) opened.add(m[1].slice(lib.length));
      }
      assert.ok(opened.has("main.js"), `the trace shows no read of ${lib}main.js`);
      const bundle = [...Deno.readDirSync(lib)].filter((e) => e.name.endsWith(".js"));
      // help (--version's text) is the one lazy path this run takes
      const lazy = [...opened].filter((name) =>
        /^(toml|tls|auth|oauth2|keyring|serverinfo|asn1|dns-packet|dotenv|compose)/.test(name)
      );
      assert.deepEqual(lazy, []);
      assert.ok(
        opened.size < bundle.length / 2,
        `${opened.size} of the bundle's ${bundle.length} files read by --version`,
      );
    } finally {
      await Deno.remove(trace);
    }
  },
});

/**
 * Put in front of a module: every global of Deno's web streams (loaded on first use, about
 * 11 million instructions and 1 MiB of Deno's code in memory) reports its first use on
 * standard error, with where it came from.
 */
const STREAM_TRAP = `
for (const name of Object.getOwnPropertyNames(globalThis)) {
  if (!/Stream|BYOB/.test(name)) continue;
  const d = Object.getOwnPropertyDescriptor(globalThis, name);
  if (!d.get || !d.configurable) continue;
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      const stack = new Error().stack.split("\\n").slice(2, 6).join(" | ");
      Deno.stderr.writeSync(new TextEncoder().encode("web stream touched: " + name + stack + "\\n"));
      return d.get.call(this);
    },
    set: d.set,
  });
}
await import(Deno.args.shift());
`;

Deno.test("a plain send from standard input touches none of Deno's web streams", async () => {
  const launcher = await Deno.readTextFile(POSTIE);
  const entry = /^import "(file:\/\/[^"]+)";$/m.exec(launcher)?.[1];
  assert.ok(entry, `no import line in ${POSTIE}`);
  const lib = new URL(".", entry).pathname;
  const dir = await Deno.makeTempDir({ prefix: "postie-lean-" });
  const server = listenScriptedPeer({ capabilities: ["PIPELINING", "8BITMIME"] });
  try {
    const trap = `${dir}/trap.js`;
    await Deno.writeTextFile(trap, STREAM_TRAP);
    const rc = `${dir}/rc`;
    await Deno.writeTextFile(
      rc,
      `account default\nhost 127.0.0.1\nport ${server.port}\nfrom a@example.org\n` +
        "auth off\ntls off\n",
      { mode: 0o600 },
    );
    // the installed bundle, its permission set and import map, under the trap
    const under = (module: string, args: string[], stdin: Uint8Array) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--no-prompt",
          "--no-lock",
          "--ext=js",
          `--config=${lib}deno.json`,
          "-P=postie",
          trap,
          module,
          ...args,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      writer.write(stdin).then(() => writer.close()).catch(() => {});
      return child.output();
    };
    // the trap works: a module that makes a stream is caught
    const control = await under(
      "data:text/javascript,new ReadableStream();",
      [],
      new Uint8Array(0),
    );
    assert.match(new TextDecoder().decode(control.stderr), /web stream touched: ReadableStream/);

    // a body of several reads: the header block, the body and the DATA phase all stream-free
    const body = "x".repeat(75) + "\n";
    const mail = `Subject: lean\n\n${body.repeat(4000)}.last line\n`;
    const out = await under(entry, ["-C", rc, "b@example.org"], new TextEncoder().encode(mail));
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(stderr, "");
    const data = server.peers[0].data;
    assert.match(data, /^Subject: lean\r$/m);
    // the body whole: every LF gains a CR, the last line a stuffing dot
    const sent = data.slice(data.indexOf("\r\n\r\n") + 4);
    const text = mail.slice(mail.indexOf("\n\n") + 2);
    assert.equal(sent, text.replaceAll("\n", "\r\n").replace("\r\n.last", "\r\n..last"));
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
