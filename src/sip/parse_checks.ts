/**
 * The checks of the headers a UAS must trust before it answers (RFC 3261 §8.1.1, §8.2): Via,
 * From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact and Date. The fast paths of
 * grammar.ts read them in the bytes, field by field, as the parser meets them ({@linkcode _Checks});
 * anything they are unsure of is checked again, exactly, by validate(), whose errors name the
 * problem.
 *
 * @module
 */

import { TOKEN_CHAR } from "./chars.ts";
import { CONTACT, FROM_TO, scanCallId, scanPlainAddress, scanPlainVia, VIA } from "./grammar.ts";
import { type HeaderField, splitHeaderList } from "./headers.ts";
import { HeaderError, parseContact, parseNameAddress, parseVia } from "./header_values.ts";
import { type CSeq, parseBoundedInteger, parseCallId, parseCSeq, parseDate } from "./header_scalars.ts";
import type { SipMessage } from "./message.ts";
import { _cut, _readNumber, _scanDigits } from "./parse_bytes.ts";
import {
  _CALL_ID_NUMBER,
  _CONTACT_NUMBER,
  _CONTENT_LENGTH_NUMBER,
  _CSEQ_NUMBER,
  _FROM_NUMBER,
  _MAX_FORWARDS_NUMBER,
  _TO_NUMBER,
  _VIA_NUMBER,
} from "./parse_names.ts";

/**
 * What the parser learns, field by field, of the Request-URI and the headers a UAS relies on
 * (RFC 3261 §8.1.1, §8.2): the fast paths of grammar.ts check them in the bytes as they come.
 * If one is unsure, or a header appears twice, finish() has validate() check them all again,
 * exactly, with the expressions and the views (which give the detailed errors).
 */
export class _Checks {
  declare suspect: boolean;
  declare via: boolean;
  declare from: string | undefined;
  declare to: string | undefined;
  declare callId: string | undefined;
  declare callIdChecked: boolean;
  declare cseq: string | undefined;
  declare maxForwards: string | undefined;
  declare contentLength: string | undefined;
  // What the fast paths read of CSeq, Max-Forwards and Content-Length (-1: read the text).
  declare seq: number;
  declare seqMethod: string;
  declare maxForwardsNumber: number;
  declare contentLengthNumber: number;
  /** The Request-URI is a SIP or SIPS URI that the fast path read whole. */
  declare plainUri: boolean;
  /** Where the method of a request is in the bytes. */
  declare methodStart: number;
  declare methodEnd: number;

  constructor() {
    this.reset();
  }

  /** Makes it as new, for the next message, and returns it. */
  reset(): _Checks {
    this.suspect = false;
    this.via = false;
    this.from = undefined;
    this.to = undefined;
    this.callId = undefined;
    this.callIdChecked = false;
    this.cseq = undefined;
    this.maxForwards = undefined;
    this.contentLength = undefined;
    this.seq = -1;
    this.seqMethod = "";
    this.maxForwardsNumber = -1;
    this.contentLengthNumber = -1;
    this.plainUri = false;
    this.methodStart = 0;
    this.methodEnd = 0;
    return this;
  }

  /**
   * Reads the value of field number `number` (one of _VALIDATED) from bytes[start] by its fast
   * path, as far as that goes (not past `limit`), and keeps the numbers it read (CSeq,
   * Max-Forwards, Content-Length): the index after the value it read whole, or -1 if unsure.
   */
  scan(number: number, bytes: Uint8Array, text: string, start: number, limit: number, message: SipMessage): number {
    switch (number) {
      case _VIA_NUMBER:
        return scanPlainVia(bytes, start, limit);
      case _FROM_NUMBER:
      case _TO_NUMBER:
        return scanPlainAddress(bytes, start, limit, false);
      case _CONTACT_NUMBER:
        // "*": every binding (RFC 3261 §10.2.2)
        return bytes[start] === 0x2a ? start + 1 : scanPlainAddress(bytes, start, limit, true);
      case _CALL_ID_NUMBER:
        return scanCallId(bytes, start, limit);
      case _CSEQ_NUMBER:
        return this.scanCSeq(bytes, text, start, limit, message);
      case _MAX_FORWARDS_NUMBER: {
        // Max-Forwards = 1*DIGIT, 0..255 (RFC 3261 §20.22); up to 9 digits, as parseBoundedInteger reads
        const stop = _scanDigits(bytes, start, limit);
        const n = stop < 0 ? -1 : _readNumber(bytes, start, stop);
        this.maxForwardsNumber = n > 255 ? -1 : n;
        return stop;
      }
      case _CONTENT_LENGTH_NUMBER: {
        // Content-Length = 1*DIGIT (RFC 3261 §20.14)
        const stop = _scanDigits(bytes, start, limit);
        this.contentLengthNumber = stop < 0 ? -1 : _readNumber(bytes, start, stop);
        return stop;
      }
      default:
        // Date: left to validate().
        return -1;
    }
  }

