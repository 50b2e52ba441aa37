/**
 * G.711 (ITU-T Recommendation G.711, 1988): 16-bit linear PCM to and from 8-bit µ-law (PCMU,
 * RTP payload type 0) and A-law (PCMA, 8), RFC 3551 §4.5.14. Decoding is a 256-entry table
 * each, filled once from the Recommendation's segment rules (Tables 1a/1b and 2a/2b, as in the
 * reference code of Sun Microsystems' g711.c); encoding finds the segment of the sample.
 *
 * @module
 */

// µ-law: 14-bit magnitude, bias 33 (132 at 16 bits), 8 segments; the code word is inverted.
const _BIAS = 0x84;
const _CLIP = 32635;
// A-law: the upper ends of the 8 segments of a 13-bit magnitude.
const _A_SEGMENT_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

/** µ-law byte to 16-bit linear: ITU-T G.711 Table 2a/2b. */
const _ULAW = new Int16Array(256);
/** A-law byte to 16-bit linear: ITU-T G.711 Table 1a/1b. */
const _ALAW = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const t = (((u & 0x0f) << 3) + _BIAS) << ((u & 0x70) >> 4);
  _ULAW[i] = u & 0x80 ? _BIAS - t : t - _BIAS;
  const a = i ^ 0x55;
  const segment = (a & 0x70) >> 4;
  let v = (a & 0x0f) << 4;
  v = segment === 0 ? v + 8 : (v + 0x108) << (segment - 1);
  _ALAW[i] = a & 0x80 ? v : -v;
}

/**
 * Encodes one 16-bit sample as µ-law (PCMU).
 *
 * @param sample A 16-bit signed sample (-32768 to 32767; others are clipped).
 * @returns The µ-law byte.
 * @example
 * ```ts
 * import { mulawDecode, mulawEncode } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.equal(mulawEncode(0), 0xff); // silence
 * assert.equal(mulawDecode(mulawEncode(1000)), 988);
 * ```
 */
export function mulawEncode(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.trunc(sample)));
  const sign = pcm < 0 ? 0x80 : 0;
  if (sign) pcm = -pcm;
  if (pcm > _CLIP) pcm = _CLIP;
  pcm += _BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (pcm >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/**
 * Decodes one µ-law (PCMU) byte.
 *
 * @param byte The µ-law byte, 0-255.
 * @returns The 16-bit sample.
 * @example
 * ```ts
 * import { mulawDecode } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.equal(mulawDecode(0x00), -32124);
 * assert.equal(mulawDecode(0x80), 32124);
 * ```
 */
export function mulawDecode(byte: number): number {
  return _ULAW[byte & 0xff];
}

/**
 * Encodes one 16-bit sample as A-law (PCMA).
 *
 * @param sample A 16-bit signed sample (-32768 to 32767; others are clipped).
 * @returns The A-law byte.
 * @example
 * ```ts
 * import { alawDecode, alawEncode } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.equal(alawEncode(0), 0xd5); // silence
 * assert.equal(alawDecode(alawEncode(1000)), 1008);
 * ```
 */
export function alawEncode(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.trunc(sample))) >> 3;
  let mask: number;
  if (pcm >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  let segment = 0;
  while (segment < 8 && pcm > _A_SEGMENT_END[segment]) segment++;
  if (segment >= 8) return 0x7f ^ mask;
  const value = (segment << 4) | ((segment < 2 ? pcm >> 1 : pcm >> segment) & 0x0f);
  return value ^ mask;
}

/**
 * Decodes one A-law (PCMA) byte.
 *
 * @param byte The A-law byte, 0-255.
 * @returns The 16-bit sample.
 * @example
 * ```ts
 * import { alawDecode } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.equal(alawDecode(0xd5), 8);
 * assert.equal(alawDecode(0x2a), -32256);
 * ```
 */
export function alawDecode(byte: number): number {
  return _ALAW[byte & 0xff];
}
