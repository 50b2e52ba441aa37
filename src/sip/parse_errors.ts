/**
 * Where the parser reports a problem: the byte offset of the line or field it is about, the
 * message as far as it was read (so that a UAS can still answer, RFC 3261 §8.2.6), and the rule
 * that a header section with no end is reported first, whatever else is wrong.
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import type { HeaderField } from "./headers.ts";
import { HeaderError } from "./header_values.ts";
import type { SipMessage } from "./message.ts";

/** The error for a message whose header section is not ended by an empty line (RFC 3261 §7). */
export function _notEnded(bytes: Uint8Array): SipParseError {
  return new SipParseError("Cannot parse message: the header section is not ended by an empty line", bytes.length);
}

/**
 * The error for a problem in the header line at byte offset `pos`, unless the header section
 * has no end: that is reported first, whatever else is wrong.
 */
export function _lineError(
  bytes: Uint8Array,
  text: string,
  start: number,
  pos: number,
  message: string,
  limit?: "maxHeaders",
): SipParseError {
  if (!_hasBlankLine(bytes, text, start)) return _notEnded(bytes);
  return new SipParseError(message, pos, 400, limit);
}

/**
 * Does the message have an empty line after its start line? Lines end in CRLF; if the start
 * line ends in a bare LF, bare LFs are accepted throughout (and in messages that are not ASCII).
 */
export function _hasBlankLine(bytes: Uint8Array, text: string, start: number): boolean {
  const lf = bytes.indexOf(10, start);
  if (lf > 0 && bytes[lf - 1] === 13 && text.length === bytes.length) return text.indexOf("\r\n\r\n", lf - 1) >= 0;
  for (let i = start;;) {
    const lf = bytes.indexOf(10, i);
    if (lf < 0) return false;
    if (bytes[lf + 1] === 10 || (bytes[lf + 1] === 13 && bytes[lf + 2] === 10)) return true;
    i = lf + 1;
  }
}

/**
 * Gives an error found after the header fields were split its byte offset (the field it is
 * about, or the Request-URI) and the message as far as it was read.
 */
export function _placeError(
  e: unknown,
  message: SipMessage,
  fields: HeaderField[],
  bytes: Uint8Array,
  start: number,
  to: number,
): unknown {
  if (e instanceof HeaderError) {
    const index = fields.findIndex((f) => f.name === e.header);
    const error = new SipParseError(e.message, index < 0 ? to : fieldOffset(bytes, start, index));
    error.partial = message;
    return error;
  }
  if (e instanceof SipParseError) {
    e.partial = message;
    // Request-URI problems are reported at the Request-URI.
    if (e.offset < 0 && message.type === "request") {
      (e as { offset: number }).offset = start + message.method.length + 1;
    }
  }
  return e;
}

/** The byte offset where header field number `index` starts (folded lines joined). */
function fieldOffset(bytes: Uint8Array, start: number, index: number): number {
  let pos = bytes.indexOf(10, start) + 1;
  for (let n = 0; n < index; n++) {
    do pos = bytes.indexOf(10, pos) + 1; while (bytes[pos] === 0x20 || bytes[pos] === 0x09);
  }
  return pos;
}
