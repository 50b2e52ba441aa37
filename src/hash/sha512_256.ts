/**
 * SHA-512/256 (FIPS 180-4 §6.7: SHA-512 with the §5.3.6.2 initial hash value, cut to 256 bits),
 * synchronous, for SIP digest authentication with `algorithm=SHA-512-256` (RFC 7616 §3.2,
 * RFC 8760 §2.3). JavaScript has no 64-bit integer arithmetic outside BigInt, which is slow;
 * every 64-bit word is kept as two 32-bit halves, high first.
 *
 * @module
 */

import { _compressAll } from "./md_frame.ts";

// FIPS 180-4 §4.2.3: the first 64 bits of the fractional parts of the cube roots of the first
// 80 primes, as high and low 32-bit halves.
// deno-fmt-ignore
const K = new Uint32Array([
  0x428a2f98, 0xd728ae22, 0x71374491, 0x23ef65cd, 0xb5c0fbcf, 0xec4d3b2f, 0xe9b5dba5, 0x8189dbbc,
  0x3956c25b, 0xf348b538, 0x59f111f1, 0xb605d019, 0x923f82a4, 0xaf194f9b, 0xab1c5ed5, 0xda6d8118,
  0xd807aa98, 0xa3030242, 0x12835b01, 0x45706fbe, 0x243185be, 0x4ee4b28c, 0x550c7dc3, 0xd5ffb4e2,
  0x72be5d74, 0xf27b896f, 0x80deb1fe, 0x3b1696b1, 0x9bdc06a7, 0x25c71235, 0xc19bf174, 0xcf692694,
  0xe49b69c1, 0x9ef14ad2, 0xefbe4786, 0x384f25e3, 0x0fc19dc6, 0x8b8cd5b5, 0x240ca1cc, 0x77ac9c65,
  0x2de92c6f, 0x592b0275, 0x4a7484aa, 0x6ea6e483, 0x5cb0a9dc, 0xbd41fbd4, 0x76f988da, 0x831153b5,
  0x983e5152, 0xee66dfab, 0xa831c66d, 0x2db43210, 0xb00327c8, 0x98fb213f, 0xbf597fc7, 0xbeef0ee4,
  0xc6e00bf3, 0x3da88fc2, 0xd5a79147, 0x930aa725, 0x06ca6351, 0xe003826f, 0x14292967, 0x0a0e6e70,
  0x27b70a85, 0x46d22ffc, 0x2e1b2138, 0x5c26c926, 0x4d2c6dfc, 0x5ac42aed, 0x53380d13, 0x9d95b3df,
  0x650a7354, 0x8baf63de, 0x766a0abb, 0x3c77b2a8, 0x81c2c92e, 0x47edaee6, 0x92722c85, 0x1482353b,
  0xa2bfe8a1, 0x4cf10364, 0xa81a664b, 0xbc423001, 0xc24b8b70, 0xd0f89791, 0xc76c51a3, 0x0654be30,
  0xd192e819, 0xd6ef5218, 0xd6990624, 0x5565a910, 0xf40e3585, 0x5771202a, 0x106aa070, 0x32bbd1b8,
  0x19a4c116, 0xb8d2d0c8, 0x1e376c08, 0x5141ab53, 0x2748774c, 0xdf8eeb99, 0x34b0bcb5, 0xe19b48a8,
  0x391c0cb3, 0xc5c95a63, 0x4ed8aa4a, 0xe3418acb, 0x5b9cca4f, 0x7763e373, 0x682e6ff3, 0xd6b2b8a3,
  0x748f82ee, 0x5defb2fc, 0x78a5636f, 0x43172f60, 0x84c87814, 0xa1f0ab72, 0x8cc70208, 0x1a6439ec,
  0x90befffa, 0x23631e28, 0xa4506ceb, 0xde82bde9, 0xbef9a3f7, 0xb2c67915, 0xc67178f2, 0xe372532b,
  0xca273ece, 0xea26619c, 0xd186b8c7, 0x21c0c207, 0xeada7dd6, 0xcde0eb1e, 0xf57d4f7f, 0xee6ed178,
  0x06f067aa, 0x72176fba, 0x0a637dc5, 0xa2c898a6, 0x113f9804, 0xbef90dae, 0x1b710b35, 0x131c471b,
  0x28db77f5, 0x23047d84, 0x32caab7b, 0x40c72493, 0x3c9ebe0a, 0x15c9bebc, 0x431d67c4, 0x9c100d4c,
  0x4cc5d4be, 0xcb3e42b6, 0x597f299c, 0xfc657e2a, 0x5fcb6fab, 0x3ad6faec, 0x6c44198c, 0x4a475817,
]);

// FIPS 180-4 §5.3.6.2: the initial hash value of SHA-512/256, from the §5.3.6 generation function.
// deno-fmt-ignore
const H0 = [
  0x22312194, 0xfc2bf72c, 0x9f555fa3, 0xc84c64c2, 0x2393b86b, 0x6f53b151, 0x96387719, 0x5940eabd,
  0x96283ee2, 0xa88effe3, 0xbe5e1e25, 0x53863992, 0x2b0199fc, 0x2c85b8aa, 0x0eb72ddc, 0x81c52ca2,
];

/**
 * The SHA-512/256 digest of some bytes (FIPS 180-4 §6.7).
 *
 * @param data The message; any length that fits in memory.
 * @returns The 32-byte digest.
 *
 * @example
 * ```ts
 * import { sha512_256 } from "./sha512_256.ts";
 * import assert from "node:assert/strict";
 *
 * const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
 * assert.equal(
 *   hex(sha512_256(new TextEncoder().encode("abc"))),
 *   "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
 * );
 * ```
 */
