import assert from "node:assert/strict";
import { LocalDeliveryError } from "../../../lib/local/errors.ts";
import { deliverToMaildir, uniqueName } from "../../../lib/local/maildir.ts";

const enc = new TextEncoder();

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out;
}

Deno.test("a mail appears in new/ only once it is complete", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const maildir = `${dir}/Maildir`;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    let step = 0;
    const data = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) controller.enqueue(enc.encode("Subject: half\r\n\r\n"));
        else if (step === 1) await gate; // the writer waits here, the mail half written
        else if (step === 2) controller.enqueue(enc.encode("..second half\r\n"));
        else controller.close();
        step++;
      },
    });
    const delivery = deliverToMaildir({ dir: maildir, sender: "a@b", data, hostname: "h" });
    for (let i = 0; i < 100 && (await names(`${maildir}/tmp`).catch(() => [])).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await names(`${maildir}/tmp`)).length, 1);
    assert.deepEqual(await names(`${maildir}/new`), []);
    release();
    const path = await delivery;
    assert.deepEqual(await names(`${maildir}/tmp`), []);
    assert.deepEqual(await names(`${maildir}/new`), [path.split("/").pop()]);
    assert.deepEqual(await names(`${maildir}/cur`), []);
    assert.equal(
      await Deno.readTextFile(path),
      "Return-Path: <a@b>\nSubject: half\n\n.second half\n",
    );
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed Maildir delivery leaves nothing behind in tmp/ or new/", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(enc.encode("Subject: x\r\n\r\n"));
        controller.error(new Error("client went away"));
      },
    });
    await assert.rejects(
      deliverToMaildir({ dir: `${dir}/M`, sender: "a@b", data }),
      (e: unknown) => e instanceof LocalDeliveryError && e.message === `${dir}/M: client went away`,
    );
    assert.deepEqual(await names(`${dir}/M/tmp`), []);
    assert.deepEqual(await names(`${dir}/M/new`), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("many deliveries in one process get distinct names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const all = await Promise.all(Array.from({ length: 50 }, () =>
      deliverToMaildir({
        dir: `${dir}/M`,
        sender: "a@b",
        data: ReadableStream.from([enc.encode("x\r\n")]),
      })));
    assert.equal(new Set(all).size, 50);
    assert.equal((await names(`${dir}/M/new`)).length, 50);
    assert.notEqual(uniqueName("h"), uniqueName("h"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a delivery killed half-way leaves nothing in new/", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const module = new URL("../../../lib/local/maildir.ts", import.meta.url).href;
    const script = `${dir}/writer.ts`;
    await Deno.writeTextFile(
      script,
      `import { deliverToMaildir } from ${JSON.stringify(module)};
let n = 0;
const data = new ReadableStream({
  async pull(c) {
    await new Promise((r) => setTimeout(r, 5));
    c.enqueue(new TextEncoder().encode("line " + n++ + "\\r\\n"));
  },
});
await deliverToMaildir({ dir: Deno.args[0], sender: "a@b", data });
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--quiet", script, `${dir}/M`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let partial = 0;
    for (let i = 0; i < 200 && partial < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const tmp = await names(`${dir}/M/tmp`).catch(() => []);
      partial = tmp.length ? (await Deno.stat(`${dir}/M/tmp/${tmp[0]}`)).size : 0;
    }
    child.kill("SIGKILL");
    await child.status;
    assert.ok(partial >= 200, "the writer was killed in the middle of the mail");
    assert.deepEqual(await names(`${dir}/M/new`), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
