/**
 * Private, throw-away mail servers on loopback for postie's interop matrix: Exim4, OpenSMTPD,
 * Dovecot's LMTP server and python3-aiosmtpd. Each helper writes its own configuration into a
 * temporary directory (spool, logs, TLS files and mail store live there too), runs the server
 * in the foreground as a child process in its own process group (through util-linux
 * `setsid`), and {@linkcode MailServer.stop} ends that group by its PID and deletes the
 * directory. Nothing reads or changes `/etc` configuration or talks to a system service.
 *
 * Every server listens on free 127.0.0.1 ports, offers STARTTLS and implicit TLS where the
 * software can, with a leaf certificate for `DNS:localhost, IP:127.0.0.1` from a test CA
 * ({@linkcode MailServer.caFile}), and delivers every accepted mail into one store the test
 * reads back with {@linkcode MailServer.messages}.
 *
 * Exim4 and OpenSMTPD conflict in Debian with the Postfix the other interop tests use (one
 * `mail-transport-agent` at a time), so their packages may instead be unpacked with
 * `dpkg-deb -x` under {@linkcode INTEROP_ROOT}; see `scripts/interop_packages.txt`.
 * The `*Unavailable` functions tell why a server cannot run here, for `Deno.test`'s `ignore`.
 *
 * @module
 */

import { createTestPki } from "./pki.ts";
import { startCaptureServer } from "../../scripts/capture_server.ts";
import { canConnect, delay, exists, freePort, userIds } from "./process.ts";

/** Where `dpkg-deb -x` unpacks packages that cannot be installed beside Postfix. */
export const INTEROP_ROOT: string = Deno.env.get("POSTIE_INTEROP_ROOT") ?? "/opt/postie-interop";

/** A user name and password a server accepts for SMTP AUTH. */
export const AUTH_USER = "alice";
/** The password of {@linkcode AUTH_USER}. */
export const AUTH_PASSWORD = "s3cret-pw";

/** A running private server; call {@linkcode MailServer.stop} when done. */
export interface MailServer {
  /** A short name for messages. */
  name: string;
  host: "127.0.0.1";
  /** Plain SMTP/LMTP port; STARTTLS is offered there when {@linkcode starttls} is true. */
  port: number;
  /** Whether {@linkcode port} offers STARTTLS. */
  starttls: boolean;
  /** Port speaking TLS from the first byte, if the server does it. */
  tlsPort?: number;
  /** AUTH mechanisms offered (after TLS), as configured here. */
  authMechanisms: string[];
  /** PEM file of the test CA that signed the server certificate. */
  caFile: string;
  /** The temporary directory holding the whole instance. */
  dir: string;
  /**
   * Waits (bounded) for the delivered message whose bytes contain `marker` (a unique
   * Message-ID, say) and returns it raw, trace headers included.
   */
  delivered(marker: string, timeoutMs?: number): Promise<Uint8Array>;
  /** The server's log and output so far, for failure messages. */
  log(): Promise<string>;
  /** Stops every process of the instance and deletes its directory. */
  stop(): Promise<void>;
}

/** The first of `paths` that exists: a system install, else an unpacked package. */
function findBinary(paths: string[]): string | undefined {
  return paths.find(exists);
}

const SETSID = "/usr/bin/setsid";

function commonUnavailable(): string | undefined {
  if (!exists(SETSID)) return `${SETSID} is missing: install util-linux`;
  if (!exists("/usr/bin/openssl")) return "openssl is missing: the test PKI needs it";
  return undefined;
}

