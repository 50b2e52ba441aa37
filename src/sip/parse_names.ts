/**
 * The known header names by number, and finding one in the bytes of a header line (RFC 3261
 * §7.3.1: names are case-insensitive; §7.3.3: the compact forms). The headers the parser checks
 * come first, so that a field's number says whether it is one of them.
 *
 * @module
 */

import { compactHeaderName, KNOWN_HEADER_NAMES } from "./headers.ts";

// Known header names by number. The first ones are those validated while parsing, and their
// number tags the field in the loop, so that no other field is looked at twice.
/** The number of Via. */
export const _VIA_NUMBER = 0;
/** The number of From. */
export const _FROM_NUMBER = 1;
/** The number of To. */
export const _TO_NUMBER = 2;
/** The number of Call-ID. */
export const _CALL_ID_NUMBER = 3;
/** The number of CSeq. */
export const _CSEQ_NUMBER = 4;
/** The number of Max-Forwards. */
export const _MAX_FORWARDS_NUMBER = 5;
/** The number of Content-Length. */
export const _CONTENT_LENGTH_NUMBER = 6;
/** The number of Contact. */
export const _CONTACT_NUMBER = 7;
/** The headers the parser checks, by number: a field numbered below its length is one of them. */
export const _VALIDATED = ["Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Contact", "Date"];
/** Every known header name in its canonical spelling, by number, the checked ones first. */
export const _NAMES = [..._VALIDATED, ...KNOWN_HEADER_NAMES.filter((name) => !_VALIDATED.includes(name))];
/** The number of each canonical name. */
export const _NUMBERS = new Map(_NAMES.map((name, number) => [name, number]));

// Known header names, in lower case, by a hash of their length and first and last letters
// (RFC 3261 §7.3.1: field names are case-insensitive), and the compact forms (§7.3.3) by octet.
const LOWER_NAMES = new TextEncoder().encode(_NAMES.join("").toLowerCase());
const NAME_OFFSETS = new Int32Array(_NAMES.length + 1);
_NAMES.forEach((name, number) => NAME_OFFSETS[number + 1] = NAME_OFFSETS[number] + name.length);
const NAME_SLOTS = 1024;
const NAME_TABLE = new Int16Array(NAME_SLOTS).fill(-1);
function nameSlot(length: number, first: number, last: number): number {
  return (length * 961 + first * 31 + last) & (NAME_SLOTS - 1);
}
_NAMES.forEach((name, number) => {
  const lower = name.toLowerCase();
  let slot = nameSlot(lower.length, lower.charCodeAt(0), lower.charCodeAt(lower.length - 1));
  while (NAME_TABLE[slot] >= 0) slot = (slot + 1) & (NAME_SLOTS - 1);
  NAME_TABLE[slot] = number;
});
const COMPACT_NUMBERS = new Int16Array(256).fill(-1);
for (let code = 0; code < 128; code++) {
  const name = compactHeaderName(code);
  if (name !== undefined) COMPACT_NUMBERS[code] = _NUMBERS.get(name)!;
}

// Canonical spellings of the known names of four characters or more, by their first four
// octets: the common case, found without scanning the name first.
const CANONICAL_BYTES = new TextEncoder().encode(_NAMES.join(""));
const PREFIX_SLOTS = 256;
/** The four octets (little-endian) each slot holds names for, 0 for none. */
const PREFIX_KEYS = new Int32Array(PREFIX_SLOTS);
/** The first name of each slot, and the next name with the same four octets, or -1. */
const PREFIX_FIRST = new Int16Array(PREFIX_SLOTS).fill(-1);
const PREFIX_NEXT = new Int16Array(_NAMES.length).fill(-1);
function prefixSlot(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 24;
}
for (let number = _NAMES.length - 1; number >= 0; number--) {
  // Backwards, so that each list is in the order of _NAMES (the validated headers first).
  const name = _NAMES[number];
  if (name.length < 4) continue;
  const key = name.charCodeAt(0) | name.charCodeAt(1) << 8 | name.charCodeAt(2) << 16 | name.charCodeAt(3) << 24;
  let slot = prefixSlot(key);
  while (PREFIX_KEYS[slot] !== 0 && PREFIX_KEYS[slot] !== key) slot = (slot + 1) & (PREFIX_SLOTS - 1);
  PREFIX_KEYS[slot] = key;
  PREFIX_NEXT[number] = PREFIX_FIRST[slot];
  PREFIX_FIRST[slot] = number;
}
const VIA_KEY = 0x616956; // "Via"
const TO_KEY = 0x6f54; // "To"

/**
 * The known header name written in its canonical spelling (or as a compact form) at bytes[start]
 * and followed by ":", as its number times 32 plus its length; or -1 (then readField() reads the
 * name in full, in any case, RFC 3261 §7.3.1).
 */
export function _canonicalName(bytes: Uint8Array, start: number): number {
  if (bytes[start + 1] === 0x3a) {
    const number = COMPACT_NUMBERS[bytes[start]];
    return number < 0 ? -1 : number << 5 | 1;
  }
  if (bytes[start + 2] === 0x3a) return (bytes[start] | bytes[start + 1] << 8) === TO_KEY ? _TO_NUMBER << 5 | 2 : -1;
  if (bytes[start + 3] === 0x3a) {
    return (bytes[start] | bytes[start + 1] << 8 | bytes[start + 2] << 16) === VIA_KEY ? _VIA_NUMBER << 5 | 3 : -1;
  }
  const key = bytes[start] | bytes[start + 1] << 8 | bytes[start + 2] << 16 | bytes[start + 3] << 24;
  let slot = prefixSlot(key);
  for (;;) {
    const k = PREFIX_KEYS[slot];
    if (k === key) break;
    if (k === 0) return -1;
    slot = (slot + 1) & (PREFIX_SLOTS - 1);
  }
  for (let number = PREFIX_FIRST[slot]; number >= 0; number = PREFIX_NEXT[number]) {
    const from = NAME_OFFSETS[number];
    const to = NAME_OFFSETS[number + 1];
    let i = start + 4;
    let k = from + 4;
    while (k < to && bytes[i] === CANONICAL_BYTES[k]) {
      i++;
      k++;
    }
    if (k === to && bytes[i] === 0x3a) return number << 5 | (to - from);
  }
  return -1;
}

/**
 * The number of the known header name in bytes[start, end) (a token, in any case), or of the
 * compact form; else -1.
 */
export function _knownName(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length === 1) return COMPACT_NUMBERS[bytes[start]];
  // Token characters fold to lower case with | 0x20, and no two of them fold together.
  let slot = nameSlot(length, bytes[start] | 0x20, bytes[end - 1] | 0x20);
  for (;;) {
    const number = NAME_TABLE[slot];
    if (number < 0) return -1;
    let k = NAME_OFFSETS[number];
    if (NAME_OFFSETS[number + 1] - k === length) {
      let i = start;
      while (i < end && (bytes[i] | 0x20) === LOWER_NAMES[k]) {
        i++;
        k++;
      }
      if (i === end) return number;
    }
    slot = (slot + 1) & (NAME_SLOTS - 1);
  }
}
