/**
 * MD5 (RFC 1321), synchronous, for SIP digest authentication: `algorithm=MD5` is the default of
 * RFC 3261 §22.4 and RFC 7616 §3.3, and most SIP phones still send nothing else. MD5 is broken
 * for collision resistance; digest authentication keeps it for interoperability only, and
 * offers SHA-256 first (RFC 8760 §2.4).
 *
 * @module
 */

import { _compressAll } from "./md_frame.ts";

// RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i + 1))), written out so no engine's Math.sin is trusted.
// deno-fmt-ignore
const T = new Uint32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

// RFC 1321 §3.4: the left rotations of each round, four per round, repeated four times.
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/**
 * The MD5 digest of some bytes (RFC 1321).
 *
 * @param data The message; any length that fits in memory.
 * @returns The 16-byte digest.
 *
 * @example
 * ```ts
 * import { md5 } from "./md5.ts";
 * import assert from "node:assert/strict";
 *
 * const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
 * assert.equal(hex(md5(new TextEncoder().encode("abc"))), "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
export function md5(data: Uint8Array): Uint8Array {
  const h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]); // RFC 1321 §3.3
  const x = new Uint32Array(16);
  // RFC 1321 §3.1, §3.2: the padding and the length, low-order byte first.
  _compressAll(data, 64, true, (bytes, offset) => _block(h, x, bytes, offset));
  const digest = new Uint8Array(16);
  const out = new DataView(digest.buffer);
  for (let i = 0; i < 4; i++) out.setUint32(i * 4, h[i], true); // RFC 1321 §3.5: low-order byte first
  return digest;
}

/** RFC 1321 §3.4: one 512-bit block into the state h; x is scratch for the block's 16 words. */
function _block(h: Uint32Array, x: Uint32Array, bytes: Uint8Array, offset: number): void {
  for (let j = 0; j < 16; j++) {
    const i = offset + j * 4;
    x[j] = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
  }
  let a = h[0], b = h[1], c = h[2], d = h[3];
  for (let i = 0; i < 64; i++) {
    // The four auxiliary functions F, G, H, I and the word each round reads.
    let f: number, g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (b & d) | (c & ~d);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const s = S[(i >> 4) * 4 + (i & 3)];
    const sum = (a + f + T[i] + x[g]) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}