export function sha512_256(data: Uint8Array): Uint8Array {
  const h = new Uint32Array(H0);
  const w = new Uint32Array(160);
  _compressAll(data, 128, false, (bytes, offset) => _block(h, w, bytes, offset)); // FIPS 180-4 §5.1.2
  // §6.7: the leftmost 256 bits, i.e. the first four 64-bit words.
  const digest = new Uint8Array(32);
  const out = new DataView(digest.buffer);
  for (let i = 0; i < 8; i++) out.setUint32(i * 4, h[i]);
  return digest;
}

/** The high half of a 64-bit word (hi, lo) rotated right by n, 0 < n < 32. */
function _rh(hi: number, lo: number, n: number): number {
  return (hi >>> n) | (lo << (32 - n));
}

/** The low half of a 64-bit word (hi, lo) rotated right by n, 0 < n < 32. A rotation by 32 + m
 * swaps the halves: its high half is _rl(hi, lo, m) and its low half _rh(hi, lo, m). */
function _rl(hi: number, lo: number, n: number): number {
  return (lo >>> n) | (hi << (32 - n));
}

const TWO_32 = 0x100000000;

/** FIPS 180-4 §6.4.2: one 1024-bit block into the hash state h; w is scratch for the schedule. */
function _block(h: Uint32Array, w: Uint32Array, bytes: Uint8Array, offset: number): void {
  for (let t = 0; t < 32; t++) {
    const i = offset + t * 4;
    w[t] = (bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3];
  }
  for (let t = 32; t < 160; t += 2) {
    // §4.1.3: σ0 = ROTR1 ^ ROTR8 ^ SHR7 of W[t-15]; σ1 = ROTR19 ^ ROTR61 ^ SHR6 of W[t-2].
    const xh = w[t - 30], xl = w[t - 29];
    const s0h = _rh(xh, xl, 1) ^ _rh(xh, xl, 8) ^ (xh >>> 7);
    const s0l = _rl(xh, xl, 1) ^ _rl(xh, xl, 8) ^ ((xl >>> 7) | (xh << 25));
    const yh = w[t - 4], yl = w[t - 3];
    const s1h = _rh(yh, yl, 19) ^ _rl(yh, yl, 29) ^ (yh >>> 6);
    const s1l = _rl(yh, yl, 19) ^ _rh(yh, yl, 29) ^ ((yl >>> 6) | (yh << 26));
    const lo = (s1l >>> 0) + w[t - 13] + (s0l >>> 0) + w[t - 31];
    w[t] = s1h + w[t - 14] + s0h + w[t - 32] + Math.floor(lo / TWO_32);
    w[t + 1] = lo;
  }
  let ah = h[0], al = h[1], bh = h[2], bl = h[3], ch = h[4], cl = h[5], dh = h[6], dl = h[7];
  let eh = h[8], el = h[9], fh = h[10], fl = h[11], gh = h[12], gl = h[13], hh = h[14], hl = h[15];
  for (let t = 0; t < 160; t += 2) {
    // §4.1.3: Σ1 = ROTR14 ^ ROTR18 ^ ROTR41 of e, and Ch(e, f, g).
    const S1h = _rh(eh, el, 14) ^ _rh(eh, el, 18) ^ _rl(eh, el, 9);
    const S1l = _rl(eh, el, 14) ^ _rl(eh, el, 18) ^ _rh(eh, el, 9);
    const chh = (eh & fh) ^ (~eh & gh);
    const chl = (el & fl) ^ (~el & gl);
    const t1l = hl + (S1l >>> 0) + (chl >>> 0) + K[t + 1] + w[t + 1];
    const t1h = (hh + S1h + chh + K[t] + w[t] + Math.floor(t1l / TWO_32)) | 0;
    // Σ0 = ROTR28 ^ ROTR34 ^ ROTR39 of a, and Maj(a, b, c).
    const S0h = _rh(ah, al, 28) ^ _rl(ah, al, 2) ^ _rl(ah, al, 7);
    const S0l = _rl(ah, al, 28) ^ _rh(ah, al, 2) ^ _rh(ah, al, 7);
    const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
    const majl = (al & bl) ^ (al & cl) ^ (bl & cl);
    const t2l = (S0l >>> 0) + (majl >>> 0);
    const t2h = S0h + majh + Math.floor(t2l / TWO_32);
    hh = gh;
    hl = gl;
    gh = fh;
    gl = fl;
    fh = eh;
    fl = el;
    const el2 = dl + (t1l >>> 0);
    eh = (dh + t1h + Math.floor(el2 / TWO_32)) | 0;
    el = el2 >>> 0;
    dh = ch;
    dl = cl;
    ch = bh;
    cl = bl;
    bh = ah;
    bl = al;
    const al2 = (t1l >>> 0) + (t2l >>> 0);
    ah = (t1h + t2h + Math.floor(al2 / TWO_32)) | 0;
    al = al2 >>> 0;
  }
  _add(h, 0, ah, al);
  _add(h, 2, bh, bl);
  _add(h, 4, ch, cl);
  _add(h, 6, dh, dl);
  _add(h, 8, eh, el);
  _add(h, 10, fh, fl);
  _add(h, 12, gh, gl);
  _add(h, 14, hh, hl);
}

/** h[i..i+1] += (hi, lo), modulo 2^64. */
function _add(h: Uint32Array, i: number, hi: number, lo: number): void {
  const sum = h[i + 1] + (lo >>> 0);
  h[i] = h[i] + hi + Math.floor(sum / TWO_32);
  h[i + 1] = sum;
}
