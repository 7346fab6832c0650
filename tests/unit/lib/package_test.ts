import assert from "node:assert/strict";
import { startFaultServer } from "../../support/fault_server.ts";
import { createTestPki } from "../../support/pki.ts";

const MOD = new URL("../../../lib/mod.ts", import.meta.url).href;

Deno.test("lib/mod.ts works from another directory with its own deno.json and a TOML config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The caller's deno.json maps nothing: the package must bring its own npm dependencies.
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ lock: false }));
    await Deno.writeTextFile(
      `${dir}/postie.toml`,
      '[accounts.ci]\nhost = "smtp.example.org"\nport = 587\nfrom = "ci@example.org"\n',
    );
    await Deno.chmod(`${dir}/postie.toml`, 0o600);
    await Deno.writeTextFile(
      `${dir}/script.ts`,
      [
        `import { createTransport, loadAccount } from ${JSON.stringify(MOD)};`,
        "const account = await loadAccount({",
        '  account: "ci",',
        '  configFile: "./postie.toml",',
        "  env: { HOME: Deno.cwd() },",
        "});",
        "const transport = await createTransport({ streamTransport: true, from: account.from! });",
        "const info = await transport.sendMail({",
        '  envelope: { to: "team@example.org" },',
        '  raw: "Subject: from elsewhere\\n\\nok\\n",',
        "});",
        "console.log(JSON.stringify([account.host, account.port, info.envelope]));",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", `${dir}/deno.json`, `${dir}/script.ts`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), [
      "smtp.example.org",
      587,
      { from: "ci@example.org", to: ["team@example.org"] },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lib/mod.ts from another directory applies a tls_crl_file kept there: a revoked server gets nothing", async () => {
  const dir = await Deno.makeTempDir();
  const pki = await createTestPki();
  const servers = await Promise.all(
    [pki.revoked, pki.server].map((leaf) => startFaultServer({ cert: leaf.cert, key: leaf.key })),
  );
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ lock: false }));
    // the CRL and the CA live in the caller's directory, named relative to it
    await Deno.copyFile(pki.crl, `${dir}/ca.crl`);
    await Deno.copyFile(pki.ca.cert, `${dir}/ca.pem`);
    const account = (port: number) =>
      `host 127.0.0.1\nport ${port}\nfrom ci@example.org\ntls on\n` +
      `tls_trust_file ${dir}/ca.pem\ntls_crl_file ${dir}/ca.crl\n`;
    await Deno.writeTextFile(
      `${dir}/msmtprc`,
      `account revoked\n${account(servers[0].port)}\naccount good\n${account(servers[1].port)}`,
      { mode: 0o600 },
    );
    await Deno.writeTextFile(
      `${dir}/script.ts`,
      [
        `import { createTransport, loadAccount } from ${JSON.stringify(MOD)};`,
        "const results = [];",
        'for (const name of ["revoked", "good"]) {',
        "  const account = await loadAccount({",
        "    account: name,",
        '    configFile: "./msmtprc",',
        "    env: { HOME: Deno.cwd() },",
        "  });",
        "  const transport = await createTransport(account);",
        "  try {",
        "    const info = await transport.sendMail({",
        '      envelope: { to: "team@example.org" },',
        '      raw: "Subject: crl\\n\\nok\\n",',
        "    });",
        "    results.push(info.accepted);",
        "  } catch (e) {",
        "    results.push((e as Error).message);",
        "  } finally {",
        "    await transport.close();",
        "  }",
        "}",
        "console.log(JSON.stringify(results));",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", `${dir}/deno.json`, `${dir}/script.ts`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), [
      "TLS certificate verification failed: The certificate is NOT trusted. The certificate chain is revoked. ",
      ["team@example.org"],
    ]);
    assert.deepEqual(servers.map((s) => s.sessions.filter((x) => x.delivered).length), [0, 1]);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
});