/** Copies the test CA, the server leaf and its key into `dir`/tls. */
async function installPki(
  dir: string,
  keyOwner?: [number, number],
  options: { rsa?: boolean } = {},
): Promise<{ ca: string; cert: string; key: string }> {
  await Deno.mkdir(`${dir}/tls`, { recursive: true });
  const pki = await createTestPki();
  try {
    await Deno.copyFile(pki.ca.cert, `${dir}/tls/ca.pem`);
    if (options.rsa) {
      await rsaLeaf(`${dir}/tls`, pki.ca);
    } else {
      await Deno.copyFile(pki.server.cert, `${dir}/tls/server.pem`);
      await Deno.copyFile(pki.server.key, `${dir}/tls/server.key`);
    }
  } finally {
    await pki.remove();
  }
  await Deno.chmod(`${dir}/tls/server.key`, 0o600);
  if (keyOwner) await Deno.chown(`${dir}/tls/server.key`, ...keyOwner);
  await Deno.chmod(`${dir}/tls`, 0o755);
  return { ca: `${dir}/tls/ca.pem`, cert: `${dir}/tls/server.pem`, key: `${dir}/tls/server.key` };
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("/usr/bin/openssl", {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Writes `server.pem`/`server.key` into `dir`: an RSA leaf for `DNS:localhost,
 * IP:127.0.0.1` signed by the test CA, for servers whose key handling fails on EC keys.
 */
async function rsaLeaf(dir: string, ca: { cert: string; key: string }): Promise<void> {
  await openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/C=DE/O=Test Org/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "basicConstraints = critical, CA:FALSE\n" +
      "keyUsage = critical, digitalSignature, keyEncipherment\n" +
      "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-set_serial",
    String(Math.floor(Math.random() * 2 ** 48)),
    "-days",
    "30",
    "-extfile",
    "server.ext",
    "-out",
    "server.pem",
  ]);
}

async function processGroupAlive(pgid: number): Promise<boolean> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[2]) === pgid) return true;
    } catch {
      // the process ended meanwhile
    }
  }
  return false;
}

function killGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** A server process in its own process group, its output collected. */
interface Daemon {
  pid: number;
  exited(): boolean;
  output(): string;
  stop(): Promise<void>;
}

function spawnDaemon(
  program: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Daemon {
  // setsid(1) execs the program in place (same PID) as a new session and group leader, so
  // the whole group (forked children included) can be signalled through that PID.
  const child = new Deno.Command(SETSID, {
    args: [program, ...args],
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.env !== undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = child.pid;
  let text = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]).catch(() => {});
  let done = false;
  const status = child.status.then(() => {
    done = true;
  });
  const unload = () => killGroup(pid, "SIGKILL");
  globalThis.addEventListener("unload", unload);
  let stopped = false;
  return {
    pid,
    exited: () => done,
    output: () => text,
    async stop() {
      if (stopped) return;
      stopped = true;
      globalThis.removeEventListener("unload", unload);
      killGroup(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), 3_000);
      try {
        await status;
      } finally {
        clearTimeout(timer);
      }
      // Children (delivery processes, login processes) learn of the end through their pipes.
      for (let i = 0; i < 100 && (await processGroupAlive(pid)); i++) {
        if (i === 50) killGroup(pid, "SIGKILL");
        await delay(20);
      }
      await drained;
    },
  };
}

async function waitForPorts(
  name: string,
  daemon: Daemon,
  ports: number[],
  timeoutMs: number,
  log: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await canConnect(port))) {
      if (daemon.exited()) {
        throw new Error(`${name} exited at start:\n${daemon.output()}\n${await log()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${name} did not listen on ${port} within ${timeoutMs} ms:\n${await log()}`,
        );
      }
      await delay(25);
    }
  }
}

async function listFilesDeep(dir: string, under: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(child);
      else if (entry.isFile && (under === "" || path.endsWith(`/${under}`))) found.push(child);
    }
  };
  await walk(dir);
  return found;
}

/**
 * Polls `store` for a complete message file (one in a Maildir's `new/`) whose bytes contain
 * a marker, and returns its bytes.
 */
