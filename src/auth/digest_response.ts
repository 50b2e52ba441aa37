/**
 * The digest computations (RFC 7616 §3.4.1-§3.4.3; RFC 2617 §3.2.2 without qop, which RFC 3261
 * §22.4 keeps for RFC 2069 clients): H(A1), the `-sess` H(A1), H(A2) for `auth` and `auth-int`,
 * and the request-digest. Every string is hashed as UTF-8, every hash written as lower-case hex.
 * `userhash` (RFC 7616 §3.4.4) is not computed here.
 *
 * @module
 */

import { algorithmHash, type DigestAlgorithm, isSessionAlgorithm } from "./algorithm.ts";
import { toHex } from "../hash/hash_function.ts";

const encoder = new TextEncoder();

/**
 * H(data) as lower-case hex, with the hash of an algorithm (RFC 7616 §3.4.1).
 *
 * @param algorithm The algorithm; `-sess` variants hash as their base.
 * @param data Text (hashed as UTF-8) or bytes.
 * @returns The hex digest.
 * @example
 * ```ts
 * import { digestHash } from "./digest_response.ts";
 * import assert from "node:assert/strict";
 * assert.equal(digestHash("MD5-sess", ""), "d41d8cd98f00b204e9800998ecf8427e");
 * ```
 */
export function digestHash(algorithm: DigestAlgorithm, data: string | Uint8Array): string {
  return toHex(algorithmHash(algorithm).digest(typeof data === "string" ? encoder.encode(data) : data));
}

/**
 * H(A1) with A1 = username ":" realm ":" password (RFC 7616 §3.4.2): what a server may store
 * instead of the password, one per hash (MD5, SHA-256, SHA-512/256); the `-sess` algorithms
 * start from it too.
 *
 * @param algorithm The algorithm, or its base.
 * @param username The user name, as in the credentials.
 * @param realm The realm.
 * @param password The password.
 * @returns The hex H(A1).
 * @example
 * ```ts
 * import { digestHA1 } from "./digest_response.ts";
 * import assert from "node:assert/strict";
 * // RFC 2617 §3.5.
 * assert.equal(digestHA1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life"), "939e7578ed9e3c518a452acee763bce9");
 * ```
 */
export function digestHA1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/**
 * H(A1) of a `-sess` algorithm (RFC 7616 §3.4.2): H(H(username:realm:password) ":" nonce ":"
 * cnonce), from the plain H(A1).
 *
 * @param algorithm The algorithm.
 * @param ha1 The plain H(A1), {@linkcode digestHA1}; hex in either case.
 * @param nonce The server nonce.
 * @param cnonce The client nonce.
 * @returns The hex session H(A1).
 * @example
 * ```ts
 * import { digestHA1, sessionHA1 } from "./digest_response.ts";
 * import assert from "node:assert/strict";
 * const ha1 = digestHA1("MD5", "alice", "atlanta.example.com", "secret");
 * assert.equal(sessionHA1("MD5-sess", ha1, "n", "c").length, 32);
 * ```
 */
export function sessionHA1(algorithm: DigestAlgorithm, ha1: string, nonce: string, cnonce: string): string {
  return digestHash(algorithm, `${ha1.toLowerCase()}:${nonce}:${cnonce}`);
}

/**
 * What {@linkcode digestResponse} needs.
 *
 * @example
 * ```ts
 * import type { DigestResponseInput } from "./digest_response.ts";
 * const input: DigestResponseInput = {
 *   algorithm: "MD5", ha1: "939e7578ed9e3c518a452acee763bce9", method: "GET", uri: "/dir/index.html",
 *   nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
 * };
 * ```
 */
export interface DigestResponseInput {
  /** The algorithm of the credentials (MD5 when they name none). */
  algorithm: DigestAlgorithm;
  /** The plain H(A1) of the algorithm's hash ({@linkcode digestHA1}), even for `-sess`. */
  ha1: string;
  /** The request method: A2 starts with it. */
  method: string;
  /** The digest-uri, as the credentials carry it. */
  uri: string;
  /** The server nonce. */
  nonce: string;
  /** `auth`, `auth-int`, or absent for the RFC 2069 computation. */
  qop?: string;
  /** The nonce count as sent, 8 hex digits; required with qop. */
  nc?: string;
  /** The client nonce; required with qop and with a `-sess` algorithm. */
  cnonce?: string;
  /** The message body, for `auth-int`; none hashes as the empty string (RFC 3261 §22.4). */
  body?: string | Uint8Array;
}

/**
 * The request-digest, the `response` parameter (RFC 7616 §3.4.1):
 * KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2)) with qop, and
 * KD(H(A1), nonce ":" H(A2)) without (RFC 2617 §3.2.2.1, RFC 3261 §22.4).
 *
 * @param input The algorithm, H(A1), request and nonces.
 * @returns The hex response.
 * @throws {RangeError} If qop is neither `auth` nor `auth-int`, if qop comes without nc or
 * cnonce, or if a `-sess` algorithm comes without cnonce.
 * @example
 * ```ts
 * import { digestHA1, digestResponse } from "./digest_response.ts";
 * import assert from "node:assert/strict";
 *
 * // RFC 7616 §3.9.1, SHA-256.
 * const response = digestResponse({
 *   algorithm: "SHA-256",
 *   ha1: digestHA1("SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life"),
 *   method: "GET",
 *   uri: "/dir/index.html",
 *   nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
 *   qop: "auth",
 *   nc: "00000001",
 *   cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
 * });
 * assert.equal(response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
 * ```
 */
export function digestResponse(input: DigestResponseInput): string {
  const { algorithm, method, uri, nonce, qop, nc, cnonce } = input;
  let ha1 = input.ha1.toLowerCase();
  if (isSessionAlgorithm(algorithm)) {
    if (cnonce === undefined) throw new RangeError(`Cannot compute a ${algorithm} response without a cnonce`);
    ha1 = sessionHA1(algorithm, ha1, nonce, cnonce);
  }
  // RFC 7616 §3.4.3: A2 = Method ":" request-uri, and ":" H(entity-body) for auth-int.
  let a2: string;
  if (qop === undefined || qop === "auth") a2 = `${method}:${uri}`;
  else if (qop === "auth-int") a2 = `${method}:${uri}:${digestHash(algorithm, input.body ?? "")}`;
  else throw new RangeError(`Cannot compute a response for qop "${qop}": only auth and auth-int are known`);
  const ha2 = digestHash(algorithm, a2);
  if (qop === undefined) return digestHash(algorithm, `${ha1}:${nonce}:${ha2}`);
  if (nc === undefined || cnonce === undefined) {
    throw new RangeError(`Cannot compute a response for qop "${qop}" without ${nc === undefined ? "nc" : "cnonce"}`);
  }
  return digestHash(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
}
