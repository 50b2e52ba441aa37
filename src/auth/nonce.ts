/**
 * Nonces a server can check without keeping them (RFC 7616 §3.3 suggests a nonce built from a
 * time stamp and a private key): the issue time, a sequence number, and an HMAC-SHA-256 of both
 * with the realm and, optionally, the client's source under a secret only the server knows.
 * A nonce that comes back is genuine when its MAC checks; its age is read out of it.
 *
 * Layout, 26 bytes written as 35 characters of base64url (RFC 4648 §5, no padding): 6 bytes of
 * issue time (milliseconds since the epoch), 4 bytes of sequence number, 16 bytes of MAC.
 *
 * @module
 */

import { hmac } from "../hash/hmac.ts";
import { SHA_256 } from "../hash/hash_function.ts";

/**
 * What a nonce is bound to: the secret that signs it, the realm, and optionally the source.
 *
 * @example
 * ```ts
 * import type { NonceKey } from "./nonce.ts";
 * const key: NonceKey = { secret: new Uint8Array(32).fill(7), realm: "atlanta.example.com", source: "192.0.2.1" };
 * ```
 */
export interface NonceKey {
  /** The server's secret, at least 16 bytes; nonces from another secret do not check. */
  secret: Uint8Array;
  /** The realm the nonce is for. */
  realm: string;
  /** The client's source (an address, as the caller chooses to write it), if nonces are bound to it. */
  source?: string;
}

const TIME_BYTES = 6;
const HEAD_BYTES = 10; // time and sequence number
const MAC_BYTES = 16; // HMAC-SHA-256 cut to 128 bits, as RFC 2104 §5 allows (not less than half)
const NONCE_BYTES = HEAD_BYTES + MAC_BYTES;
const NONCE_CHARS = Math.ceil((NONCE_BYTES * 8) / 6);
const encoder = new TextEncoder();

/**
 * Makes a nonce for a time and sequence number.
 *
 * @param key The secret, realm and source the nonce is bound to.
 * @param time The issue time, milliseconds since the epoch (0 to 2^48 - 1).
 * @param sequence A number that makes nonces of the same millisecond differ (taken modulo 2^32).
 * @returns The nonce, 35 base64url characters.
 * @throws {RangeError} If the time is out of range.
 * @example
 * ```ts
 * import { issueNonce, openNonce } from "./nonce.ts";
 * import assert from "node:assert/strict";
 *
 * const key = { secret: new Uint8Array(32).fill(7), realm: "atlanta.example.com" };
 * const nonce = issueNonce(key, 1_700_000_000_000, 1);
 * assert.equal(nonce.length, 35);
 * assert.equal(openNonce(key, nonce), 1_700_000_000_000);
 * assert.equal(openNonce({ ...key, realm: "biloxi.example.com" }, nonce), undefined);
 * ```
 */
export function issueNonce(key: NonceKey, time: number, sequence: number): string {
  if (!Number.isInteger(time) || time < 0 || time >= 2 ** 48) {
    throw new RangeError(`Cannot issue a nonce: time ${time} is not a whole number of milliseconds in 0..2^48-1`);
  }
  const bytes = new Uint8Array(NONCE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, Math.floor(time / 2 ** 32));
  view.setUint32(2, time >>> 0);
  view.setUint32(TIME_BYTES, sequence >>> 0);
  bytes.set(_mac(key, bytes.subarray(0, HEAD_BYTES)), HEAD_BYTES);
  return _base64url(bytes);
}

/**
 * Checks a nonce: whether this key issued it, and when.
 *
 * @param key The secret, realm and source it must be bound to.
 * @param nonce The nonce as the client returned it.
 * @returns The issue time in milliseconds, or undefined if the nonce is not one of ours.
 * @example
 * ```ts
 * import { issueNonce, openNonce } from "./nonce.ts";
 * import assert from "node:assert/strict";
 *
 * const key = { secret: new Uint8Array(32).fill(7), realm: "r", source: "192.0.2.1" };
 * const nonce = issueNonce(key, 5000, 0);
 * assert.equal(openNonce(key, nonce), 5000);
 * assert.equal(openNonce({ ...key, source: "192.0.2.2" }, nonce), undefined);
 * assert.equal(openNonce(key, "not a nonce"), undefined);
 * ```
 */
export function openNonce(key: NonceKey, nonce: string): number | undefined {
  if (nonce.length !== NONCE_CHARS) return undefined;
  const bytes = _unbase64url(nonce);
  if (bytes === undefined) return undefined;
  const expected = _mac(key, bytes.subarray(0, HEAD_BYTES));
  // Compare every byte, so the time taken does not tell how much of a forged MAC was right.
  let diff = 0;
  for (let i = 0; i < MAC_BYTES; i++) diff |= expected[i] ^ bytes[HEAD_BYTES + i];
  if (diff !== 0) return undefined;
  const view = new DataView(bytes.buffer);
  return view.getUint16(0) * 2 ** 32 + view.getUint32(2);
}

/** HMAC-SHA-256(secret, head || realm || 0x00 || source), cut to MAC_BYTES. The 0x00 keeps
 * realm "a" with source "b:c" apart from realm "a:b" with source "c". */
function _mac(key: NonceKey, head: Uint8Array): Uint8Array {
  const realm = encoder.encode(key.realm);
  const source = encoder.encode(key.source ?? "");
  const data = new Uint8Array(head.length + realm.length + 1 + source.length);
  data.set(head);
  data.set(realm, head.length);
  data.set(source, head.length + realm.length + 1);
  return hmac(SHA_256, key.secret, data).subarray(0, MAC_BYTES);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** RFC 4648 §5 base64url without padding. */
function _base64url(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 63];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 63];
  return out;
}

/** The bytes of NONCE_CHARS base64url characters, or undefined for any other character. */
function _unbase64url(text: string): Uint8Array | undefined {
  const out = new Uint8Array(NONCE_BYTES);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUE[c] : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < NONCE_BYTES) out[n++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  // The 2 bits left over after the last byte must be zero, so that each nonce has one spelling.
  return n === NONCE_BYTES && acc === 0 ? out : undefined;
}