  /** CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16), the number at most 2^31-1; as scan(). */
  scanCSeq(bytes: Uint8Array, text: string, start: number, limit: number, message: SipMessage): number {
    let n = 0;
    let i = start;
    for (; i < limit && i - start < 10; i++) {
      const d = bytes[i] - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    const digits = i;
    while (i < limit && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
    const method = i;
    while (i < limit && TOKEN_CHAR[bytes[i]] === 1) i++;
    if (digits === start || n > MAX_SEQ || method === digits || i === method) {
      this.seq = -1;
      return -1;
    }
    this.seq = n;
    // The request method when it is the same (RFC 3261 §8.1.1.5), else the text.
    this.seqMethod = message.type === "request" && sameBytes(bytes, method, i, this.methodStart, this.methodEnd)
      ? message.method
      : _cut(bytes, text, method, i);
    return i;
  }

  /**
   * Notes field number `number` (one of _VALIDATED) that scan() did not read whole, with its
   * value, which is bytes[start, end) unless folded.
   */
  note(
    number: number,
    value: string,
    folded: boolean,
    bytes: Uint8Array,
    text: string,
    start: number,
    end: number,
    message: SipMessage,
  ): void {
    let whole = false;
    if (!this.suspect) {
      // The fast paths read the bytes, which are the value only when it was not folded.
      whole = !folded && this.scan(number, bytes, text, start, end, message) === end;
      if (!whole) {
        if (number === _CSEQ_NUMBER) this.seq = -1;
        else if (number === _MAX_FORWARDS_NUMBER) this.maxForwardsNumber = -1;
        else if (number === _CONTENT_LENGTH_NUMBER) this.contentLengthNumber = -1;
        else if (number !== _CALL_ID_NUMBER) this.suspect = true;
      }
    }
    this.keep(number, value, whole);
  }

  /**
   * Keeps the value of field number `number` (one of _VALIDATED), noting duplicates;
   * `checked`: the fast path read it whole.
   */
  keep(number: number, value: string, checked: boolean): void {
    switch (number) {
      case _VIA_NUMBER:
        this.via = true;
        break;
      case _FROM_NUMBER:
        if (this.from !== undefined) this.suspect = true;
        this.from = value;
        break;
      case _TO_NUMBER:
        if (this.to !== undefined) this.suspect = true;
        this.to = value;
        break;
      case _CALL_ID_NUMBER:
        if (this.callId !== undefined) this.suspect = true;
        this.callId = value;
        this.callIdChecked = checked;
        break;
      case _CSEQ_NUMBER:
        if (this.cseq !== undefined) this.suspect = true;
        this.cseq = value;
        break;
      case _MAX_FORWARDS_NUMBER:
        if (this.maxForwards !== undefined) this.suspect = true;
        this.maxForwards = value;
        break;
      case _CONTENT_LENGTH_NUMBER:
        if (this.contentLength !== undefined && this.contentLength !== value) this.suspect = true;
        this.contentLength = value;
        break;
    }
  }

  /**
   * Stores the views of the checked headers on the message, or throws the first problem.
   * Returns the Content-Length.
   */
  finish(message: SipMessage, fields: HeaderField[]): number | undefined {
    const { callId, cseq, maxForwards, contentLength } = this;
    if (
      this.suspect || !this.via || this.from === undefined || this.to === undefined || callId === undefined ||
      cseq === undefined
    ) {
      return validate(message, fields);
    }
    // In the order validate() reports problems in.
    const id = this.callIdChecked ? callId : parseCallId(callId);
    const parsedCSeq = this.seq >= 0 ? { seq: this.seq, method: this.seqMethod } : parseCSeq(cseq);
    checkCSeqMethod(message, parsedCSeq);
    const hops = maxForwards === undefined
      ? undefined
      : this.maxForwardsNumber >= 0
      ? this.maxForwardsNumber
      : parseBoundedInteger(maxForwards, "Max-Forwards", 255);
    const length = contentLength === undefined
      ? undefined
      : this.contentLengthNumber >= 0
      ? this.contentLengthNumber
      : parseBoundedInteger(contentLength, "Content-Length", Number.MAX_SAFE_INTEGER);
    message._prime(id, parsedCSeq, hops, length);
    return length;
  }
}

const MAX_SEQ = 2 ** 31 - 1;

/** Are bytes[from, to) the same as bytes[otherFrom, otherTo)? */
function sameBytes(bytes: Uint8Array, from: number, to: number, otherFrom: number, otherTo: number): boolean {
  if (to - from !== otherTo - otherFrom) return false;
  for (let i = 0; i < to - from; i++) if (bytes[from + i] !== bytes[otherFrom + i]) return false;
  return true;
}

/**
 * Checks a value against its grammar; on failure the view function is run for a detailed
 * message (and a generic one is thrown should it not object).
 */
function check(grammar: RegExp, value: string, header: string, view: (v: string) => unknown): void {
  if (grammar.test(value)) return;
  view(value);
  throw new HeaderError(header, `"${value}" is malformed`);
}

/**
 * Validates the headers a UAS relies on (RFC 3261 §8.1.1, §8.2) and caches the cheap views.
 * Returns the Content-Length.
 */
function validate(message: SipMessage, fields: HeaderField[]): number | undefined {
  let via = false;
  let from: string | undefined;
  let to: string | undefined;
  let callId: string | undefined;
  let cseq: string | undefined;
  let maxForwards: string | undefined;
  let contentLength: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const { name, value } = fields[i];
    switch (name) {
      case "Via":
        via = true;
        if (value.indexOf(",") < 0) check(VIA, value, name, parseVia);
        else for (const v of splitHeaderList(value)) check(VIA, v, name, parseVia);
        break;
      case "From":
        if (from !== undefined) throw new HeaderError(name, "header appears more than once");
        from = value;
        check(FROM_TO, value, name, (v) => parseNameAddress(v, "From"));
        break;
      case "To":
        if (to !== undefined) throw new HeaderError(name, "header appears more than once");
        to = value;
        check(FROM_TO, value, name, (v) => parseNameAddress(v, "To"));
        break;
      case "Call-ID":
        if (callId !== undefined) throw new HeaderError(name, "header appears more than once");
        callId = value;
        break;
      case "CSeq":
        if (cseq !== undefined) throw new HeaderError(name, "header appears more than once");
        cseq = value;
        break;
      case "Max-Forwards":
        if (maxForwards !== undefined) throw new HeaderError(name, "header appears more than once");
        maxForwards = value;
        break;
      case "Content-Length":
        // RFC 4475 §3.3.9: conflicting values are a framing error.
        if (contentLength !== undefined && contentLength !== value) {
          throw new HeaderError(name, `conflicting values "${contentLength}" and "${value}"`);
        }
        contentLength = value;
        break;
      case "Contact":
        if (value !== "*") {
          if (value.indexOf(",") < 0) check(CONTACT, value, name, parseContact);
          else for (const v of splitHeaderList(value)) check(CONTACT, v, name, parseContact);
        }
        break;
      case "Date":
        parseDate(value);
        break;
    }
  }
  // RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in a request;
  // Max-Forwards is not required here, for RFC 2543 peers (RFC 4475 §3.4.1).
  if (!via) throw new HeaderError("Via", "header is missing");
  if (from === undefined) throw new HeaderError("From", "header is missing");
  if (to === undefined) throw new HeaderError("To", "header is missing");
  if (callId === undefined) throw new HeaderError("Call-ID", "header is missing");
  if (cseq === undefined) throw new HeaderError("CSeq", "header is missing");
  const id = parseCallId(callId);
  const parsedCSeq = parseCSeq(cseq);
  checkCSeqMethod(message, parsedCSeq);
  const mf = maxForwards === undefined ? undefined : parseBoundedInteger(maxForwards, "Max-Forwards", 255);
  const length = contentLength === undefined
    ? undefined
    : parseBoundedInteger(contentLength, "Content-Length", Number.MAX_SAFE_INTEGER);
  message._prime(id, parsedCSeq, mf, length);
  return length;
}

// RFC 3261 §8.1.1.5: the CSeq method MUST match the request method (RFC 4475 §3.1.2.17).
function checkCSeqMethod(message: SipMessage, cseq: CSeq): void {
  if (message.type === "request" && cseq.method !== message.method) {
    throw new HeaderError("CSeq", `method "${cseq.method}" does not match the request method "${message.method}"`);
  }
}
