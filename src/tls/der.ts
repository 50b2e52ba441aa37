/**
 * A small DER writer (ITU-T X.690 §8, §10): just the ASN.1 types an X.509 certificate
 * (RFC 5280 §4.1) is made of. Each function returns the whole encoding, tag and length
 * included; a constructed value is the concatenation of its parts' encodings.
 *
 * @module
 */

import { _join } from "../net/bytes.ts";

/**
 * One TLV: a tag octet, the definite length (X.690 §8.1.3: short form under 128, else the
 * long form in as few octets as it takes, §10.1), and the contents.
 *
 * @param tag The identifier octet (class, constructed bit and number below 31).
 * @param contents The contents octets, or the encodings of the parts of a constructed value.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import { _tlv } from "./der.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(_tlv(0x04, new Uint8Array([1, 2])), new Uint8Array([0x04, 2, 1, 2]));
 * assert.deepEqual(_tlv(0x04, new Uint8Array(200)).subarray(0, 3), new Uint8Array([0x04, 0x81, 200]));
 * ```
 */
export function _tlv(tag: number, contents: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const body = contents instanceof Uint8Array ? contents : _join(contents);
  const n = body.length;
  let length: number[];
  if (n < 0x80) length = [n];
  else {
    const octets: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
    length = [0x80 | octets.length, ...octets];
  }
  return _join([new Uint8Array([tag, ...length]), body]);
}

/** SEQUENCE (X.690 §8.9). */
export const _sequence = (parts: readonly Uint8Array[]): Uint8Array => _tlv(0x30, parts);
/** SET (X.690 §8.11): DER sorts a SET OF; the certificates here put one element in each. */
export const _set = (parts: readonly Uint8Array[]): Uint8Array => _tlv(0x31, parts);
/** OCTET STRING (X.690 §8.7). */
export const _octetString = (bytes: Uint8Array): Uint8Array => _tlv(0x04, bytes);
/** NULL (X.690 §8.8). */
export const _null = (): Uint8Array => new Uint8Array([0x05, 0x00]);
/** BOOLEAN (X.690 §11.1: TRUE is all ones in DER). */
export const _boolean = (value: boolean): Uint8Array => new Uint8Array([0x01, 0x01, value ? 0xff : 0x00]);
/** UTF8String (X.690 §8.23). */
export const _utf8String = (text: string): Uint8Array => _tlv(0x0c, new TextEncoder().encode(text));
/** An explicit context tag `[n]` around one encoding (constructed, X.690 §8.14). */
export const _explicit = (n: number, inner: Uint8Array): Uint8Array => _tlv(0xa0 | n, inner);
/** An implicit context tag `[n]` on primitive contents (X.690 §8.14.3). */
export const _implicit = (n: number, contents: Uint8Array): Uint8Array => _tlv(0x80 | n, contents);

/**
 * INTEGER (X.690 §8.3) of an unsigned big-endian number: leading zero octets dropped, and one
 * zero octet put back when the first bit is set, so that it reads as positive.
 *
 * @param value The magnitude, big-endian (or a small non-negative integer).
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import { _integer } from "./der.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(_integer(2), new Uint8Array([0x02, 1, 2]));
 * assert.deepEqual(_integer(new Uint8Array([0, 0, 0x80])), new Uint8Array([0x02, 2, 0, 0x80]));
 * ```
 */
export function _integer(value: number | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`_integer(): ${value} is not a small non-negative integer`);
    }
    const octets: number[] = [];
    for (let v = value; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
    bytes = new Uint8Array(octets);
  } else bytes = value;
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const magnitude = bytes.subarray(start);
  if (magnitude.length === 0) return new Uint8Array([0x02, 1, 0]);
  return _tlv(0x02, magnitude[0] & 0x80 ? _join([new Uint8Array([0]), magnitude]) : magnitude);
}

