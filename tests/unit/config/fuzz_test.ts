/**
 * Fuzzing the two configuration readers: random and mutated msmtprc and TOML text must
 * end in accounts or in a one-line ConfigError with exit code 78, never in another
 * exception or a hang. Deterministic: set POSTIE_FUZZ_SEED to replay a reported seed.
 */
import assert from "node:assert/strict";
import { buildAccounts, type BuiltAccount, toAccount } from "../../../lib/config/build.ts";
import { parseMsmtprc } from "../../../lib/config/msmtprc.ts";
import { parseTomlConfig, type TomlOptions } from "../../../lib/config/toml.ts";
import { msmtprcToToml } from "../../../lib/config/to_toml.ts";
import { COMMAND_NAMES } from "../../../lib/config/values.ts";
import { ConfigError } from "../../../lib/errors.ts";
import type { ConfigSource } from "../../../lib/config/source.ts";
import { fuzzSeed, Random } from "../../support/random.ts";

const TESTDATA = new URL("../../testdata/config/", import.meta.url);
const INPUTS = 3000;
/** A single input taking this long is a hang for our purposes. */
const SLOW_MS = 2000;

const NASTY = [
  ..." \t\r\n\0\"'#:,=.[]{}\\",
  "\x01",
  "\x0b",
  "\x7f",
  "é",
  "€",
  "😀",
  "\ud800",
  "\ufeff",
  "account",
  "defaults",
  "on",
  "off",
  "auto",
  "0x1f",
  "99999",
  "-1",
  "~",
  "%H",
  ...COMMAND_NAMES,
];

const ODD_NAMES = [
  "a",
  "default",
  "",
  " ",
  "a b",
  "a:b",
  "a,b",
  ":",
  ",",
  "a : b, c",
  "x:",
  ":y",
  '"q"',
  "é",
  "#",
  "a\tb",
];

function randomText(r: Random, maxParts: number): string {
  let out = "";
  const parts = r.int(maxParts);
  for (let i = 0; i < parts; i++) {
    out += r.chance(0.7)
      ? r.pick(NASTY)
      : String.fromCharCode(r.chance(0.8) ? 32 + r.int(95) : r.int(0x3000));
  }
  return out;
}

/** One msmtprc line that is likely to mean something (or almost). */
function msmtprcLine(r: Random): string {
  switch (r.int(6)) {
    case 0:
      return `account ${r.pick(ODD_NAMES)}${
        r.chance(0.5) ? ` : ${r.pick(ODD_NAMES)}, ${r.pick(ODD_NAMES)}` : ""
      }`;
    case 1:
      return r.chance(0.8) ? "defaults" : `defaults ${randomText(r, 3)}`;
    case 2:
      return `${r.pick(COMMAND_NAMES)}${r.chance(0.8) ? " " + randomText(r, 4) : ""}`;
    case 3:
      return `${r.pick(COMMAND_NAMES)} "${randomText(r, 3)}"`;
    case 4:
      return `# ${randomText(r, 5)}`;
    default:
      return randomText(r, 8);
  }
}

/** One TOML line that is likely to mean something (or almost). */
function tomlLine(r: Random): string {
  const name = JSON.stringify(r.pick(ODD_NAMES));
  const key = r.chance(0.9) ? r.pick(COMMAND_NAMES) : randomText(r, 2);
  const values = [
    "true",
    "false",
    "25",
    "-3",
    "1.5",
    "1e309",
    "0x19",
    "1979-05-27",
    '"off"',
    '""',
    `"${randomText(r, 4).replace(/["\\\n\r]/g, "")}"`,
    `'${randomText(r, 4).replace(/['\n\r]/g, "")}'`,
    '"""\nmulti\n"""',
    '{ env = "SMTP_PASSWORD" }',
    '{ env = "MISSING" }',
    '{ env = "NEWLINE" }',
    '{ env = "BAD-NAME" }',
    "{ env = 3 }",
    "[1, 2]",
    "{}",
  ];
  switch (r.int(8)) {
    case 0:
      return `[accounts.${name}]`;
    case 1:
      return r.chance(0.5) ? "[defaults]" : "[[defaults]]";
    case 2:
      return `inherit = [${name}, ${JSON.stringify(r.pick(ODD_NAMES))}]`;
    case 3:
      return r.pick([`default = ${name}`, 'env_file = "smtp.env"', "env_file = 3", "x = 1"]);
    case 4:
      return `accounts.${name}.${key} = ${r.pick(values)}`;
    case 5:
      return randomText(r, 8);
    default:
      return `${key} = ${r.pick(values)}`;
  }
}

