/**
 * The header values that are one token, number or date (RFC 3261 §20, §25.1): CSeq, Content-Type,
 * bounded integers (Max-Forwards, Content-Length), option tags, Date and Call-ID. Like
 * header_values.ts, each function takes one value and throws {@linkcode HeaderError} naming the
 * header and the problem.
 *
 * @module
 */

import { CALL_ID } from "./grammar.ts";
import { isToken, TOKEN_CHAR } from "./chars.ts";
import { _readParams, _scan, _skipWs, HeaderError } from "./header_values.ts";
import type { Params } from "./uri.ts";

/**
 * The CSeq header (RFC 3261 §20.16).
 *
 * @example
 * ```ts
 * import { type CSeq, parseCSeq } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const cseq: CSeq = parseCSeq("4711 INVITE");
 * assert.deepEqual(cseq, { seq: 4711, method: "INVITE" });
 * ```
 */
export interface CSeq {
  /** Sequence number, 0..2^31-1. */
  seq: number;
  /** The method, case-sensitive. */
  method: string;
}

/**
 * The Content-Type header (RFC 3261 §20.15).
 *
 * @example
 * ```ts
 * import { type MediaType, parseMediaType } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const type: MediaType = parseMediaType('Multipart/Mixed; boundary="unique-boundary-1"');
 * assert.equal(type.mediaType, "multipart/mixed");
 * assert.equal(type.params.boundary, "unique-boundary-1"); // quotes removed
 * ```
 */
export interface MediaType {
  /** `type/subtype` in lower case, e.g. `application/sdp`. */
  mediaType: string;
  /** Parameters, names lower-cased. */
  params: Params;
}

const MAX_SEQ = 2 ** 31 - 1;

/**
 * Parses a CSeq value: `1*DIGIT LWS Method` with the number in 0..2^31-1 (RFC 3261 §8.1.1.5).
 *
 * @param value The CSeq value.
 * @returns The CSeq.
 * @throws {HeaderError} If malformed or out of range.
 * @example
 * ```ts
 * import { parseCSeq } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseCSeq("0009 INVITE"), { seq: 9, method: "INVITE" });
 * ```
 */
export function parseCSeq(value: string): CSeq {
  let i = _skipWs(value, 0);
  const start = i;
  while (i < value.length && value.charCodeAt(i) >= 0x30 && value.charCodeAt(i) <= 0x39) i++;
  if (i === start) throw new HeaderError("CSeq", "sequence number is not a number");
  const seq = Number(value.slice(start, i));
  if (seq > MAX_SEQ) throw new HeaderError("CSeq", `sequence number ${value.slice(start, i)} is over 2^31-1`);
  const methodStart = _skipWs(value, i);
  if (methodStart === i) throw new HeaderError("CSeq", "method must follow the number after whitespace");
  const methodEnd = _scan(value, methodStart, TOKEN_CHAR);
  if (methodEnd === methodStart || _skipWs(value, methodEnd) !== value.length) {
    throw new HeaderError("CSeq", `method "${value.slice(methodStart)}" is not a token`);
  }
  return { seq, method: value.slice(methodStart, methodEnd) };
}

/**
 * Parses an integer header value with an upper bound (Max-Forwards 0..255, Content-Length).
 *
 * @param value The text.
 * @param header The header name, for error messages.
 * @param max The largest value allowed.
 * @returns The number.
 * @throws {HeaderError} If not digits or over `max`.
 * @example
 * ```ts
 * import { parseBoundedInteger } from "./header_scalars.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseBoundedInteger("0068", "Max-Forwards", 255), 68);
 * assert.throws(() => parseBoundedInteger("300", "Max-Forwards", 255), SyntaxError);
 * ```
 */
