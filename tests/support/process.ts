/**
 * Small helpers the server fixtures share: ports on 127.0.0.1, waiting, system users.
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port on 127.0.0.1 that nothing listens on right now (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether something accepts connections on `hostname` (127.0.0.1 by default):`port`. */
export async function canConnect(port: number, hostname = "127.0.0.1"): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Whether a path exists (any file type). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The uid and gid of a system user, from /etc/passwd; undefined when there is none. */
export function userIds(name: string): [number, number] | undefined {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const fields = line.split(":");
      if (fields[0] === name) return [Number(fields[2]), Number(fields[3])];
    }
  } catch {
    // no passwd file
  }
  return undefined;
}

/**
 * Sends SIGTERM to `pid` if the test process ends before the fixture stopped it, so no
 * daemon outlives a crashed test run. Returns the function that cancels this.
 */
export function killOnExit(pid: number): () => void {
  const unload = () => {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  globalThis.addEventListener("unload", unload);
  return () => globalThis.removeEventListener("unload", unload);
}