function storeReader(
  name: string,
  store: string,
  log: () => Promise<string>,
): (marker: string, timeoutMs?: number) => Promise<Uint8Array> {
  return async (marker, timeoutMs = 5_000) => {
    const until = Date.now() + timeoutMs;
    const wanted = new TextEncoder().encode(marker);
    while (true) {
      const files = await listFilesDeep(store, "new");
      for (const path of files) {
        const bytes = await Deno.readFile(path);
        if (indexOf(bytes, wanted) >= 0) return bytes;
      }
      if (Date.now() > until) {
        throw new Error(
          `no message with ${marker} reached ${name} within ${timeoutMs} ms ` +
            `(${files.length} others did):\n${await log()}`,
        );
      }
      await delay(25);
    }
  };
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/**
 * Removes the trace headers a server put on top of a delivered message (any leading
 * `Return-Path`, `Delivered-To`, `X-Original-To`, `Envelope-to`, `Delivery-date` and
 * `Received` fields, with their continuation lines), which leaves what the client sent after
 * `DATA`.
 */
export function stripServerTrace(raw: string): string {
  const trace = /^(return-path|delivered-to|x-original-to|envelope-to|delivery-date|received):/i;
  const lines = raw.split("\n");
  let i = 0;
  while (i < lines.length && trace.test(lines[i])) {
    i++;
    while (i < lines.length && /^[ \t]/.test(lines[i])) i++;
  }
  return lines.slice(i).join("\n");
}

async function startWith(
  name: string,
  prefix: string,
  body: (dir: string, cleanups: (() => Promise<void>)[]) => Promise<MailServer>,
): Promise<MailServer> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.chmod(dir, 0o755);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const server = await body(dir, cleanups);
    return { ...server, name, stop: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// python3-aiosmtpd

const PYTHON = "/usr/bin/python3";

/** Why the aiosmtpd server cannot run here, or `undefined`. */
export function aiosmtpdUnavailable(): string | undefined {
  const common = commonUnavailable();
  if (common) return common;
  if (!exists(PYTHON)) return `${PYTHON} is missing: install python3-aiosmtpd`;
  const aiosmtpd = new Deno.Command(PYTHON, {
    args: ["-c", "import aiosmtpd"],
    stdout: "null",
    stderr: "null",
  }).outputSync();
  if (!aiosmtpd.success) return "python3's aiosmtpd module is missing: install python3-aiosmtpd";
  return undefined;
}

/** The handler class `python3 -m aiosmtpd -c` loads: it stores each mail in a directory. */
const AIOSMTPD_HANDLER = `
import json, os, uuid


class Store:
    """Writes every accepted mail's DATA bytes (as received, dot-unstuffed) and envelope."""

    def __init__(self, directory):
        self.directory = directory

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        name = "%020d-%s" % (__import__("time").time_ns(), uuid.uuid4().hex)
        tmp = os.path.join(self.directory, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(self.directory, "envelopes", name + ".json"), "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(tmp, os.path.join(self.directory, "new", name))
        return "250 2.0.0 Message accepted for delivery"
`;

/** Options of {@linkcode startAiosmtpd}. */
export interface AiosmtpdOptions {
  /** `starttls`: offer (and require) STARTTLS; `implicit`: SMTPS; default plain. */
  tls?: "starttls" | "implicit";
}

/** Starts `python3 -m aiosmtpd` with a storing handler on a free port. */
export function startAiosmtpd(options: AiosmtpdOptions = {}): Promise<MailServer> {
  const reason = aiosmtpdUnavailable();
  if (reason) throw new Error(`cannot start aiosmtpd: ${reason}`);
  return startWith("aiosmtpd", "postie-aiosmtpd-", async (dir, cleanups) => {
    for (const sub of ["py", "store/tmp", "store/new", "store/envelopes"]) {
      await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    }
    await Deno.writeTextFile(`${dir}/py/postie_store.py`, AIOSMTPD_HANDLER);
    const tls = await installPki(dir);
    const port = freePort();
    const args = ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "postie_store.Store"];
    if (options.tls === "starttls") args.push("--tlscert", tls.cert, "--tlskey", tls.key);
    if (options.tls === "implicit") args.push("--smtpscert", tls.cert, "--smtpskey", tls.key);
    args.push(`${dir}/store`);
    const daemon = spawnDaemon(PYTHON, args, {
      env: { PYTHONPATH: `${dir}/py`, PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    });
    cleanups.push(() => daemon.stop());
    const log = () => Promise.resolve(daemon.output());
    await waitForPorts("aiosmtpd", daemon, [port], 10_000, log);
    return {
      name: "aiosmtpd",
      host: "127.0.0.1",
      port,
      tlsPort: options.tls === "implicit" ? port : undefined,
      starttls: options.tls === "starttls",
      authMechanisms: [],
      caFile: tls.ca,
      dir,
      delivered: storeReader("aiosmtpd", `${dir}/store`, log),
      log,
      stop: () => Promise.resolve(),
    };
  });
}

// ---------------------------------------------------------------------------------------
// Dovecot LMTP

const DOVECOT = "/usr/sbin/dovecot";

/** Why the Dovecot LMTP server cannot run here, or `undefined`. */
export function dovecotUnavailable(): string | undefined {
  const common = commonUnavailable();
  if (common) return common;
  if (!exists(DOVECOT) || !exists("/usr/lib/dovecot/lmtp")) {
    return `${DOVECOT} or its lmtp service is missing: install dovecot-core and dovecot-lmtpd`;
  }
  if (Deno.uid() !== 0) return "Dovecot's master must start as root to run its services";
  if (!userIds("dovecot") || !userIds("dovenull")) {
    return "the dovecot and dovenull users are missing (made by dovecot-core's installation)";
  }
  return undefined;
}

/**
 * Starts a private Dovecot (`dovecot -F -c conf`) whose only protocol is LMTP on a free
 * port, STARTTLS offered, and a second port with TLS from the first byte. Every recipient
 * (`user@any.domain`) is a virtual user whose mail goes to `mail/<user>/Maildir`.
 */
export function startDovecotLmtp(): Promise<MailServer> {
  const reason = dovecotUnavailable();
  if (reason) throw new Error(`cannot start Dovecot: ${reason}`);
  return startWith("dovecot-lmtp", "postie-dovecot-", async (dir, cleanups) => {
    const [uid, gid] = userIds("nobody") ?? [65534, 65534];
    for (const sub of ["run", "state", "mail"]) await Deno.mkdir(`${dir}/${sub}`);
    await Deno.chown(`${dir}/mail`, uid, gid);
    const tls = await installPki(dir);
    const port = freePort();
    const tlsPort = freePort();
    const conf = [
      "# Private Dovecot of postie's tests; everything lives in this directory.",
      `base_dir = ${dir}/run`,
      `state_dir = ${dir}/state`,
      `log_path = ${dir}/dovecot.log`,
      `info_log_path = ${dir}/dovecot.log`,
      "protocols = lmtp",
      "listen = 127.0.0.1",
      "shutdown_clients = yes",
      "ssl = yes",
      `ssl_cert = <${tls.cert}`,
      `ssl_key = <${tls.key}`,
      "ssl_dh =",
      "auth_mechanisms = plain",
      "lmtp_add_received_header = yes",
      "recipient_delimiter =",
      `mail_location = maildir:${dir}/mail/%n/Maildir`,
      "passdb {",
      "  driver = static",
      "  args = nopassword=y",
      "}",
      "userdb {",
      "  driver = static",
      `  args = uid=${uid} gid=${gid} home=${dir}/mail/%n`,
      "}",
      "service lmtp {",
      "  unix_listener lmtp {",
      "    mode = 0600",
      "  }",
      "  inet_listener lmtp {",
      "    address = 127.0.0.1",
      `    port = ${port}`,
      "  }",
      "  inet_listener lmtps {",
      "    address = 127.0.0.1",
      `    port = ${tlsPort}`,
      "    ssl = yes",
      "  }",
      "}",
      "service anvil {",
      "  chroot =",
      "}",
      "",
    ].join("\n");
    await Deno.writeTextFile(`${dir}/dovecot.conf`, conf);
    const daemon = spawnDaemon(DOVECOT, ["-F", "-c", `${dir}/dovecot.conf`]);
    cleanups.push(() => daemon.stop());
    const log = async () => daemon.output() + (await readOr(`${dir}/dovecot.log`));
    await waitForPorts("Dovecot", daemon, [port, tlsPort], 10_000, log);
    return {
      name: "dovecot-lmtp",
      host: "127.0.0.1",
      port,
      tlsPort,
      starttls: true,
      authMechanisms: [],
      caFile: tls.ca,
      dir,
      delivered: storeReader("Dovecot", `${dir}/mail`, log),
      log,
      stop: () => Promise.resolve(),
    };
  });
}

// ---------------------------------------------------------------------------------------
// Exim4

/** Where Exim's daemon binary is looked for, a system install first. */
export const EXIM_BINARIES: string[] = [
  "/usr/sbin/exim4",
  `${INTEROP_ROOT}/exim4-daemon-light/usr/sbin/exim4`,
];

/** Why Exim cannot run here, or `undefined`. */
export function eximUnavailable(): string | undefined {
  const common = commonUnavailable();
  if (common) return common;
  if (!findBinary(EXIM_BINARIES)) {
    return `exim4 is missing (looked at ${EXIM_BINARIES.join(", ")}): install or unpack ` +
      "exim4-daemon-light as scripts/interop_packages.txt says";
  }
  if (Deno.uid() !== 0) return "Exim's daemon must start as root to bind and deliver";
  if (!userIds("Debian-exim")) {
    return "the Debian-exim user (Exim's compiled-in user) is missing: create it as " +
      "scripts/interop_packages.txt says";
  }
  return undefined;
}

/**
 * Starts a private Exim (`exim4 -bdf -C conf`) on a free port with STARTTLS, a second port
 * with TLS on connect, and AUTH PLAIN, LOGIN and CRAM-MD5 for {@linkcode AUTH_USER} offered
 * after TLS. Every recipient is accepted and delivered to one Maildir, `mail/Maildir`.
 */
export function startExim(): Promise<MailServer> {
  const reason = eximUnavailable();
  if (reason) throw new Error(`cannot start Exim: ${reason}`);
  const exim = findBinary(EXIM_BINARIES)!;
  return startWith("exim", "postie-exim-", async (dir, cleanups) => {
    // Root's -C with a file outside Exim's trusted_configs list makes Exim drop root for
    // good: the daemon and its deliveries run as the Exim user, who owns everything here.
    const [uid, gid] = userIds("Debian-exim")!;
    for (const sub of ["spool", "log", "mail"]) {
      await Deno.mkdir(`${dir}/${sub}`);
      await Deno.chown(`${dir}/${sub}`, uid, gid);
    }
    const tls = await installPki(dir, [uid, gid]);
    const port = freePort();
    const tlsPort = freePort();
    const conf = [
      "# Private Exim of postie's tests; everything lives in this directory.",
      `exim_path = ${exim}`,
      `spool_directory = ${dir}/spool`,
      `log_file_path = ${dir}/log/%slog`,
      `pid_file_path = ${dir}/exim.pid`,
      "primary_hostname = mx.postie.test",
      "qualify_domain = postie.test",
      "local_interfaces = 127.0.0.1",
      `daemon_smtp_ports = ${port} : ${tlsPort}`,
      `tls_on_connect_ports = ${tlsPort}`,
      "tls_advertise_hosts = *",
      `tls_certificate = ${tls.cert}`,
      `tls_privatekey = ${tls.key}`,
      "host_lookup =",
      "rfc1413_hosts =",
      "rfc1413_query_timeout = 0s",
      "keep_environment =",
      "queue_only = false",
      "log_selector = +smtp_protocol_error +tls_cipher",
      "acl_smtp_rcpt = acl_check_rcpt",
      "acl_smtp_data = acl_check_data",
      "",
      "begin acl",
      "acl_check_rcpt:",
      "  accept",
      "acl_check_data:",
      "  accept",
      "",
      "begin routers",
      "everyone:",
      "  driver = accept",
      "  transport = to_maildir",
      "",
      "begin transports",
      "to_maildir:",
      "  driver = appendfile",
      // One store for every recipient (a path built from $local_part would be tainted).
      `  directory = ${dir}/mail/Maildir`,
      "  maildir_format",
      "  create_directory",
      "  delivery_date_add",
      "  envelope_to_add",
      "  return_path_add",
      `  user = ${uid}`,
      `  group = ${gid}`,
      "  mode = 0644",
      "",
      "begin retry",
      "*  *  F,1m,10s",
      "",
      "begin authenticators",
      "plain:",
      "  driver = plaintext",
      "  public_name = PLAIN",
      "  server_prompts = :",
      `  server_condition = \${if and {{eq{$auth2}{${AUTH_USER}}}` +
      `{eq{$auth3}{${AUTH_PASSWORD}}}}}`,
      "  server_set_id = $auth2",
      "  server_advertise_condition = ${if def:tls_in_cipher}",
      "login:",
      "  driver = plaintext",
      "  public_name = LOGIN",
      "  server_prompts = Username:: : Password::",
      `  server_condition = \${if and {{eq{$auth1}{${AUTH_USER}}}` +
      `{eq{$auth2}{${AUTH_PASSWORD}}}}}`,
      "  server_set_id = $auth1",
      "  server_advertise_condition = ${if def:tls_in_cipher}",
      "cram:",
      "  driver = cram_md5",
      "  public_name = CRAM-MD5",
      `  server_secret = \${if eq{$auth1}{${AUTH_USER}}{${AUTH_PASSWORD}}fail}`,
      "  server_set_id = $auth1",
      "  server_advertise_condition = ${if def:tls_in_cipher}",
      "",
    ].join("\n");
    await Deno.writeTextFile(`${dir}/exim.conf`, conf);
    await Deno.chmod(`${dir}/exim.conf`, 0o644);
    // -bdf: the listening daemon stays in the foreground; -q30s would add a queue runner,
    // needless here since each message is delivered at once.
    const daemon = spawnDaemon(exim, ["-bdf", "-C", `${dir}/exim.conf`]);
    cleanups.push(() => daemon.stop());
    const log = async () =>
      daemon.output() + (await readOr(`${dir}/log/mainlog`)) +
      (await readOr(`${dir}/log/paniclog`)) + (await readOr(`${dir}/log/rejectlog`));
    await waitForPorts("Exim", daemon, [port, tlsPort], 10_000, log);
    return {
      name: "exim",
      host: "127.0.0.1",
      port,
      tlsPort,
      starttls: true,
      authMechanisms: ["plain", "login", "cram-md5"],
      caFile: tls.ca,
      dir,
      delivered: storeReader("Exim", `${dir}/mail`, log),
      log,
      stop: () => Promise.resolve(),
    };
  });
}

// ---------------------------------------------------------------------------------------
// OpenSMTPD

/** Where OpenSMTPD's daemon binary is looked for, a system install first. */
export const SMTPD_BINARIES: string[] = [
  "/usr/sbin/smtpd",
  `${INTEROP_ROOT}/opensmtpd/usr/sbin/smtpd`,
];

/** The compiled-in paths Debian's smtpd uses whatever its configuration says. */
const SMTPD_CHROOT = "/var/lib/opensmtpd/empty";
const SMTPD_SPOOL = "/var/spool/smtpd";
const SMTPD_SOCKET = "/var/run/smtpd.sock";

/** Why OpenSMTPD cannot run here, or `undefined`. */
export function opensmtpdUnavailable(): string | undefined {
  const common = commonUnavailable();
  if (common) return common;
  if (!findBinary(SMTPD_BINARIES)) {
    return `smtpd is missing (looked at ${SMTPD_BINARIES.join(", ")}): install or unpack ` +
      "opensmtpd as scripts/interop_packages.txt says";
  }
  if (Deno.uid() !== 0) return "OpenSMTPD must start as root (it chroots and drops privileges)";
  if (!userIds("opensmtpd") || !userIds("opensmtpq")) {
    return "the opensmtpd and opensmtpq users (compiled into Debian's smtpd) are missing: " +
      "create them as scripts/interop_packages.txt says";
  }
  if (exists(SMTPD_SOCKET)) {
    return `${SMTPD_SOCKET} exists: another OpenSMTPD runs here, and every smtpd uses that path`;
  }
  return undefined;
}

/**
 * Starts a private OpenSMTPD (`smtpd -d -f conf`) on a free port with STARTTLS, a second port
 * with SMTPS, and AUTH (PLAIN, LOGIN) for {@linkcode AUTH_USER} after TLS. Mail for any
 * recipient is relayed to a capture server in this process (scripts/capture_server.ts), and
 * {@linkcode MailServer.delivered} returns that copy, CRLF line ends as it went on the wire.
 *
 * Debian's smtpd has its spool (`/var/spool/smtpd`), chroot (`/var/lib/opensmtpd/empty`) and
 * control socket (`/var/run/smtpd.sock`) compiled in: the helper creates the first two if
 * missing, removes a spool it created at stop, and only one instance can run at a time.
 */
export function startOpensmtpd(): Promise<MailServer> {
  const reason = opensmtpdUnavailable();
  if (reason) throw new Error(`cannot start OpenSMTPD: ${reason}`);
  const smtpd = findBinary(SMTPD_BINARIES)!;
  return startWith("opensmtpd", "postie-opensmtpd-", async (dir, cleanups) => {
    const spoolExisted = exists(SMTPD_SPOOL);
    await Deno.mkdir(SMTPD_CHROOT, { recursive: true });
    // Debian's smtpd runs every local delivery through /usr/libexec/opensmtpd/mail.mda,
    // which an unpacked package lacks: it relays instead, to a capture server of this
    // process, whose copy is what OpenSMTPD delivered.
    const capture = startCaptureServer({ capabilities: ["PIPELINING", "8BITMIME"] });
    cleanups.push(() => capture.close());
    // OpenSMTPD 6.8's privilege-separated key process fails on EC keys with OpenSSL 3
    // ("EVP lib" at the handshake): it gets an RSA leaf from the same test CA.
    const tls = await installPki(dir, undefined, { rsa: true });
    const port = freePort();
    const tlsPort = freePort();
    const hash = await new Deno.Command("/usr/bin/openssl", {
      args: ["passwd", "-6", AUTH_PASSWORD],
      stdout: "piped",
      stderr: "piped",
    }).output();
    await Deno.writeTextFile(
      `${dir}/credentials`,
      `${AUTH_USER} ${new TextDecoder().decode(hash.stdout).trim()}\n`,
    );
    await Deno.chmod(`${dir}/credentials`, 0o640);
    const conf = [
      "# Private OpenSMTPD of postie's tests.",
      `pki localhost cert "${tls.cert}"`,
      `pki localhost key "${tls.key}"`,
      `table creds file:${dir}/credentials`,
      `listen on 127.0.0.1 port ${port} tls pki localhost auth-optional <creds> ` +
      "hostname mx.postie.test",
      `listen on 127.0.0.1 port ${tlsPort} smtps pki localhost auth-optional <creds> ` +
      "hostname mx.postie.test",
      `action "store" relay host smtp://127.0.0.1:${capture.port}`,
      `match from any for any action "store"`,
      "",
    ].join("\n");
    await Deno.writeTextFile(`${dir}/smtpd.conf`, conf);
    await Deno.chmod(`${dir}/smtpd.conf`, 0o644);
    const daemon = spawnDaemon(smtpd, ["-d", "-f", `${dir}/smtpd.conf`]);
    cleanups.push(async () => {
      await daemon.stop();
      await Deno.remove(SMTPD_SOCKET).catch(() => {});
      if (!spoolExisted) await Deno.remove(SMTPD_SPOOL, { recursive: true }).catch(() => {});
    });
    const log = () => Promise.resolve(daemon.output());
    const wanted = (marker: string) => {
      for (const session of capture.sessions) {
        for (const mail of session.mails) {
          if (new TextDecoder().decode(mail.data).includes(marker)) return mail.data;
        }
      }
      return undefined;
    };
    await waitForPorts("OpenSMTPD", daemon, [port, tlsPort], 10_000, log);
    return {
      name: "opensmtpd",
      host: "127.0.0.1",
      port,
      tlsPort,
      starttls: true,
      authMechanisms: ["plain", "login"],
      caFile: tls.ca,
      dir,
      async delivered(marker, timeoutMs = 5_000) {
        const until = Date.now() + timeoutMs;
        while (Date.now() < until) {
          const data = wanted(marker);
          if (data) return data;
          await delay(25);
        }
        throw new Error(
          `no message with ${marker} left OpenSMTPD in ${timeoutMs} ms:\n${await log()}`,
        );
      },
      log,
      stop: () => Promise.resolve(),
    };
  });
}
