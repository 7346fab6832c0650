import assert from "node:assert/strict";

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
