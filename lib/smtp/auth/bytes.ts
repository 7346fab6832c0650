/**
 * Byte helpers shared by the SASL mechanisms: UTF-8 and base64 conversions that keep
 * secrets out of intermediate strings where they are not needed.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The UTF-8 bytes of a string.
 *
 * @example Usage
 * ```ts
 * import { utf8 } from "./bytes.ts";
 * console.log(utf8("a")); // Uint8Array [ 97 ]
 * ```
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Decodes UTF-8 bytes (invalid sequences become U+FFFD).
 *
 * @example Usage
 * ```ts
 * import { fromUtf8 } from "./bytes.ts";
 * console.log(fromUtf8(new Uint8Array([104, 105]))); // "hi"
 * ```
 */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Standard base64 with padding.
 *
 * @example Usage
 * ```ts
 * import { toBase64 } from "./bytes.ts";
 * console.log(toBase64(new Uint8Array([110, 44, 44]))); // "biws"
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Decodes standard base64; throws on anything else.
 *
 * @example Usage
 * ```ts
 * import { fromBase64 } from "./bytes.ts";
 * console.log(fromBase64("biws")); // Uint8Array [ 110, 44, 44 ]
 * ```
 */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Concatenates byte arrays.
 *
 * @example Usage
 * ```ts
 * import { concat } from "./bytes.ts";
 * console.log(concat([new Uint8Array([1]), new Uint8Array([2])])); // Uint8Array [ 1, 2 ]
 * ```
 */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
