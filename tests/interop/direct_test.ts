/**
 * Direct delivery against real parts: a validating Unbound in front of NSD serving the test
 * domains, and real Postfix instances as their mail hosts on 127.0.0.2 and 127.0.0.3, port 25.
 */

import assert from "node:assert/strict";
import { createResolver } from "../../lib/direct/dns.ts";
import { deliverDirect, type DirectOptions } from "../../lib/direct/deliver.ts";
import { dnsUnavailable, startDns, type TestDns, type TestZone } from "../support/dns.ts";
import {
  type Postfix,
  postfixUnavailable,
  startPostfix,
  stripTraceHeaders,
} from "../support/postfix.ts";
import { type CertFiles, createTestPki, issueLeaf, type TestPki } from "../support/pki.ts";
import { runPostie } from "../support/differential.ts";
import { DEFAULT_SETTINGS } from "../../lib/config/account.ts";
import { deliverWithoutRelay } from "../../lib/direct/route.ts";
import type { Resolver } from "../../lib/direct/dns.ts";

const reason = postfixUnavailable() ?? dnsUnavailable();
const ignore = reason !== undefined && Deno.env.get("CI") !== "true";

/** Domains with an MTA-STS record; the last three serve something that is not a policy. */
const STS_DOMAINS = [
  "enf",
  "enfbad",
  "enfcert",
  "testing",
  "cache",
  "slow",
  "moved",
  "huge",
  "html",
];

const ZONE = [
  "mx1 A 127.0.0.2",
  "mx2 A 127.0.0.3",
  "mxdown A 127.0.0.9",
  "one MX 10 mx1",
  "down MX 10 mxdown",
  "down MX 20 mx1",
  "equal MX 10 mx1",
  "equal MX 10 mx2",
  "soft MX 10 mx1",
  "soft MX 20 mx2",
  "nomx A 127.0.0.2",
  "null MX 0 .",
  "noaddr MX 10 nowhere",
  'nowhere TXT "no address here"',
  // MTA-STS: policies served by one HTTPS server on 127.0.0.5:443
  "mx2alias A 127.0.0.3",
  ...STS_DOMAINS.flatMap((d) => [
    `_mta-sts.${d} TXT "v=STSv1; id=1"`,
    `mta-sts.${d} A ${d === "slow" ? "127.0.0.6" : "127.0.0.5"}`,
  ]),
  "enf MX 10 mx1",
  "enfbad MX 10 mx2",
  "enfcert MX 10 mx2alias",
  "testing MX 10 mx2alias",
  "cache MX 10 mx1",
  "slow MX 10 mx1",
  "moved MX 10 mx2",
  "huge MX 10 mx2",
  "html MX 10 mx2",
];

const POLICIES: Record<string, string> = {
  enf: "version: STSv1\nmode: enforce\nmx: mx1.direct.test\nmax_age: 86400\n",
  enfbad: "version: STSv1\nmode: enforce\nmx: mx1.direct.test\nmax_age: 86400\n",
  enfcert: "version: STSv1\nmode: enforce\nmx: *.direct.test\nmax_age: 86400\n",
  testing: "version: STSv1\nmode: testing\nmx: mx1.direct.test\nmax_age: 86400\n",
  cache: "version: STSv1\nmode: enforce\nmx: mx1.direct.test\nmax_age: 86400\n",
};

interface World {
  dns: TestDns;
  pki: TestPki;
  mx1: Postfix;
  mx2: Postfix;
}

/** What DANE zones are made from: mx1's certificate (with its CA after it) and the CA. */
interface Certificates {
  mx1: CertFiles;
  ca: CertFiles;
}

