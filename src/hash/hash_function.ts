/**
 * The hash functions of digest authentication as values, so that HMAC (RFC 2104) and the
 * digest computations (RFC 7616 §3.4.2) take one as a parameter: the function and the block
 * size HMAC needs.
 *
 * @module
 */

import { md5 } from "./md5.ts";
import { sha256 } from "./sha256.ts";
import { sha512_256 } from "./sha512_256.ts";

/**
 * A hash function with what HMAC needs to know of it.
 *
 * @example
 * ```ts
 * import { type HashFunction, SHA_256 } from "./hash_function.ts";
 * import assert from "node:assert/strict";
 *
 * const hash: HashFunction = SHA_256;
 * assert.equal(hash.digest(new Uint8Array(0)).length, hash.outputSize);
 * ```
 */
export interface HashFunction {
  /** The name, as RFC 7616 §3.2 spells the algorithm: `MD5`, `SHA-256`, `SHA-512-256`. */
  readonly name: "MD5" | "SHA-256" | "SHA-512-256";
  /** The input block size in bytes (RFC 2104 §2: B). */
  readonly blockSize: number;
  /** The digest size in bytes (RFC 2104 §2: L). */
  readonly outputSize: number;
  /** The digest of some bytes. */
  readonly digest: (data: Uint8Array) => Uint8Array;
}

/**
 * MD5 (RFC 1321): 64-byte blocks, 16-byte digest.
 *
 * @example
 * ```ts
 * import { MD5 } from "./hash_function.ts";
 * import assert from "node:assert/strict";
 * assert.equal(MD5.digest(new Uint8Array(3)).length, 16);
 * ```
 */
export const MD5: HashFunction = Object.freeze({ name: "MD5", blockSize: 64, outputSize: 16, digest: md5 });

/**
 * SHA-256 (FIPS 180-4 §6.2): 64-byte blocks, 32-byte digest.
 *
 * @example
 * ```ts
 * import { SHA_256 } from "./hash_function.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SHA_256.blockSize, 64);
 * ```
 */
export const SHA_256: HashFunction = Object.freeze({
  name: "SHA-256",
  blockSize: 64,
  outputSize: 32,
  digest: sha256,
});

/**
 * SHA-512/256 (FIPS 180-4 §6.7): 128-byte blocks (those of SHA-512), 32-byte digest.
 *
 * @example
 * ```ts
 * import { SHA_512_256 } from "./hash_function.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SHA_512_256.blockSize, 128);
 * ```
 */
export const SHA_512_256: HashFunction = Object.freeze({
  name: "SHA-512-256",
  blockSize: 128,
  outputSize: 32,
  digest: sha512_256,
});

/**
 * Lower-case hex of some bytes: how digest authentication writes every hash (RFC 7616 §3.4.1).
 *
 * @param bytes The bytes.
 * @returns Two lower-case hex digits per byte.
 * @example
 * ```ts
 * import { toHex } from "./hash_function.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toHex(new Uint8Array([0, 15, 255])), "000fff");
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
