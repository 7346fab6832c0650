/**
 * A throw-away test PKI made with the `openssl` command: a CA, server certificates signed by
 * it (good, expired, for another name), a client certificate and a second, untrusted CA.
 *
 * rustls (behind `Deno.startTls`) refuses a self-signed leaf used as its own CA, so every
 * server certificate here is a leaf with SANs signed by a separate CA.
 *
 * @module
 */

/** A PEM certificate and its unencrypted PEM key, as files. */
export interface CertFiles {
  /** Path of the PEM certificate. */
  cert: string;
  /** Path of the PEM private key. */
  key: string;
}

/** Every file of the test PKI. Call {@linkcode TestPki.remove} when done. */
export interface TestPki {
  /** The temporary directory holding every file. */
  dir: string;
  /** The trusted test CA (subject `C=DE,O=Test Org,CN=Postie Test CA`). */
  ca: CertFiles;
  /** A CA nobody trusts; its leaf is {@linkcode TestPki.untrusted}. */
  otherCa: CertFiles;
  /** Leaf for `DNS:localhost` and `IP:127.0.0.1` (subject `C=DE,O=Test Org,CN=localhost`). */
  server: CertFiles;
  /** Like {@linkcode TestPki.server} but expired a day before it became valid. */
  expired: CertFiles;
  /** Leaf for `DNS:mail.example.org` only, signed by the trusted CA. */
  otherName: CertFiles;
  /** Leaf for localhost signed by {@linkcode TestPki.otherCa}. */
  untrusted: CertFiles;
  /** A client certificate (`CN=postie client`) signed by the trusted CA. */
  client: CertFiles;
  /** Leaf for localhost signed by the trusted CA and revoked in {@linkcode TestPki.crl}. */
  revoked: CertFiles;
  /** A PEM CRL (version 2) of the trusted CA that revokes {@linkcode TestPki.revoked} only. */
  crl: string;
  /** Deletes the directory. */
  remove(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`openssl ${args.join(" ")} failed: ${stderr}`);
  }
}

/** EC keys keep generation fast; the TLS stacks under test handle them like RSA. */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function makeCa(dir: string, name: string, cn: string): Promise<CertFiles> {
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "3650",
    "-subj",
    `/C=DE/O=Test Org/CN=${cn}`,
  ]);
  return { cert: `${dir}/${name}.pem`, key: `${dir}/${name}.key` };
}

async function makeLeaf(
  dir: string,
  name: string,
  ca: CertFiles,
  options: { cn: string; san?: string; days: number; client?: boolean },
): Promise<CertFiles> {
  await openssl(dir, [
    "req",
    ...NEW_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/C=DE/O=Test Org/CN=${options.cn}`,
  ]);
  const extensions = [
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    `extendedKeyUsage = ${options.client ? "clientAuth" : "serverAuth"}`,
  ];
  if (options.san) extensions.push(`subjectAltName = ${options.san}`);
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions.join("\n") + "\n");
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    // Explicit serials: -CAcreateserial would race on one serial file across parallel calls.
    "-set_serial",
    String(Math.floor(Math.random() * 2 ** 48)),
    // A negative count makes notAfter earlier than notBefore: expired from the start.
    "-days",
    String(options.days),
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
  return { cert: `${dir}/${name}.pem`, key: `${dir}/${name}.key` };
}

/** Revokes `leaf` in the CA's database and writes the CA's CRL (v2: it has a CRL number). */
async function makeCrl(dir: string, ca: CertFiles, leaf: CertFiles): Promise<string> {
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/crlnumber`, "01\n");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\ncrlnumber = crlnumber\n" +
      "default_md = sha256\ndefault_crl_days = 30\n",
  );
  const ca_ = ["-config", "ca.cnf", "-keyfile", ca.key, "-cert", ca.cert];
  await openssl(dir, ["ca", ...ca_, "-revoke", leaf.cert]);
  await openssl(dir, ["ca", ...ca_, "-gencrl", "-out", "crl.pem"]);
  return `${dir}/crl.pem`;
}

/**
 * Generates the test PKI in a new temporary directory.
 *
 * @example Usage
 * ```ts
 * import { createTestPki } from "./pki.ts";
 * const pki = await createTestPki();
 * console.log(pki.server.cert);
 * await pki.remove();
 * ```
 */
export async function createTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "postie-pki-" });
  try {
    const ca = await makeCa(dir, "ca", "Postie Test CA");
    const otherCa = await makeCa(dir, "other-ca", "Untrusted Test CA");
    const local = "DNS:localhost, IP:127.0.0.1";
    const [server, expired, otherName, untrusted, client, revoked] = await Promise.all([
      makeLeaf(dir, "server", ca, { cn: "localhost", san: local, days: 365 }),
      makeLeaf(dir, "expired", ca, { cn: "localhost", san: local, days: -1 }),
      makeLeaf(dir, "other-name", ca, {
        cn: "mail.example.org",
        san: "DNS:mail.example.org",
        days: 365,
      }),
      makeLeaf(dir, "untrusted", otherCa, { cn: "localhost", san: local, days: 365 }),
      makeLeaf(dir, "client", ca, { cn: "postie client", days: 365, client: true }),
      makeLeaf(dir, "revoked", ca, { cn: "localhost", san: local, days: 365 }),
    ]);
    const crl = await makeCrl(dir, ca, revoked);
    return {
      dir,
      ca,
      otherCa,
      server,
      expired,
      otherName,
      untrusted,
      client,
      revoked,
      crl,
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

/**
 * Issues one more server certificate from the test PKI's trusted CA (or its untrusted one),
 * for the given DNS names, into the PKI's directory.
 *
 * @example Usage
 * ```ts
 * import { createTestPki, issueLeaf } from "./pki.ts";
 * const pki = await createTestPki();
 * const mx = await issueLeaf(pki, "mx1", ["mx1.direct.test"]);
 * console.log(mx.cert.endsWith("/mx1.pem")); // true
 * await pki.remove();
 * ```
 */
export async function issueLeaf(
  pki: TestPki,
  name: string,
  dnsNames: string[],
  options: { untrusted?: boolean; days?: number } = {},
): Promise<CertFiles> {
  return await makeLeaf(pki.dir, name, options.untrusted ? pki.otherCa : pki.ca, {
    cn: dnsNames[0],
    san: dnsNames.map((n) => `DNS:${n}`).join(", "),
    days: options.days ?? 365,
  });
}
