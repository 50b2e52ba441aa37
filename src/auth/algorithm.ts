/**
 * The digest algorithms (RFC 7616 §3.2, §6.1; RFC 8760 §2): the names a challenge's
 * `algorithm` parameter takes, the hash behind each, and whether it is a `-sess` variant.
 *
 * @module
 */

import { type HashFunction, MD5, SHA_256, SHA_512_256 } from "../hash/hash_function.ts";

/**
 * A digest algorithm this module computes, spelled as RFC 7616 §6.1 registers it.
 *
 * @example
 * ```ts
 * import type { DigestAlgorithm } from "./algorithm.ts";
 * const preferred: DigestAlgorithm[] = ["SHA-256", "MD5"];
 * ```
 */
export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess" | "SHA-512-256" | "SHA-512-256-sess";

/**
 * Every {@linkcode DigestAlgorithm}, strongest hash first.
 *
 * @example
 * ```ts
 * import { DIGEST_ALGORITHMS } from "./algorithm.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DIGEST_ALGORITHMS.length, 6);
 * assert.ok(DIGEST_ALGORITHMS.includes("MD5-sess"));
 * ```
 */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = Object.freeze(
  [
    "SHA-512-256",
    "SHA-512-256-sess",
    "SHA-256",
    "SHA-256-sess",
    "MD5",
    "MD5-sess",
  ] as const,
);

const BY_LOWER = new Map<string, DigestAlgorithm>(DIGEST_ALGORITHMS.map((a) => [a.toLowerCase(), a]));

/**
 * The algorithm an `algorithm` parameter names, in its registered spelling. Names are compared
 * without regard to case: RFC 2617 peers send `md5`, and RFC 7616 §3.3 gives no case.
 *
 * @param name The parameter's value.
 * @returns The algorithm, or undefined for one this module does not know.
 * @example
 * ```ts
 * import { digestAlgorithm } from "./algorithm.ts";
 * import assert from "node:assert/strict";
 * assert.equal(digestAlgorithm("sha-256-SESS"), "SHA-256-sess");
 * assert.equal(digestAlgorithm("SHA-1"), undefined);
 * ```
 */
export function digestAlgorithm(name: string): DigestAlgorithm | undefined {
  return BY_LOWER.get(name.toLowerCase());
}

/**
 * The hash function H of an algorithm (RFC 7616 §3.4.1): `SHA-256-sess` hashes with SHA-256.
 *
 * @param algorithm The algorithm.
 * @returns Its hash.
 * @example
 * ```ts
 * import { algorithmHash } from "./algorithm.ts";
 * import assert from "node:assert/strict";
 * assert.equal(algorithmHash("SHA-512-256-sess").name, "SHA-512-256");
 * ```
 */
export function algorithmHash(algorithm: DigestAlgorithm): HashFunction {
  if (algorithm.startsWith("SHA-512-256")) return SHA_512_256;
  return algorithm.startsWith("SHA-256") ? SHA_256 : MD5;
}

/**
 * Whether an algorithm is a `-sess` variant, whose A1 also holds the nonce and cnonce
 * (RFC 7616 §3.4.2).
 *
 * @param algorithm The algorithm.
 * @returns True for `MD5-sess`, `SHA-256-sess` and `SHA-512-256-sess`.
 * @example
 * ```ts
 * import { isSessionAlgorithm } from "./algorithm.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isSessionAlgorithm("MD5-sess") && !isSessionAlgorithm("MD5"));
 * ```
 */
export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith("-sess");
}