async function world(
  extraZones: (certs: Certificates) => Promise<TestZone[]> = () => Promise.resolve([]),
): Promise<World> {
  const pki = await createTestPki();
  // mx1 also answers as the DANE test hosts, with a certificate valid for all their names
  const mx1Leaf = await issueLeaf(pki, "mx1", [
    "mx1.direct.test",
    "mxee.dane.test",
    "mxbad.dane.test",
    "mxta.dane.test",
  ]);
  const mx1Cert = { cert: `${pki.dir}/mx1-chain.pem`, key: mx1Leaf.key };
  await Deno.writeTextFile(
    mx1Cert.cert,
    (await Deno.readTextFile(mx1Leaf.cert)) + (await Deno.readTextFile(pki.ca.cert)),
  );
  const mx2Cert = await issueLeaf(pki, "mx2", ["mx2.direct.test"]);
  const zones = await extraZones({ mx1: mx1Leaf, ca: pki.ca });
  const dns = await startDns([{ name: "direct.test", records: ZONE }, ...zones]);
  const [mx1, mx2] = await Promise.all([
    startPostfix({ address: "127.0.0.2", port: 25, certificate: mx1Cert }),
    startPostfix({ address: "127.0.0.3", port: 25, certificate: mx2Cert }),
  ]);
  return { dns, pki, mx1, mx2 };
}

async function stopWorld(w: World): Promise<void> {
  await Promise.all([w.mx1.stop(), w.mx2.stop(), w.dns.stop()]);
  await w.pki.remove();
}

const enc = new TextEncoder();

function options(
  w: World,
  recipients: string[],
  extra: Partial<DirectOptions> = {},
): DirectOptions {
  const subject = `direct ${crypto.randomUUID()}`;
  return {
    from: "cron@client.test",
    recipients,
    openData: () =>
      ReadableStream.from([enc.encode(`Subject: ${subject}\r\n\r\nhello\r\n..dot\r\n`)]),
    domain: "client.test",
    resolver: createResolver({ ipAddr: w.dns.address, port: w.dns.port }, 5000),
    timeoutMs: 10_000,
    ...extra,
  };
}

