/**
 * The small readers of a message's bytes that the parser's modules share: strings cut from the
 * one decode of the message, the next line end, and runs of digits (RFC 3261 §7).
 *
 * @module
 */

const decoder = new TextDecoder();
const keepBom = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The text of bytes[from, to): cut from the decoded message if it has a character per byte, else
 * decoded on its own (keeping a U+FEFF where it is, unless `bom`: at the start of the start line
 * a byte order mark is dropped, as when decoding the message whole).
 */
export function _cut(bytes: Uint8Array, text: string, from: number, to: number, bom = false): string {
  if (text.length === bytes.length) return text.slice(from, to);
  return (bom ? decoder : keepBom).decode(bytes.subarray(from, to));
}

/** The index of the next LF from `from`, or -1. */
export function _findLf(bytes: Uint8Array, text: string, from: number): number {
  return text.length === bytes.length ? text.indexOf("\n", from) : bytes.indexOf(10, from);
}

/** 1 to 9 digits from `from` (not past `limit`): the index after them, or -1. */
export function _scanDigits(bytes: Uint8Array, from: number, limit: number): number {
  let i = from;
  while (i < limit && bytes[i] >= 0x30 && bytes[i] <= 0x39) i++;
  return i === from || i - from > 9 ? -1 : i;
}

/** The value of the digits in bytes[from, to). */
export function _readNumber(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + bytes[i] - 0x30;
  return n;
}
