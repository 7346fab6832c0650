import assert from "node:assert/strict";
import * as oracle from "mailauth/lib/mta-sts.js";
import {
  mxMatches,
  parseStsPolicy,
  stsDomainPolicy,
  StsError,
  stsRecordId,
} from "../../../lib/direct/mta_sts.ts";
import { fuzzSeed, Random } from "../../support/random.ts";

const POLICIES: string[] = [
  "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n",
  "version: STSv1\r\nmode: testing\r\nmx: *.example.net\r\nmx: backup.example.org\r\nmax_age: 604800\r\n",
  "version: STSv1\nmode: none\nmax_age: 0\n",
  "mode: enforce\nversion: STSv1\nmax_age: 31557600\nmx: MX.Example.COM\nmx: mx.example.com\n",
  "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
  "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 10\n",
  "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 10\n",
  "version: STSv1\nmode: enforce\nmax_age: 10\n",
  "version: STSv1\nmode: enforce\nmx: bad_name.example\nmax_age: 10\n",
  "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
  "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1e3\n",
  "version: STSv1\nmode: enforce\nmx: a.example\n",
  "version:STSv1\nmode:\tenforce \nmx:a.example\nmax_age:\t60\nextension_field: anything: at all\n",
  "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 60\n",
  "Version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n",
  " version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n",
  "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 60\n",
  "version: STSv1\nmode: enforce\nmx: *example\nmax_age: 60\n",
  "",
  "<html>not a policy</html>",
];

function mine(text: string): unknown {
  try {
    const p = parseStsPolicy(text);
    return {
      mode: p.mode,
      mx: p.mode === "none" && p.mx.length === 0 ? undefined : p.mx,
      maxAge: p.maxAge,
    };
  } catch (e) {
    assert.ok(e instanceof StsError, String(e));
    return "invalid";
  }
}

function theirs(text: string): unknown {
  try {
    const p = oracle.parsePolicy(text, { strict: true }) as {
      mode: string;
      mx?: string[];
      maxAge: number;
    };
    return { mode: p.mode, mx: p.mx, maxAge: p.maxAge };
  } catch {
    return "invalid";
  }
}

Deno.test("the policy parser agrees with mailauth's strict parser on valid and broken policies", () => {
  for (const text of POLICIES) assert.deepEqual(mine(text), theirs(text), JSON.stringify(text));
  // and on random recombinations of policy lines
  const lines = [
    "version: STSv1",
    "version: STSv2",
    "mode: enforce",
    "mode: testing",
    "mode: none",
    "mode: x",
    "mx: mx1.example.org",
    "mx: *.example.org",
    "mx: -bad.example",
    "max_age: 86400",
    "max_age: 99999999999",
    "max_age: ",
    "junk",
    "ext: 1",
    "mx: MX2.example.org.",
  ];
  const rng = new Random(fuzzSeed(8461));
  const random = () => rng.next();
  for (let i = 0; i < 2000; i++) {
    const n = 1 + Math.floor(random() * 7);
    const text = Array.from({ length: n }, () => lines[Math.floor(random() * lines.length)])
      .join(random() < 0.5 ? "\n" : "\r\n");
    assert.deepEqual(mine(text), theirs(text), JSON.stringify(text));
  }
});

Deno.test("the parser's verdicts are the RFC's, written out", () => {
  assert.deepEqual(parseStsPolicy(POLICIES[1]), {
    version: "STSv1",
    mode: "testing",
    mx: ["*.example.net", "backup.example.org"],
    maxAge: 604800,
  });
  assert.throws(() => parseStsPolicy(POLICIES[4]), /invalid or missing max_age field/);
  assert.throws(() => parseStsPolicy(POLICIES[5]), /invalid mode field Enforce/);
  assert.throws(() => parseStsPolicy(POLICIES[7]), /missing mx field/);
  assert.equal(
    parseStsPolicy(POLICIES[13]).mode,
    "enforce",
    "the first of a repeated field counts",
  );
});

Deno.test("MX names match patterns as mailauth's validateMx does", () => {
  const patterns = [["mail.example.com"], ["*.example.net"], ["*.example.net", "mx.other.org"]];
  const hosts = [
    "mail.example.com",
    "MAIL.example.com.",
    "x.mail.example.com",
    "a.example.net",
    "a.b.example.net",
    "example.net",
    ".example.net",
    "mx.other.org",
    "*.example.net",
    "",
  ];
  for (const mx of patterns) {
    for (const host of hosts) {
      const expected = oracle.validateMx(host, { mode: "enforce", mx }).valid as boolean;
      assert.equal(mxMatches(host, mx), expected, `${host} against ${mx}`);
    }
  }
  assert.equal(mxMatches("a.example.net", ["*.example.net"]), true);
  assert.equal(mxMatches("a.b.example.net", ["*.example.net"]), false);
});

Deno.test("the TXT record gives the id only when it is the one valid STSv1 record", () => {
  assert.equal(stsRecordId(["v=STSv1; id=20160831085700Z;"]), "20160831085700Z");
  assert.equal(stsRecordId(["v=spf1 -all", "v=STSv1;id=abc"]), "abc");
  assert.equal(stsRecordId(["v=STSv1; id=a", "v=STSv1; id=b"]), undefined);
  assert.equal(stsRecordId(["v=STSv1; id=has-dash"]), undefined);
  assert.equal(stsRecordId(["v=STSv1"]), undefined);
  assert.equal(stsRecordId(["v=STSv10; id=x"]), undefined);
  assert.equal(stsRecordId([]), undefined);
});

Deno.test("mode none is no policy; testing reports without refusing", () => {
  assert.equal(
    stsDomainPolicy({ version: "STSv1", mode: "none", mx: [], maxAge: 1 }, "system"),
    undefined,
  );
  const testing = stsDomainPolicy({
    version: "STSv1",
    mode: "testing",
    mx: ["a.example"],
    maxAge: 1,
  }, "/ca.pem");
  assert.deepEqual(testing?.tls, {
    kind: "verify",
    trustFile: "/ca.pem",
    testing: true,
    source: "MTA-STS testing",
  });
  assert.equal(testing?.testing, true);
});
