import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { checkDane, daneResolver, type TlsaRecord, usableTlsa } from "../../../lib/direct/dane.ts";
import { createTestPki, issueLeaf } from "../../support/pki.ts";

const NO_MATCH = "the certificate matches none of the DANE TLSA records";

function der(pem: string): Uint8Array {
  return new Uint8Array(new X509Certificate(pem).raw);
}

function spki(pem: string): Uint8Array {
  return new Uint8Array(new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" }));
}

function hash(algorithm: "sha256" | "sha512", bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(bytes).digest());
}

function tlsa(usage: number, selector: number, matchingType: number, data: Uint8Array): TlsaRecord {
  return { usage, selector, matchingType, data };
}

Deno.test("DANE checks a presented chain against TLSA records as RFC 7672 says", async (t) => {
  const pki = await createTestPki();
  try {
    const leafFiles = await issueLeaf(pki, "mx", ["mx.example.test"]);
    const leaf = await Deno.readTextFile(leafFiles.cert);
    const ca = await Deno.readTextFile(pki.ca.cert);
    const stranger = await Deno.readTextFile(pki.untrusted.cert);
    const otherCa = await Deno.readTextFile(pki.otherCa.cert);
    const chain = [der(leaf), der(ca)];

    await t.step(
      "DANE-EE matches the server's own certificate in every selector and matching type",
      () => {
        for (
          const record of [
            tlsa(3, 1, 1, hash("sha256", spki(leaf))),
            tlsa(3, 0, 2, hash("sha512", der(leaf))),
            tlsa(3, 1, 0, spki(leaf)),
            tlsa(3, 0, 0, der(leaf)),
          ]
        ) {
          assert.equal(checkDane(chain, [record], "mx.example.test"), undefined);
          // names do not matter for DANE-EE
          assert.equal(checkDane(chain, [record], "other.example.test"), undefined);
        }
        assert.equal(
          checkDane(chain, [tlsa(3, 1, 1, hash("sha256", spki(ca)))], "mx.example.test"),
          NO_MATCH,
        );
      },
    );

    await t.step("DANE-TA matches an issuer that signed the chain, for the right name only", () => {
      const anchor = tlsa(2, 0, 1, hash("sha256", der(ca)));
      assert.equal(checkDane(chain, [anchor], "mx.example.test"), undefined);
      assert.equal(checkDane(chain, [anchor], "wrong.example.test"), NO_MATCH);
      // the anchor appended to a chain it did not sign
      assert.equal(checkDane([der(stranger), der(ca)], [anchor], "localhost"), NO_MATCH);
      // the anchor must be an issuer, not the server's own certificate
      assert.equal(
        checkDane([der(leaf)], [tlsa(2, 0, 1, hash("sha256", der(leaf)))], "mx.example.test"),
        NO_MATCH,
      );
      assert.equal(
        checkDane(
          [der(stranger), der(otherCa)],
          [tlsa(2, 1, 1, hash("sha256", spki(otherCa)))],
          "localhost",
        ),
        undefined,
      );
    });

    await t.step("no certificate, or garbage, is refused", () => {
      assert.equal(
        checkDane([], [tlsa(3, 1, 1, new Uint8Array(32))], "x"),
        "the server presented no certificate",
      );
      assert.equal(
        checkDane([new Uint8Array([1, 2, 3])], [tlsa(3, 1, 1, new Uint8Array(32))], "x"),
        "the server's certificate cannot be read",
      );
    });
  } finally {
    await pki.remove();
  }
});

Deno.test("only DANE-TA and DANE-EE records with known selectors and matching types are usable", () => {
  const r = (usage: number, selector: number, matchingType: number) =>
    tlsa(usage, selector, matchingType, new Uint8Array(32));
  assert.deepEqual(
    usableTlsa([r(0, 1, 1), r(1, 1, 1), r(2, 0, 1), r(3, 1, 2), r(3, 2, 1), r(3, 1, 3), r(4, 1, 1)])
      .map((x) => [x.usage, x.selector, x.matchingType]),
    [[2, 0, 1], [3, 1, 2]],
  );
});

Deno.test("DANE asks dns_server, else the first nameserver of resolv.conf", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/resolv.conf`,
      "# comment\nsearch lan\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n",
    );
    assert.deepEqual(daneResolver(undefined, `${dir}/resolv.conf`), {
      ipAddr: "192.0.2.53",
      port: 53,
    });
    assert.deepEqual(daneResolver({ ipAddr: "127.0.0.1", port: 5353 }, `${dir}/resolv.conf`), {
      ipAddr: "127.0.0.1",
      port: 5353,
    });
    assert.equal(daneResolver(undefined, `${dir}/missing`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
