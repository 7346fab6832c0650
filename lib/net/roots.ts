/**
 * Who decides the roots Deno's own TLS trusts by default, and what they are.
 *
 * `Deno.startTls` checks a server against the process's default roots *plus* its `caCerts`,
 * while an msmtp trust file must *replace* the roots (msmtp trusts only the file). Deno builds
 * that default store once per process, at its first TLS connection, from `DENO_TLS_CA_STORE`
 * (a comma-separated list of stores; an empty list is no roots at all). So a process that has
 * made no TLS connection yet may have an empty store for its first trust file, and from then
 * on `caCerts` alone is trusted: the handshake stays in Deno (rustls) instead of booting the
 * Node compatibility layer for `node:tls`, which costs a STARTTLS send about as much again as
 * the handshake itself (docs/PERFORMANCE.md).
 *
 * Only a program that owns its process can know it has made no TLS connection yet: postie's
 * command line claims that ({@linkcode claimTlsRoots}, in main.ts). A library in someone
 * else's process never touches the store.
 *
 * @module
 */

/**
 * - `host`: not postie's process: the store is left alone (a trust file goes through `node:tls`);
 * - `unused`: postie's process, no TLS connection yet;
 * - `empty`: emptied for a trust file; where the default roots are wanted afterwards (`system`,
 *   an OAuth2 token endpoint) they are passed explicitly;
 * - `default`: Deno built its usual store (the first connection trusted the system).
 */
export type RootStoreState = "host" | "unused" | "empty" | "default";

let state: RootStoreState = "host";

/** The variable Deno reads its default stores from. */
const STORE_VARIABLE = "DENO_TLS_CA_STORE";

/**
 * Declares that this process has made no TLS connection and that postie decides its default
 * roots. Call it first thing in a program's entry point, never from a library.
 *
 * @example Usage
 * ```ts
 * import { claimTlsRoots, rootStoreState } from "./roots.ts";
 * claimTlsRoots();
 * console.log(rootStoreState()); // "unused"
 * ```
 */
export function claimTlsRoots(): void {
  if (state === "host") state = "unused";
}

/**
 * Where the store stands (see {@linkcode RootStoreState}).
 *
 * @example Usage
 * ```ts
 * import { rootStoreState } from "./roots.ts";
 * console.log(["host", "unused", "empty", "default"].includes(rootStoreState())); // true
 * ```
 */
export function rootStoreState(): RootStoreState {
  return state;
}

/**
 * Runs the first TLS connection of a claimed process with Deno's default store empty, so that
 * the connection's `caCerts` replace the roots; the variable is put back once the connection
 * is set up (Deno has built its store by then), so programs postie runs inherit it unchanged.
 * Anywhere else it just runs `connect`.
 *
 * @example Usage
 * ```ts ignore
 * const tls = await withEmptyDefaultRoots(() => Deno.startTls(conn, { hostname, caCerts }));
 * ```
 */
export async function withEmptyDefaultRoots<T>(connect: () => Promise<T>): Promise<T> {
  if (state !== "unused") return await connect();
  const saved = Deno.env.get(STORE_VARIABLE);
  Deno.env.set(STORE_VARIABLE, ",");
  // Deno builds its store when the connection starts, whether it then succeeds or fails.
  state = "empty";
  try {
    return await connect();
  } finally {
    if (saved === undefined) Deno.env.delete(STORE_VARIABLE);
    else Deno.env.set(STORE_VARIABLE, saved);
  }
}

/**
 * Notes a TLS connection (or an HTTPS request) that uses the default roots: in a claimed
 * process that has not emptied them, Deno now builds its usual store.
 *
 * @example Usage
 * ```ts
 * import { usingDefaultRoots } from "./roots.ts";
 * usingDefaultRoots();
 * ```
 */
export function usingDefaultRoots(): void {
  if (state === "unused") state = "default";
}

/**
 * The default roots as PEM certificates when they must be passed explicitly (the store was
 * emptied), else undefined: the certificates Deno trusts by default, as `node:tls` lists them.
 *
 * @example Usage
 * ```ts
 * import { explicitDefaultRoots } from "./roots.ts";
 * console.log(await explicitDefaultRoots()); // undefined unless the store was emptied
 * ```
 */
export async function explicitDefaultRoots(): Promise<string[] | undefined> {
  usingDefaultRoots();
  if (state !== "empty") return undefined;
  const { rootCertificates } = await import("node:tls");
  return [...rootCertificates];
}

/**
 * A `fetch` that trusts the default roots even after the store was emptied (OAuth2 token
 * endpoints), else undefined (the global `fetch` does).
 *
 * @example Usage
 * ```ts
 * import { defaultRootsFetch } from "./roots.ts";
 * const fetcher = (await defaultRootsFetch()) ?? fetch;
 * console.log(typeof fetcher); // "function"
 * ```
 */
export async function defaultRootsFetch(): Promise<typeof fetch | undefined> {
  const caCerts = await explicitDefaultRoots();
  if (caCerts === undefined) return undefined;
  const client = Deno.createHttpClient({ caCerts });
  return (input, init) => fetch(input, { ...init, client });
}