/**
 * OBJECT IDENTIFIER (X.690 §8.19): the first two arcs in one subidentifier, each in base 128
 * with the high bit set on all but its last octet.
 *
 * @param dotted The identifier, e.g. `2.5.4.3`.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import { _oid } from "./der.ts";
 * import assert from "node:assert/strict";
 * // ecdsa-with-SHA256 (RFC 5758 §3.2)
 * assert.deepEqual(_oid("1.2.840.10045.4.3.2"), new Uint8Array([6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2]));
 * ```
 */
export function _oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || arcs[0] > 2) {
    throw new RangeError(`_oid(): "${dotted}" is not an object identifier`);
  }
  const out: number[] = [];
  for (const sub of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const septets: number[] = [sub & 0x7f];
    for (let v = Math.floor(sub / 128); v > 0; v = Math.floor(v / 128)) septets.unshift(0x80 | (v & 0x7f));
    out.push(...septets);
  }
  return _tlv(0x06, new Uint8Array(out));
}

/**
 * BIT STRING (X.690 §8.6) of whole octets: no unused bits.
 *
 * @param bytes The bits, eight to an octet.
 * @returns The encoding.
 */
export function _bitString(bytes: Uint8Array): Uint8Array {
  return _tlv(0x03, _join([new Uint8Array([0]), bytes]));
}

/**
 * A named-bit BIT STRING (X.690 §11.2.2: DER drops trailing zero bits), such as keyUsage
 * (RFC 5280 §4.2.1.3), bit 0 being the first.
 *
 * @param bits The numbers of the bits set.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import { _namedBits } from "./der.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(_namedBits([0]), new Uint8Array([3, 2, 7, 0x80])); // digitalSignature
 * assert.deepEqual(_namedBits([5, 6]), new Uint8Array([3, 2, 1, 0x06])); // keyCertSign, cRLSign
 * ```
 */
export function _namedBits(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return new Uint8Array([0x03, 1, 0]);
  const last = Math.max(...bits);
  const octets = new Uint8Array(Math.floor(last / 8) + 1);
  for (const b of bits) octets[b >> 3] |= 0x80 >> (b & 7);
  return _tlv(0x03, _join([new Uint8Array([7 - (last & 7)]), octets]));
}

/**
 * A time of a certificate's validity (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` through
 * 2049, GeneralizedTime `YYYYMMDDHHMMSSZ` from 2050; whole seconds, UTC.
 *
 * @param date The time.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import { _time } from "./der.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new TextDecoder().decode(_time(new Date("2026-12-05T07:30:00.500Z")).subarray(2)), "261205073000Z");
 * assert.equal(_time(new Date("2050-01-01T00:00:00Z"))[0], 0x18); // GeneralizedTime
 * ```
 */
export function _time(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = two(date.getUTCMonth() + 1) + two(date.getUTCDate()) + two(date.getUTCHours()) +
    two(date.getUTCMinutes()) + two(date.getUTCSeconds()) + "Z";
  if (year >= 1950 && year < 2050) return _tlv(0x17, new TextEncoder().encode(two(year % 100) + rest));
  return _tlv(0x18, new TextEncoder().encode(String(year).padStart(4, "0") + rest));
}

/**
 * Reads one TLV at `at` (definite lengths only): the tag, where its contents start and end.
 *
 * @param der The encoding.
 * @param at Where the TLV starts.
 * @returns The tag and the contents' bounds.
 * @throws {RangeError} When the bytes do not hold a whole TLV there.
 */
export function _readTlv(der: Uint8Array, at: number): { tag: number; start: number; end: number } {
  if (at + 2 > der.length) throw new RangeError(`DER: no TLV at offset ${at}`);
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > der.length) throw new RangeError(`DER: bad length at offset ${at}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i];
    start += count;
  }
  if (start + length > der.length) throw new RangeError(`DER: the TLV at offset ${at} runs past the end`);
  return { tag, start, end: start + length };
}