export function parseBoundedInteger(value: string, header: string, max: number): number {
  if (value.length < 10) {
    // Fast path: plain digits.
    let n = 0;
    let i = 0;
    for (; i < value.length; i++) {
      const c = value.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
    }
    if (i === value.length && i > 0) {
      if (n > max) throw new HeaderError(header, `${value} is over ${max}`);
      return n;
    }
  }
  const v = value.trim();
  if (!/^[0-9]+$/.test(v)) throw new HeaderError(header, `"${value}" is not a number`);
  const n = Number(v);
  if (n > max) throw new HeaderError(header, `${v} is over ${max}`);
  return n;
}

/**
 * Parses a Content-Type value (RFC 3261 §20.15).
 *
 * @param value The value, e.g. `application/sdp` or `multipart/mixed; boundary=x`.
 * @returns The media type in lower case and its parameters.
 * @throws {HeaderError} If malformed.
 * @example
 * ```ts
 * import { parseMediaType } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseMediaType("Application/SDP"), { mediaType: "application/sdp", params: {} });
 * ```
 */
export function parseMediaType(value: string): MediaType {
  const H = "Content-Type";
  let i = _skipWs(value, 0);
  const typeEnd = _scan(value, i, TOKEN_CHAR);
  const type = value.slice(i, typeEnd);
  i = _skipWs(value, typeEnd);
  if (type === "" || value.charCodeAt(i) !== 0x2f) throw new HeaderError(H, `"${value}" is not type/subtype`);
  i = _skipWs(value, i + 1);
  const subEnd = _scan(value, i, TOKEN_CHAR);
  if (subEnd === i) throw new HeaderError(H, `"${value}" is not type/subtype`);
  const subtype = value.slice(i, subEnd);
  return { mediaType: `${type}/${subtype}`.toLowerCase(), params: _readParams(value, subEnd, H) };
}

/**
 * Splits an option-tag list (Require, Supported, Proxy-Require, Unsupported) into tags.
 *
 * @param values The (comma-split) values of the header.
 * @param header The header name, for error messages.
 * @returns The option tags.
 * @throws {HeaderError} If a tag is not a token.
 * @example
 * ```ts
 * import { parseOptionTags } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseOptionTags(["100rel", "timer"], "Supported"), ["100rel", "timer"]);
 * ```
 */
export function parseOptionTags(values: string[], header: string): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v === "" && values.length === 1) continue; // "Supported:" with nothing is legal
    if (!isToken(v)) throw new HeaderError(header, `option tag "${v}" is not a token`);
    out.push(v);
  }
  return out;
}

// RFC 3261 §25.1 rfc1123-date, GMT only.
const RFC1123 =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;

/**
 * Checks a Date value: RFC 1123 form, and GMT only (RFC 3261 §20.17, RFC 4475 §3.1.2.12).
 *
 * @param value The Date value.
 * @returns The date.
 * @throws {HeaderError} If the form or the zone is wrong.
 * @example
 * ```ts
 * import { parseDate } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.equal(parseDate("Sat, 13 Nov 2010 23:29:00 GMT").toISOString(), "2010-11-13T23:29:00.000Z");
 * ```
 */
export function parseDate(value: string): Date {
  if (!RFC1123.test(value)) throw new HeaderError("Date", `"${value}" is not an RFC 1123 date in GMT`);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new HeaderError("Date", `"${value}" is not a valid date`);
  return d;
}

/**
 * Checks a Call-ID value: `word [ "@" word ]` (RFC 3261 §25.1).
 *
 * @param value The Call-ID value.
 * @returns The Call-ID.
 * @throws {HeaderError} If empty or malformed.
 * @example
 * ```ts
 * import { parseCallId } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.equal(parseCallId("a84b4c76e66710@pc33.atlanta.example.com"), "a84b4c76e66710@pc33.atlanta.example.com");
 * ```
 */
export function parseCallId(value: string): string {
  if (!CALL_ID.test(value)) {
    throw new HeaderError("Call-ID", value === "" ? "value is empty" : `"${value}" is not word[@word]`);
  }
  return value;
}