/** Applies 1–5 structural and byte-level mutations. */
function mutate(r: Random, text: string, line: (r: Random) => string): string {
  const lines = text.split("\n");
  const rounds = 1 + r.int(5);
  for (let k = 0; k < rounds; k++) {
    const i = r.int(lines.length + 1);
    switch (r.int(11)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        if (i < lines.length) lines.splice(i, 0, lines[i]);
        break;
      case 2: {
        const j = r.int(lines.length);
        if (i < lines.length) [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      case 3: {
        const target = lines[i] ?? "";
        const at = r.int(target.length + 1);
        lines[i] = target.slice(0, at) + randomText(r, 4) + target.slice(at);
        break;
      }
      case 4:
        lines.splice(i, 0, "x".repeat(400 + r.int(20000)));
        break;
      case 5: {
        // Cycles and self-references: msmtprc parents must come first, so these fail.
        const a = r.pick(["a", "b", "c", "default"]);
        const b = r.pick(["a", "b", "c", "default"]);
        lines.splice(i, 0, `account ${a} : ${b}`, `account ${b} : ${a}`);
        break;
      }
      case 6:
        lines.splice(i, 0, "[".repeat(1 + r.int(3000)));
        break;
      case 7: {
        const target = lines[i] ?? "";
        const at = r.int(target.length + 1);
        lines[i] = target.slice(0, at) + r.pick([":", '"', "'", ",", "=", "\\", "\r", "\0"]) +
          target.slice(at);
        break;
      }
      case 8: {
        const target = lines[i] ?? "";
        const at = r.int(target.length + 1);
        lines[i] = target.slice(0, at) + target.slice(at + 1 + r.int(5));
        break;
      }
      default:
        lines.splice(i, 0, line(r));
    }
  }
  return lines.join(r.chance(0.1) ? "\r\n" : "\n");
}

/** `eval` runs shell commands: never let a mutated line become one. */
function stripEval(text: string): string {
  return text.split("\n").filter((l) => !/^[ \t]*eval(?![^ \t\r\0])/.test(l)).join("\n");
}

async function corpus(extension: string): Promise<string[]> {
  const texts: string[] = [];
  for await (const entry of Deno.readDir(TESTDATA)) {
    if (entry.name.endsWith(extension)) {
      texts.push(await Deno.readTextFile(new URL(entry.name, TESTDATA)));
    }
  }
  texts.sort();
  assert.ok(texts.length > 0, `no ${extension} files in the corpus`);
  return texts;
}

/** Fails unless `error` is the one kind of failure a configuration may end in. */
function assertConfigError(error: unknown, describe: () => string): void {
  if (!(error instanceof ConfigError)) {
    assert.fail(`${describe()}\nthrew ${error instanceof Error ? error.stack : String(error)}`);
  }
  assert.equal(error.exitCode, 78, describe());
  assert.ok(!error.message.includes("\n"), `${describe()}\nmessage: ${error.message}`);
}

function describer(kind: string, seed: number, index: number, text: string): () => string {
  return () =>
    `${kind} fuzz failed: POSTIE_FUZZ_SEED=${seed}, input ${index}: ${
      JSON.stringify(text.length > 2000 ? text.slice(0, 2000) + "…" : text)
    }`;
}

function meaning(accounts: BuiltAccount[]): unknown[] {
  return accounts.map((a) => ({ name: a.name, base: a.base, own: a.own }));
}

const TOML_VARS: Record<string, string> = {
  SMTP_PASSWORD: "s3cret",
  NEWLINE: "a\nb",
  WORK_PASSWORD: "w",
  PERSONAL_PASSWORD: "p",
};

const TOML_OPTIONS: TomlOptions = {
  env: (name) => TOML_VARS[name],
  home: "/h",
  readEnvFile: (path) =>
    path.endsWith("smtp.env")
      ? Promise.resolve({ FROM_FILE: "x" })
      : Promise.reject(new ConfigError("No such file or directory", { file: path })),
};

Deno.test("random and mutated msmtprc text ends in accounts or a one-line config error", async () => {
  const seed = fuzzSeed(0x5eed0001);
  const r = new Random(seed);
  const texts = await corpus(".msmtprc");
  let built = 0;
  let evalCalls = 0;
  const evalCommand = (): Promise<string | undefined> => {
    evalCalls++;
    return Promise.resolve(undefined);
  };
  for (let i = 0; i < INPUTS; i++) {
    const raw = r.chance(0.8)
      ? mutate(r, r.pick(texts), msmtprcLine)
      : Array.from({ length: r.int(30) }, () => msmtprcLine(r)).join("\n");
    const text = stripEval(raw);
    const describe = describer("msmtprc", seed, i, text);
    const started = performance.now();
    let source: ConfigSource | undefined;
    try {
      source = await parseMsmtprc(text, "rc", { evalCommand });
      const accounts = buildAccounts(source, { home: "/h" });
      accounts.forEach(toAccount);
      built++;
      // Every file that loads also converts to TOML meaning the same accounts.
      const back = await parseTomlConfig(msmtprcToToml(source), "converted.toml", TOML_OPTIONS);
      assert.deepEqual(meaning(buildAccounts(back, { home: "/h" })), meaning(accounts), describe());
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assertConfigError(e, describe);
    }
    assert.ok(performance.now() - started < SLOW_MS, `${describe()}\ntoo slow`);
  }
  assert.equal(evalCalls, 0, `seed ${seed}: an eval line reached the reader`);
  // A fuzzer that never gets past the reader tests only its first line.
  assert.ok(built > INPUTS / 20, `seed ${seed}: only ${built} inputs built`);
});

Deno.test("random and mutated TOML text ends in accounts or a one-line config error", async () => {
  const seed = fuzzSeed(0x5eed0002);
  const r = new Random(seed);
  const texts = await corpus(".toml");
  for (const rc of await corpus(".msmtprc")) {
    const source = await parseMsmtprc(rc, "rc", { evalCommand: () => Promise.resolve(undefined) });
    texts.push(msmtprcToToml(source));
  }
  let built = 0;
  for (let i = 0; i < INPUTS; i++) {
    const text = r.chance(0.8)
      ? mutate(r, r.pick(texts), tomlLine)
      : Array.from({ length: r.int(20) }, () => tomlLine(r)).join("\n");
    const describe = describer("TOML", seed, i, text);
    const started = performance.now();
    try {
      const source = await parseTomlConfig(text, "c.toml", TOML_OPTIONS);
      buildAccounts(source, { home: "/h" }).forEach(toAccount);
      built++;
    } catch (e) {
      assertConfigError(e, describe);
    }
    assert.ok(performance.now() - started < SLOW_MS, `${describe()}\ntoo slow`);
  }
  assert.ok(built > INPUTS / 20, `seed ${seed}: only ${built} inputs built`);
});
