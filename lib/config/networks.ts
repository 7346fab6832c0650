/**
 * Client networks in CIDR notation (`127.0.0.0/8`, `10.0.0.0/8`, `::1/128`, `fd00::/8`):
 * parsing, and whether an address belongs to one. IPv4-mapped IPv6 addresses
 * (`::ffff:10.1.2.3`, as Node reports IPv4 clients of a dual-stack socket) match the
 * IPv4 networks.
 *
 * @module
 */

/** One network: the address bytes and the prefix length. */
export interface Network {
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  /** How many leading bits must match. */
  prefix: number;
  /** The network as written. */
  text: string;
}

/** The networks trusted when `listen_allow` is not set: the machine itself. */
export const LOOPBACK_NETWORKS = "127.0.0.0/8, ::1/128";

/**
 * The bytes of an IPv4 or IPv6 address, or undefined when it is neither. An IPv4-mapped
 * IPv6 address becomes its 4 IPv4 bytes.
 *
 * @example Usage
 * ```ts
 * import { addressBytes } from "./networks.ts";
 * console.log(addressBytes("::ffff:10.0.0.1")); // Uint8Array(4) [ 10, 0, 0, 1 ]
 * ```
 */
export function addressBytes(address: string): Uint8Array | undefined {
  const v4 = ipv4(address);
  if (v4 !== undefined) return v4;
  const v6 = ipv6(address.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  if (v6 === undefined) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function ipv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) return undefined;
    bytes[i] = Number(parts[i]);
  }
  return bytes;
}

function ipv6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = ipv4(piece);
        if (v4 === undefined) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Parses a list of networks separated by commas or blanks; a bare address is a network
 * of one. Throws an Error naming the first bad entry.
 *
 * @example Usage
 * ```ts
 * import { parseNetworks } from "./networks.ts";
 * console.log(parseNetworks("10.0.0.0/8, ::1").map((n) => n.prefix)); // [8, 128]
 * ```
 */
export function parseNetworks(list: string): Network[] {
  const out: Network[] = [];
  for (const text of list.split(/[\s,]+/).filter((t) => t !== "")) {
    const slash = text.indexOf("/");
    const address = slash < 0 ? text : text.slice(0, slash);
    const bytes = addressBytes(address);
    const max = bytes === undefined ? 0 : bytes.length * 8;
    const prefix = slash < 0 ? max : Number(text.slice(slash + 1));
    if (
      bytes === undefined || !/^\d{1,3}$/.test(slash < 0 ? "0" : text.slice(slash + 1)) ||
      prefix > max
    ) {
      throw new Error(`invalid network ${text}: expected ADDRESS or ADDRESS/PREFIX`);
    }
    out.push({ bytes, prefix, text });
  }
  return out;
}

/**
 * Whether an address lies in one of the networks.
 *
 * @example Usage
 * ```ts
 * import { inNetworks, parseNetworks } from "./networks.ts";
 * console.log(inNetworks("::ffff:127.0.0.1", parseNetworks("127.0.0.0/8"))); // true
 * ```
 */
export function inNetworks(address: string, networks: readonly Network[]): boolean {
  const bytes = addressBytes(address);
  if (bytes === undefined) return false;
  return networks.some((net) => {
    if (net.bytes.length !== bytes.length) return false;
    let bits = net.prefix;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((bytes[i] & mask) !== (net.bytes[i] & mask)) return false;
    }
    return true;
  });
}

/**
 * Parses `ADDR:PORT` (`127.0.0.1:25`, `[::1]:2525`, `0.0.0.0:25`); a bare address gets
 * `defaultPort`. Throws an Error naming the bad value.
 *
 * @example Usage
 * ```ts
 * import { parseHostPort } from "./networks.ts";
 * console.log(parseHostPort("[::1]:2525", 25)); // { hostname: "::1", port: 2525 }
 * ```
 */
export function parseHostPort(
  text: string,
  defaultPort: number,
): { hostname: string; port: number } {
  let host = text;
  let port = String(defaultPort);
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1];
    if (bracket[2] !== undefined) port = bracket[2];
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && text.indexOf(":") === colon) {
      host = text.slice(0, colon);
      port = text.slice(colon + 1);
    }
  }
  const n = Number(port);
  if (host === "" || !/^\d{1,5}$/.test(port) || n < 1 || n > 65535) {
    throw new Error(`invalid address ${text}: expected ADDRESS:PORT`);
  }
  return { hostname: host, port: n };
}
