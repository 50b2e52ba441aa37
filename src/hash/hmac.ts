/**
 * HMAC (RFC 2104) over the hashes of {@linkcode HashFunction}, synchronous: the challenger signs
 * its nonces with HMAC-SHA-256 so that it can check them without keeping them.
 *
 * @module
 */

import type { HashFunction } from "./hash_function.ts";

/**
 * The HMAC of some bytes under a key (RFC 2104 §2).
 *
 * @param hash The hash function H.
 * @param key The key; one longer than the hash's block is hashed first (RFC 2104 §3).
 * @param data The message.
 * @returns The MAC, `hash.outputSize` bytes.
 *
 * @example
 * ```ts
 * import { hmac } from "./hmac.ts";
 * import { SHA_256, toHex } from "./hash_function.ts";
 * import assert from "node:assert/strict";
 *
 * // RFC 4231 §4.3, test case 2.
 * const text = new TextEncoder();
 * assert.equal(
 *   toHex(hmac(SHA_256, text.encode("Jefe"), text.encode("what do ya want for nothing?"))),
 *   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
 * );
 * ```
 */
export function hmac(hash: HashFunction, key: Uint8Array, data: Uint8Array): Uint8Array {
  const b = hash.blockSize;
  // RFC 2104 §2 (1): a key longer than B is replaced by H(key); then zeros pad it to B bytes.
  const k = new Uint8Array(b);
  k.set(key.length > b ? hash.digest(key) : key);
  const inner = new Uint8Array(b + data.length);
  for (let i = 0; i < b; i++) inner[i] = k[i] ^ 0x36; // ipad
  inner.set(data, b);
  const innerHash = hash.digest(inner);
  const outer = new Uint8Array(b + innerHash.length);
  for (let i = 0; i < b; i++) outer[i] = k[i] ^ 0x5c; // opad
  outer.set(innerHash, b);
  return hash.digest(outer);
}
