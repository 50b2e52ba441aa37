/**
 * SHA-1 (FIPS 180-4 §6.1), synchronous, for the WebSocket handshake's `Sec-WebSocket-Accept`
 * (RFC 6455 §4.2.2). `crypto.subtle.digest` would do, but it is asynchronous, and the handshake
 * codec is a synchronous bytes-in, bytes-out function. SHA-1 is broken for collision
 * resistance; the handshake only uses it to prove that the server read the key.
 *
 * @module
 */

import { _compressAll } from "./md_frame.ts";

/**
 * The SHA-1 digest of some bytes (FIPS 180-4 §6.1).
 *
 * @param data The message; any length that fits in memory.
 * @returns The 20-byte digest.
 *
 * @example
 * ```ts
 * import { sha1 } from "./sha1.ts";
 * import assert from "node:assert/strict";
 *
 * const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
 * assert.equal(hex(sha1(new TextEncoder().encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
 * ```
 */
export function sha1(data: Uint8Array): Uint8Array {
  const h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
  const w = new Uint32Array(80);
  _compressAll(data, 64, false, (bytes, offset) => _block(h, w, bytes, offset)); // FIPS 180-4 §5.1.1
  const digest = new Uint8Array(20);
  const out = new DataView(digest.buffer);
  for (let i = 0; i < 5; i++) out.setUint32(i * 4, h[i]);
  return digest;
}

/** FIPS 180-4 §6.1.2: one 512-bit block into the hash state h; w is scratch for the schedule. */
function _block(h: Uint32Array, w: Uint32Array, bytes: Uint8Array, offset: number): void {
  for (let t = 0; t < 16; t++) {
    const i = offset + t * 4;
    w[t] = (bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3];
  }
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (let t = 0; t < 80; t++) {
    // §4.1.1: Ch, Parity, Maj, Parity with the §4.2.1 constants, twenty rounds each.
    let f: number, k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}
