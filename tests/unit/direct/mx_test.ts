import assert from "node:assert/strict";
import { parseDnsServer } from "../../../lib/direct/dns.ts";
import { groupByDomain, mailHosts, NoMailHostError, orderMx } from "../../../lib/direct/mx.ts";
import { overallExitCode } from "../../../lib/direct/outcome.ts";
import { DnsError } from "../../../lib/direct/dns.ts";

const mx = (preference: number, exchange: string) => ({ preference, exchange });

Deno.test("MX hosts are tried by ascending preference", () => {
  const hosts = orderMx("x.org", [mx(30, "c"), mx(10, "a"), mx(20, "b")], () => 0.5);
  assert.deepEqual(hosts.map((h) => [h.name, h.preference]), [["a", 10], ["b", 20], ["c", 30]]);
});

Deno.test("equal preferences are shuffled: every order occurs, none depends on the DNS order", () => {
  const seen = new Map<string, number>();
  let seed = 1;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let i = 0; i < 600; i++) {
    const records = i % 2
      ? [mx(5, "b"), mx(5, "a"), mx(5, "c")]
      : [mx(5, "c"), mx(5, "a"), mx(5, "b")];
    const key = orderMx("x.org", [mx(1, "first"), ...records], random).map((h) => h.name).join(",");
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  assert.equal(seen.size, 6);
  for (const [order, count] of seen) {
    assert.ok(order.startsWith("first,"), order);
    assert.ok(count > 60 && count < 140, `${order}: ${count}`);
  }
  // the same random numbers give the same order whatever order the DNS answered in
  assert.deepEqual(
    orderMx("x", [mx(5, "b"), mx(5, "a")], () => 0).map((h) => h.name),
    orderMx("x", [mx(5, "a"), mx(5, "b")], () => 0).map((h) => h.name),
  );
});

Deno.test("a null MX alone means no mail; beside real MX records it is ignored", () => {
  assert.throws(() => orderMx("x.org", [mx(0, "")]), NoMailHostError);
  assert.deepEqual(orderMx("x.org", [mx(0, ""), mx(10, "mx.x.org")]).map((h) => h.name), [
    "mx.x.org",
  ]);
});

Deno.test("a host listed twice is tried once", () => {
  assert.deepEqual(orderMx("x", [mx(10, "a"), mx(20, "A"), mx(30, "b")]).map((h) => h.name), [
    "a",
    "b",
  ]);
});

Deno.test("without MX records the domain is its own mail host; without addresses there is none", async () => {
  const resolver = (addresses: string[]) => ({
    server: undefined,
    mx: () => Promise.resolve([]),
    addresses: () => Promise.resolve(addresses),
    txt: () => Promise.resolve([]),
  });
  assert.deepEqual(await mailHosts("h.example", resolver(["192.0.2.1"])), [
    { name: "h.example", preference: 0, implicit: true },
  ]);
  await assert.rejects(
    mailHosts("h.example", resolver([])),
    (e: unknown) =>
      e instanceof NoMailHostError && e.exitCode === 68 &&
      e.message === "h.example has no mail server (no MX and no address records)",
  );
  const failing = {
    ...resolver([]),
    mx: () => Promise.reject(new DnsError("MX", "h.example", "timed out")),
  };
  await assert.rejects(
    mailHosts("h.example", failing),
    (e: unknown) => e instanceof DnsError && e.exitCode === 75,
  );
});

Deno.test("recipients are grouped by domain without case, in order of first appearance", () => {
  assert.deepEqual([...groupByDomain(["a@X.org", "root", "b@y.org.", "c@x.ORG"])], [
    ["x.org", ["a@X.org", "c@x.ORG"]],
    ["y.org", ["b@y.org."]],
  ]);
});

Deno.test("dns_server arguments: IPv4 and IPv6, with and without a port", () => {
  assert.deepEqual(parseDnsServer("192.0.2.53"), { ipAddr: "192.0.2.53", port: 53 });
  assert.deepEqual(parseDnsServer("127.0.0.1:5353"), { ipAddr: "127.0.0.1", port: 5353 });
  assert.deepEqual(parseDnsServer("::1"), { ipAddr: "::1", port: 53 });
  assert.deepEqual(parseDnsServer("[2001:db8::1]:530"), { ipAddr: "2001:db8::1", port: 530 });
  for (const bad of ["", "ns.example", "1.2.3.256", "127.0.0.1:0", "127.0.0.1:70000", "[::1]:x"]) {
    assert.equal(parseDnsServer(bad), undefined, bad);
  }
});

Deno.test("the exit code of a delivery: permanent beats temporary, temporary beats success", () => {
  const ok = { recipient: "a", status: "delivered" as const, exitCode: 0 as const };
  const temp = { recipient: "b", status: "temporary" as const, exitCode: 75 as const };
  const perm = { recipient: "c", status: "permanent" as const, exitCode: 68 as const };
  assert.equal(overallExitCode([ok]), 0);
  assert.equal(overallExitCode([ok, temp]), 75);
  assert.equal(overallExitCode([temp, perm, ok]), 68);
});
