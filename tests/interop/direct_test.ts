/**
 * Direct delivery against real parts: a validating Unbound in front of NSD serving the test
 * domains, and real Postfix instances as their mail hosts on 127.0.0.2 and 127.0.0.3, port 25.
 */

import assert from "node:assert/strict";
import { createResolver } from "../../lib/direct/dns.ts";
import { deliverDirect, type DirectOptions } from "../../lib/direct/deliver.ts";
import { dnsUnavailable, startDns, type TestDns } from "../support/dns.ts";
import {
  type Postfix,
  postfixUnavailable,
  startPostfix,
  stripTraceHeaders,
} from "../support/postfix.ts";
import { createTestPki, issueLeaf, type TestPki } from "../support/pki.ts";
import { runPostie } from "../support/differential.ts";

const reason = postfixUnavailable() ?? dnsUnavailable();
const ignore = reason !== undefined && Deno.env.get("CI") !== "true";

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
];

interface World {
  dns: TestDns;
  pki: TestPki;
  mx1: Postfix;
  mx2: Postfix;
}

async function world(): Promise<World> {
  const pki = await createTestPki();
  const dns = await startDns([{ name: "direct.test", records: ZONE }]);
  const mx1Cert = await issueLeaf(pki, "mx1", ["mx1.direct.test"]);
  const mx2Cert = await issueLeaf(pki, "mx2", ["mx2.direct.test"]);
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
            "postie: deferred@soft.direct.test: mx2.direct.test [127.0.0.3]: recipient address deferred@soft.direct.test not accepted by the server (will be tried again)\n" +
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