Deno.test({
  name: "direct delivery finds each domain's mail hosts and the mail arrives, over TLS",
  ignore,
  async fn(t) {
    const w = await world();
    try {
      await t.step(
        "one MX: delivered with opportunistic STARTTLS, read back from the mailbox",
        async () => {
          const notes: string[] = [];
          const result = await deliverDirect(
            options(w, ["alice@one.direct.test"], { note: (n) => notes.push(n) }),
          );
          assert.deepEqual(result.outcomes.map((o) => [o.recipient, o.status, o.via]), [
            ["alice@one.direct.test", "delivered", "mx1.direct.test [127.0.0.2] TLS"],
          ]);
          assert.equal(result.transactions[0].tls, true);
          assert.match(result.transactions[0].reply?.raw[0] ?? "", /^250 2\.0\.0 Ok: queued as /);
          const [raw] = await w.mx1.mailbox("alice@one.direct.test");
          assert.match(stripTraceHeaders(raw), /^Subject: direct .+\n\nhello\n\.dot\n$/);
          assert.match(
            await w.mx1.log(),
            /Anonymous TLS connection established from unknown\[127\.0\.0\.1\]|TLS connection established/,
          );
          assert.ok(
            notes.some((n) => n.includes("delivered to mx1.direct.test [127.0.0.2] with TLS")),
            notes.join("\n"),
          );
        },
      );

      await t.step("the first MX is down: the next preference takes the mail", async () => {
        const notes: string[] = [];
        const result = await deliverDirect(
          options(w, ["bob@down.direct.test"], { note: (n) => notes.push(n) }),
        );
        assert.equal(result.outcomes[0].status, "delivered");
        assert.equal(result.outcomes[0].via, "mx1.direct.test [127.0.0.2] TLS");
        assert.ok(
          notes.some((n) => n.startsWith("mxdown.direct.test [127.0.0.9]: cannot connect")),
          notes.join("\n"),
        );
        await w.mx1.mailbox("bob@down.direct.test");
      });

      await t.step(
        "equal preferences: the order is random, each host can get the mail",
        async () => {
          const first = await deliverDirect(
            options(w, ["eq1@equal.direct.test"], { random: () => 0 }),
          );
          const second = await deliverDirect(
            options(w, ["eq2@equal.direct.test"], { random: () => 0.99 }),
          );
          assert.equal(first.transactions[0].host, "mx2.direct.test");
          assert.equal(second.transactions[0].host, "mx1.direct.test");
          await w.mx2.mailbox("eq1@equal.direct.test");
          await w.mx1.mailbox("eq2@equal.direct.test");
        },
      );

      await t.step("no MX records: the domain's own address is the mail host", async () => {
        const result = await deliverDirect(options(w, ["carol@nomx.direct.test"]));
        assert.equal(result.outcomes[0].via, "nomx.direct.test [127.0.0.2] TLS");
        await w.mx1.mailbox("carol@nomx.direct.test");
      });

      await t.step("a null MX fails for good at once, without connecting anywhere", async () => {
        const result = await deliverDirect(options(w, ["x@null.direct.test"]));
        assert.deepEqual(result.outcomes, [{
          recipient: "x@null.direct.test",
          status: "permanent",
          message: "null.direct.test does not accept mail (null MX, RFC 7505)",
          exitCode: 68,
        }]);
        assert.deepEqual(result.transactions, []);
      });

      await t.step("a domain that does not exist fails for good", async () => {
        const result = await deliverDirect(options(w, ["x@nx.direct.test"]));
        assert.equal(result.outcomes[0].status, "permanent");
        assert.equal(result.outcomes[0].exitCode, 68);
        assert.equal(
          result.outcomes[0].message,
          "nx.direct.test has no mail server (no MX and no address records)",
        );
      });

      await t.step("4xx from every MX is a temporary failure", async () => {
        const notes: string[] = [];
        const result = await deliverDirect(
          options(w, ["deferred@soft.direct.test"], { note: (n) => notes.push(n) }),
        );
        assert.equal(result.outcomes.length, 1);
        const [o] = result.outcomes;
        assert.equal(o.status, "temporary");
        assert.equal(o.exitCode, 75);
        // the second MX was asked too: its answer is the one reported
        assert.equal(o.via, "mx2.direct.test [127.0.0.3] TLS");
        assert.equal(o.reply?.code, 451);
      });

      await t.step("an MX without an address, then nothing else: temporary", async () => {
        const result = await deliverDirect(options(w, ["x@noaddr.direct.test"]));
        assert.equal(result.outcomes[0].status, "temporary");
        assert.equal(
          result.outcomes[0].message,
          "mail host nowhere.direct.test of noaddr.direct.test has no address",
        );
      });

      await t.step(
        "5xx for one recipient fails only that one; the others get the mail",
        async () => {
          const result = await deliverDirect(options(w, [
            "rejected@one.direct.test",
            "dave@one.direct.test",
            "erin@nomx.direct.test",
          ]));
          assert.deepEqual(result.outcomes.map((o) => [o.recipient, o.status, o.reply?.code]), [
            ["rejected@one.direct.test", "permanent", 550],
            ["dave@one.direct.test", "delivered", 250],
            ["erin@nomx.direct.test", "delivered", 250],
          ]);
          await w.mx1.mailbox("dave@one.direct.test");
          await w.mx1.mailbox("erin@nomx.direct.test");
        },
      );

      await t.step(
        "the command line: a cron mail to root and to a remote address, logged",
        async () => {
          const dir = await Deno.makeTempDir();
          try {
            await Deno.mkdir(`${dir}/spool`);
            await Deno.writeTextFile(`${dir}/aliases`, "root: root, ops@one.direct.test\n");
            const rc = `${dir}/rc`;
            await Deno.writeTextFile(
              rc,
              `account default\ndirect on\ndns_server ${w.dns.server}\ndomain client.test\n` +
                `from cron@client.test\nmail_spool ${dir}/spool\nlocal_aliases ${dir}/aliases\n` +
                `logfile ${dir}/log\n`,
            );
            const result = await runPostie(["-C", rc, "root", "frank@one.direct.test"], {
              stdin: "Subject: cron job\n\nFrom the cron job: all done\n",
            });
            assert.equal(result.stderr, "");
            assert.equal(result.code, 0);
            const mbox = await Deno.readTextFile(`${dir}/spool/root`);
            assert.match(mbox, /^From cron@client\.test .+\nReturn-Path: <cron@client\.test>\n/);
            assert.match(mbox, /\nSubject: cron job\n\n>From the cron job: all done\n\n$/);
            const [ops] = await w.mx1.mailbox("ops@one.direct.test");
            assert.match(stripTraceHeaders(ops), /Subject: cron job\n/);
            await w.mx1.mailbox("frank@one.direct.test");
            const log = await Deno.readTextFile(`${dir}/log`);
            assert.match(
              log,
              /host=mx1\.direct\.test\[127\.0\.0\.2\] tls=on auth=off from=cron@client\.test recipients=frank@one\.direct\.test,ops@one\.direct\.test mailsize=\d+ smtpstatus=250 smtpmsg='250 2\.0\.0 Ok: queued as \w+' exitcode=EX_OK/,
            );
            assert.match(
              log,
              /host=localhost tls=off auth=off from=cron@client\.test recipients=root mailsize=\d+ exitcode=EX_OK/,
            );
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      );

      await t.step("the command line: temporary failures exit 75, a null MX exits 68", async () => {
        const dir = await Deno.makeTempDir();
        try {
          const rc = `${dir}/rc`;
          await Deno.writeTextFile(
            rc,
            `account default\ndirect on\ndns_server ${w.dns.server}\nfrom a@client.test\n`,
          );
          const soft = await runPostie(["-C", rc, "deferred@soft.direct.test"], {
            stdin: "Subject: x\n\ny\n",
          });
          assert.equal(soft.code, 75);
          assert.equal(
            soft.stderr,
            "postie: deferred@soft.direct.test: mx2.direct.test [127.0.0.3]: recipient address deferred@soft.direct.test not accepted by the server (temporary failure)\n" +
              "postie: server message: 451 4.3.0 <deferred@soft.direct.test>: Recipient address rejected: Recipient address deferred by the postie test server\n" +
              `postie: could not send mail (account default from ${rc})\n`,
          );
          const hard = await runPostie(["-C", rc, "x@null.direct.test"], {
            stdin: "Subject: x\n\ny\n",
          });
          assert.equal(hard.code, 68);
          assert.equal(
            hard.stderr,
            "postie: x@null.direct.test: null.direct.test does not accept mail (null MX, RFC 7505)\n" +
              `postie: could not send mail (account default from ${rc})\n`,
          );
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    } finally {
      await stopWorld(w);
    }
  },
});

Deno.test({
  name: "MTA-STS: policies fetched over HTTPS decide which MX may have the mail and require TLS",
  ignore,
  async fn(t) {
    const w = await world();
    const fetches: string[] = [];
    const stsCert = await issueLeaf(
      w.pki,
      "mta-sts",
      STS_DOMAINS.map((d) => `mta-sts.${d}.direct.test`),
    );
    const server = Deno.serve({
      hostname: "127.0.0.5",
      port: 443,
      cert: await Deno.readTextFile(stsCert.cert),
      key: await Deno.readTextFile(stsCert.key),
      onListen: () => {},
    }, (request) => {
      const host = new URL(request.url).hostname;
      fetches.push(host);
      const domain = /^mta-sts\.(\w+)\.direct\.test$/.exec(host)?.[1] ?? "";
      const url = new URL(request.url);
      // hostile or broken policy servers: each must leave the domain without a policy
      if (domain === "moved") {
        return new Response(null, {
          status: 301,
          headers: { location: "https://mta-sts.enf.direct.test/.well-known/mta-sts.txt" },
        });
      }
      if (domain === "huge") {
        return new Response(POLICIES.enf + "x: " + "y".repeat(100 * 1024) + "\n", {
          headers: { "content-type": "text/plain" },
        });
      }
      if (domain === "html") {
        return new Response(POLICIES.enf, { headers: { "content-type": "text/html" } });
      }
      if (url.pathname !== "/.well-known/mta-sts.txt" || !(domain in POLICIES)) {
        return new Response("not found", { status: 404 });
      }
      return new Response(POLICIES[domain], { headers: { "content-type": "text/plain" } });
    });
    // a policy host that accepts connections and never answers
    const silent = Deno.listen({ hostname: "127.0.0.6", port: 443 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of silent) held.push(conn);
    })().catch(() => {});
    const cacheDir = await Deno.makeTempDir();
    const resolver = (await import("../../lib/direct/dns.ts")).createResolver(
      { ipAddr: w.dns.address, port: w.dns.port },
      5000,
    );
    const send = async (recipients: string[], extra: { resolver?: Resolver } = {}) => {
      const notes: string[] = [];
      const result = await deliverWithoutRelay({
        settings: {
          ...DEFAULT_SETTINGS,
          direct: true,
          domain: "client.test",
          tls_trust_file: w.pki.ca.cert,
          timeout: 10,
        },
        from: "a@client.test",
        recipients,
        payload: ReadableStream.from([
          enc.encode(`Subject: sts ${crypto.randomUUID()}\r\n\r\nx\r\n`),
        ]),
        resolver: extra.resolver ?? resolver,
        stsCacheDir: cacheDir,
        stsTimeoutMs: 1000,
        note: (n) => notes.push(n),
      });
      return { ...result, notes };
    };
    try {
      await t.step(
        "enforce with a matching MX and a valid certificate: delivered over TLS",
        async () => {
          const r = await send(["a@enf.direct.test"]);
          assert.deepEqual(r.outcomes.map((o) => [o.status, o.via]), [[
            "delivered",
            "mx1.direct.test [127.0.0.2] TLS",
          ]]);
          assert.ok(fetches.includes("mta-sts.enf.direct.test"));
          await w.mx1.mailbox("a@enf.direct.test");
        },
      );

      await t.step("enforce with an MX outside the policy: not delivered, temporary", async () => {
        const r = await send(["b@enfbad.direct.test"]);
        assert.deepEqual(r.outcomes.map((o) => [o.status, o.exitCode, o.message]), [[
          "temporary",
          75,
          "mx2.direct.test is not an MX host allowed by the MTA-STS enforce policy of enfbad.direct.test",
        ]]);
        assert.deepEqual(r.transactions, []);
        const log = await w.mx2.log();
        assert.doesNotMatch(log, /b@enfbad\.direct\.test/);
      });

      await t.step(
        "enforce with an MX whose certificate is not for its name: not delivered",
        async () => {
          const r = await send(["c@enfcert.direct.test"]);
          assert.equal(r.outcomes[0].status, "temporary");
          assert.match(
            r.outcomes[0].message ?? "",
            /^mx2alias\.direct\.test \[127\.0\.0\.3\]: TLS certificate verification failed: The certificate is NOT trusted\. The name in the certificate does not match the expected\. ?$/,
          );
          assert.doesNotMatch(await w.mx2.log(), /c@enfcert\.direct\.test/);
        },
      );

      await t.step("testing mode: delivered anyway, the violations noted", async () => {
        const r = await send(["d@testing.direct.test"]);
        assert.equal(r.outcomes[0].status, "delivered");
        assert.equal(r.outcomes[0].via, "mx2alias.direct.test [127.0.0.3] TLS");
        assert.ok(
          r.notes.some((n) =>
            n.includes("is not an MX host allowed by the MTA-STS testing policy") &&
            n.endsWith("(testing mode: delivering anyway)")
          ),
          r.notes.join("\n"),
        );
        assert.ok(
          r.notes.some((n) =>
            n.startsWith(
              "MTA-STS testing: mx2alias.direct.test [127.0.0.3] would fail: TLS certificate verification failed",
            )
          ),
          r.notes.join("\n"),
        );
        await w.mx2.mailbox("d@testing.direct.test");
      });

      await t.step("the policy is cached, and fetched again when the TXT id changes", async () => {
        const count = () => fetches.filter((f) => f === "mta-sts.cache.direct.test").length;
        await send(["e@cache.direct.test"]);
        assert.equal(count(), 1);
        const cached = JSON.parse(await Deno.readTextFile(`${cacheDir}/cache.direct.test.json`));
        assert.equal(cached.id, "1");
        await send(["f@cache.direct.test"]);
        assert.equal(count(), 1, "same id: the cached policy is used");
        // the domain now points its MX at mx2 and publishes a new id and policy
        POLICIES.cache = "version: STSv1\nmode: enforce\nmx: mx2.direct.test\nmax_age: 86400\n";
        const changed: Resolver = {
          ...resolver,
          server: resolver.server,
          mx: (d) =>
            d === "cache.direct.test"
              ? Promise.resolve([{ preference: 10, exchange: "mx2.direct.test" }])
              : resolver.mx(d),
          addresses: (h) => resolver.addresses(h),
          txt: (n) =>
            n === "_mta-sts.cache.direct.test"
              ? Promise.resolve(["v=STSv1; id=2"])
              : resolver.txt(n),
        };
        const r = await send(["g@cache.direct.test"], { resolver: changed });
        assert.equal(count(), 2, "new id: fetched again");
        assert.equal(r.outcomes[0].via, "mx2.direct.test [127.0.0.3] TLS");
        assert.equal(
          JSON.parse(await Deno.readTextFile(`${cacheDir}/cache.direct.test.json`)).id,
          "2",
        );
        await w.mx2.mailbox("g@cache.direct.test");
      });

      await t.step("a redirect, a policy over 64 KiB, a wrong media type: no policy", async () => {
        const expected: [string, RegExp][] = [
          ["moved", /answered HTTP 301/],
          ["huge", /is larger than 64 KiB/],
          ["html", /is not text\/plain/],
        ];
        for (const [domain, reason] of expected) {
          const r = await send([`x@${domain}.direct.test`]);
          // each policy would have allowed only mx1: delivered to mx2, it was not applied
          assert.equal(r.outcomes[0].via, "mx2.direct.test [127.0.0.3] TLS", domain);
          const note = r.notes.find((n) => n.startsWith(`MTA-STS: ${domain}.direct.test: `));
          assert.ok(
            note && reason.test(note) && note.endsWith("delivering without a policy"),
            r.notes.join("\n"),
          );
        }
      });

      await t.step(
        "a policy fetch that times out: no policy, delivered, the failure noted",
        async () => {
          const started = Date.now();
          const r = await send(["h@slow.direct.test"]);
          assert.ok(Date.now() - started < 5000, "bounded by the fetch timeout");
          assert.equal(r.outcomes[0].status, "delivered");
          assert.ok(
            r.notes.some((n) =>
              n.startsWith(
                "MTA-STS: slow.direct.test: cannot fetch the MTA-STS policy from mta-sts.slow.direct.test:",
              ) && n.endsWith("delivering without a policy")
            ),
            r.notes.join("\n"),
          );
        },
      );
    } finally {
      for (const conn of held) conn.close();
      silent.close();
      await server.shutdown();
      await Deno.remove(cacheDir, { recursive: true });
      await stopWorld(w);
    }
  },
});

/** SHA-256 of a certificate's SubjectPublicKeyInfo (selector 1) or of the whole certificate, by openssl. */
async function tlsaHash(certFile: string, selector: 0 | 1): Promise<string> {
  const script = selector === 1
    ? `openssl x509 -in "${certFile}" -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex`
    : `openssl x509 -in "${certFile}" -outform der | openssl dgst -sha256 -hex`;
  const out = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).trim().split(" ").pop()!;
}

Deno.test({
  name: "DANE: validated TLSA records decide which certificate the MX may present",
  ignore,
  async fn(t) {
    const w = await world(async ({ mx1, ca }) => {
      const leafSpki = await tlsaHash(mx1.cert, 1);
      const caCert = await tlsaHash(ca.cert, 0);
      const wrong = "ab".repeat(32);
      return [
        {
          name: "dane.test",
          signed: true,
          records: [
            "ee MX 10 mxee",
            "mxee A 127.0.0.2",
            `_25._tcp.mxee TLSA 3 1 1 ${leafSpki}`,
            "bad MX 10 mxbad",
            "mxbad A 127.0.0.2",
            `_25._tcp.mxbad TLSA 3 1 1 ${wrong}`,
            "ta MX 10 mxta",
            "mxta A 127.0.0.2",
            `_25._tcp.mxta TLSA 2 0 1 ${caCert}`,
            // a validated MX pointing into an unsigned zone
            "via MX 10 mx.insecure.test.",
          ],
        },
        {
          name: "insecure.test",
          records: [
            // an MX answer nothing validates, pointing at a host with validated TLSA records
            "@ MX 10 mxbad.dane.test.",
            "mx A 127.0.0.2",
            `_25._tcp.mx TLSA 3 1 1 ${wrong}`,
          ],
        },
      ];
    });
    const send = async (recipient: string) => {
      const notes: string[] = [];
      const result = await deliverWithoutRelay({
        settings: {
          ...DEFAULT_SETTINGS,
          direct: true,
          domain: "client.test",
          dns_server: w.dns.server,
          mta_sts: false,
          timeout: 10,
        },
        from: "a@client.test",
        recipients: [recipient],
        payload: ReadableStream.from([
          enc.encode(`Subject: dane ${crypto.randomUUID()}\r\n\r\nx\r\n`),
        ]),
        note: (n) => notes.push(n),
      });
      return { ...result, notes };
    };
    try {
      await t.step("a matching DANE-EE record: delivered over TLS", async () => {
        const r = await send("a@ee.dane.test");
        assert.deepEqual(r.outcomes.map((o) => [o.status, o.via]), [[
          "delivered",
          "mxee.dane.test [127.0.0.2] TLS",
        ]], r.notes.join("\n"));
        await w.mx1.mailbox("a@ee.dane.test");
      });

      await t.step(
        "a matching DANE-TA record (the CA in the chain): delivered over TLS",
        async () => {
          const r = await send("b@ta.dane.test");
          assert.deepEqual(r.outcomes.map((o) => [o.status, o.via]), [[
            "delivered",
            "mxta.dane.test [127.0.0.2] TLS",
          ]], r.notes.join("\n"));
          await w.mx1.mailbox("b@ta.dane.test");
        },
      );

      await t.step(
        "a mismatching record: not delivered, although the certificate is valid for the name",
        async () => {
          const r = await send("c@bad.dane.test");
          assert.equal(r.outcomes[0].status, "temporary");
          assert.equal(
            r.outcomes[0].message,
            "mxbad.dane.test [127.0.0.2]: mxbad.dane.test: the certificate matches none of the DANE TLSA records",
          );
          await w.mx1.mailbox("", { count: 0 });
          assert.doesNotMatch(await w.mx1.log(), /c@bad\.dane\.test/);
        },
      );

      await t.step(
        "TLSA records in an unsigned zone are ignored: delivered as without DANE",
        async () => {
          const r = await send("d@via.dane.test");
          assert.equal(r.outcomes[0].status, "delivered");
          assert.equal(r.outcomes[0].via, "mx.insecure.test [127.0.0.2] TLS");
          assert.ok(
            r.notes.includes(
              "DANE: the TLSA records of mx.insecure.test are not DNSSEC-validated; ignored",
            ),
            r.notes.join("\n"),
          );
          await w.mx1.mailbox("d@via.dane.test");
        },
      );

      await t.step(
        "an MX answer that is not validated: its hosts' TLSA records are not used",
        async () => {
          // mxbad.dane.test's validated TLSA record matches nothing: applied, it would refuse
          const r = await send("e@insecure.test");
          assert.equal(r.outcomes[0].status, "delivered", r.notes.join("\n"));
          assert.equal(r.outcomes[0].via, "mxbad.dane.test [127.0.0.2] TLS");
          assert.ok(
            r.notes.includes(
              "DANE: the MX records of insecure.test are not DNSSEC-validated; no TLSA lookup",
            ),
            r.notes.join("\n"),
          );
          await w.mx1.mailbox("e@insecure.test");
        },
      );
    } finally {
      await stopWorld(w);
    }
  },
});
