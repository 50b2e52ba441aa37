/**
 * Reading a SIP message from its wire bytes (RFC 3261 §7, §25).
 *
 * The start line and every header field are split and named eagerly; the headers a UAS must
 * trust before it answers (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact,
 * Date) are validated eagerly, and Call-ID, CSeq, Max-Forwards and Content-Length are cached on
 * the message in their parsed forms. Everything else is kept as text and parsed only when asked
 * for.
 *
 * The work is done in the bytes: lines, header names and the values checked eagerly are scanned
 * there (an engine indexes a Uint8Array faster than it reads a string), and strings are cut from
 * one decode of the message. The checks take fast paths (grammar.ts) for the common shapes of
 * each header; anything they are unsure of goes to the exact checks of the first version of
 * this parser (validate(), parseStartLine(), readField()), which give the same answers and the
 * same errors.
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import { isToken, TOKEN_CHAR } from "./chars.ts";
import {
  CONTACT,
  FROM_TO,
  REQUEST_URI,
  scanCallId,
  scanPlainAddress,
  scanPlainRequestUri,
  scanPlainVia,
  VIA,
} from "./grammar.ts";
import {
  canonicalHeaderName,
  compactHeaderName,
  type HeaderField,
  KNOWN_HEADER_NAMES,
  SipHeaders,
  splitHeaderList,
} from "./headers.ts";
import {
  HeaderError,
  parseBoundedInteger,
  parseCallId,
  parseContact,
  parseCSeq,
  parseDate,
  parseNameAddress,
  parseVia,
} from "./header_values.ts";
import type { CSeq } from "./header_values.ts";
import { type SipMessage, SipRequest, SipResponse } from "./message.ts";
import { parseUri, UriError } from "./uri.ts";

/**
 * Limits and choices for {@linkcode parseMessage}.
 *
 * @example
 * ```ts
 * import { parseMessage, type ParseOptions, SipParseError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const wire = "OPTIONS tel:+1-201-555-0123 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@h>;tag=1\r\nTo: <tel:+1-201-555-0123>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * const options: ParseOptions = { uriSchemes: ["sip", "sips"] };
 * assert.throws(() => parseMessage(wire, options), (e) => e instanceof SipParseError && e.status === 416);
 * assert.throws(() => parseMessage(wire, { stream: true }), /Content-Length/); // a stream needs one
 * assert.equal(parseMessage(wire).type, "request");
 * ```
 */
export interface ParseOptions {
  /** Largest message accepted, in bytes (default 65,535: the largest UDP payload). Over it: 513. */
  maxMessageSize?: number;
  /** Largest number of header fields accepted (default 256). Over it: 400. */
  maxHeaders?: number;
  /** Request-URI schemes this element supports (default sip, sips, tel). Others: 416. */
  uriSchemes?: readonly string[];
  /**
   * The message came whole from a stream framer: Content-Length is required and must match the
   * body exactly (RFC 3261 §18.3). Default false: a datagram, where Content-Length is optional,
   * octets past the body are dropped, and a missing Content-Length means the rest of the datagram.
   */
  stream?: boolean;
}

/**
 * Default limit on message size, in bytes.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_MESSAGE_SIZE, parseMessage, SipParseError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 65535);
 * const tooBig = "x".repeat(DEFAULT_MAX_MESSAGE_SIZE + 1);
 * assert.throws(() => parseMessage(tooBig), (e) => e instanceof SipParseError && e.status === 513);
 * ```
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 65535;
/**
 * Default limit on the number of header fields.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_HEADERS, parseMessage, SipParseError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_HEADERS, 256);
 * const wire = "OPTIONS sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\n" +
 *   "To: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n" + "X-Pad: 1\r\n".repeat(DEFAULT_MAX_HEADERS) + "\r\n";
 * assert.throws(() => parseMessage(wire), (e) => e instanceof SipParseError && e.limit === "maxHeaders");
 * ```
 */
export const DEFAULT_MAX_HEADERS = 256;
const DEFAULT_SCHEMES = ["sip", "sips", "tel"];
const NO_HEADERS = new SipHeaders();
const NO_OPTIONS: ParseOptions = {};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const keepBom = new TextDecoder("utf-8", { ignoreBOM: true });
const EMPTY = new Uint8Array(0);

/**
 * Parses one SIP request or response from its wire bytes (or text).
 *
 * Header names may use any case and the compact forms; folded lines are unfolded; unknown
 * headers are kept verbatim and in order. The body is kept as bytes, framed by Content-Length.
 *
 * @param input The message: bytes as received, or text (encoded as UTF-8).
 * @param options Limits and framing mode.
 * @returns A {@linkcode SipRequest} or a {@linkcode SipResponse}.
 * @throws {SipParseError} With the byte `offset` of the problem and the `status` a UAS should
 * answer with: 400, 505 (SIP-Version), 416 (Request-URI scheme) or 513 (size).
 * @example Parsing an OPTIONS request
 * ```ts
 * import { parseMessage } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const msg = parseMessage(
 *   "OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\n" +
 *     "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK74bf9;rport\r\n" +
 *     "Max-Forwards: 70\r\nf: <sip:a@127.0.0.1>;tag=1\r\nt: <sip:echo@127.0.0.1>\r\n" +
 *     "i: 843817637684230@998sdasdh09\r\nCSeq: 63104 OPTIONS\r\nl: 0\r\n\r\n",
 * );
 * assert.equal(msg.type, "request");
 * assert.equal(msg.via[0].rport, null);
 * assert.equal(msg.cseq.method, "OPTIONS");
 * ```
 */
export function parseMessage(input: Uint8Array | string, options: ParseOptions = NO_OPTIONS): SipMessage {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  const maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (bytes.length > maxSize) {
    const error = new SipParseError(
      `Message of ${bytes.length} bytes is over the limit of ${maxSize} bytes`,
      maxSize,
      513,
      "maxMessageSize",
    );
    // Still read what can be read, so that the 513 can be answered (RFC 3261 §21.5.14).
    try {
      error.partial = parse(bytes, { ...options, maxMessageSize: Infinity });
    } catch (e) {
      if (e instanceof SipParseError && e.partial) error.partial = e.partial;
    }
    throw error;
  }
  try {
    return parse(bytes, options);
  } catch (e) {
    // Too many header fields: the message up to the last field taken, so that the 400 can
    // still be answered (RFC 3261 §8.2.6) from its Via, From, To, Call-ID and CSeq.
    if (e instanceof SipParseError && e.limit === "maxHeaders" && e.partial === undefined) {
      const head = new Uint8Array(e.offset + 2);
      head.set(bytes.subarray(0, e.offset));
      head.set([13, 10], e.offset);
      try {
        e.partial = parse(head, options);
      } catch (inner) {
        if (inner instanceof SipParseError && inner.partial) e.partial = inner.partial;
      }
    }
    throw e;
  }
}

function parse(bytes: Uint8Array, options: ParseOptions): SipMessage {
  const length = bytes.length;
  // The message is read as bytes: lines, names and the values the parser checks are scanned in
  // the bytes, and offsets are byte offsets. Strings are cut from one decode of the whole message
  // when it has a character per byte (ASCII, the common case; a byte that is not UTF-8 decodes
  // to one U+FFFD), else each string is decoded on its own.
  const text = decoder.decode(bytes);
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start < length && (bytes[start] === 13 || bytes[start] === 10)) start++;
  if (start === length) throw new SipParseError("Cannot parse message: it is empty", start);

  // Start line.
  const lineEnd = findLf(bytes, text, start);
  if (lineEnd < 0) throw notEnded(bytes);
  const crlf = bytes[lineEnd - 1] === 13;
  const lineStop = crlf ? lineEnd - 1 : lineEnd;
  const checks = CHECKS.reset();
  let message = readStartLine(bytes, text, start, lineStop, checks);
  if (message === undefined) {
    const line = cut(bytes, text, start, lineStop, true);
    try {
      message = parseStartLine(line, start, line.length === lineStop - start);
    } catch (e) {
      throw hasBlankLine(bytes, text, start) ? e : notEnded(bytes);
    }
  }
  // Lines end in CRLF; if the start line ends in a bare LF, bare LFs are accepted throughout.
  // (A message that is not ASCII takes either, as it always has.)
  const bareLf = !crlf || text.length !== length;

  // Header fields, with folding undone (RFC 3261 §7.3.1).
  const fields: HeaderField[] = [];
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  let pos = lineEnd + 1;
  let bodyStart: number;
  for (;;) {
    if (pos >= length) throw notEnded(bytes);
    const c0 = bytes[pos];
    // The empty line that ends the header section (RFC 3261 §7).
    if (c0 === 13) {
      if (bytes[pos + 1] === 10 && (bareLf || bytes[pos - 2] === 13)) {
        bodyStart = pos + 2;
        break;
      }
    } else if (c0 === 10) {
      if (bareLf) {
        bodyStart = pos + 1;
        break;
      }
    } else if (c0 === 0x20 || c0 === 0x09) {
      throw lineError(
        bytes,
        text,
        start,
        pos,
        "Cannot parse message: a header line starts with whitespace after the start line",
      );
    }
    pos = readHeaderField(bytes, text, start, pos, message, checks, fields, maxHeaders);
  }
  return complete(message, fields, checks, bytes, start, pos, bodyStart, options);
}

/**
 * Reads the header field that starts at bytes[pos] into `fields` and `checks`, and returns
 * where the next line starts. (A function of its own, apart from parse(): the engines compile a
 * small function to their fastest code sooner, and this one runs for every field.)
 */
function readHeaderField(
  bytes: Uint8Array,
  text: string,
  start: number,
  pos: number,
  message: SipMessage,
  checks: Checks,
  fields: HeaderField[],
  maxHeaders: number,
): number {
  const length = bytes.length;
  const line = LINE;
  // field-name HCOLON (RFC 3261 §7.3.1, §25.1). A header the parser checks, written in its
  // canonical spelling and followed by ": ", is read by its fast path straight away, which
  // also finds where the value ends: when the line ends there and is not folded, the field
  // needs no other pass. Every other field is read by readField().
  const found = canonicalName(bytes, pos);
  let number = found >> 5;
  let valueStart = pos + (found & 31) + 2;
  let end = -1;
  let next = -1;
  // A value after more than one space (SIPp writes "Content-Length:   129") takes the fast path too.
  if (found >= 0) { while (bytes[valueStart] === 0x20 && bytes[valueStart - 1] === 0x20) valueStart++; }
  if (found >= 0 && number < VALIDATED.length && bytes[valueStart - 1] === 0x20 && bytes[valueStart] > 0x20) {
    const stop = checks.scan(number, bytes, text, valueStart, length, message);
    if (stop >= 0) {
      const lf = bytes[stop] === 13 ? stop + 1 : stop;
      if (bytes[lf] === 10 && bytes[lf + 1] !== 0x20 && bytes[lf + 1] !== 0x09) {
        end = stop;
        next = lf + 1;
      }
    }
  }
  let name: string;
  let value: string;
  const scanned = end >= 0;
  if (scanned) {
    name = NAMES[number];
    value = cut(bytes, text, valueStart, end);
  } else {
    value = readField(line, bytes, text, start, pos, found);
    name = line.name;
    number = line.number;
    valueStart = line.valueStart;
    end = line.end;
    next = line.next;
  }
  if (fields.length === maxHeaders) {
    throw lineError(bytes, text, start, pos, `Message has more than ${maxHeaders} header fields`, "maxHeaders");
  }
  fields.push({ name, value });
  if (number >= 0 && number < VALIDATED.length) {
    if (scanned) checks.keep(number, value, true);
    else checks.note(number, value, line.folded, bytes, text, valueStart, end, message);
  }
  return next;
}

/** Where readField() leaves what it read of a header field besides its value (every field, each time). */
class Line {
  name = "";
  number = -1;
  valueStart = 0;
  end = 0;
  next = 0;
  folded = false;
}

/**
 * Reads the header field at bytes[pos] (RFC 3261 §7.3.1): returns its value, with folding undone,
 * and leaves the rest on `line`. Throws on a line that is not a header field. `found`: what
 * canonicalName() found there.
 */
function readField(line: Line, bytes: Uint8Array, text: string, start: number, pos: number, found: number): string {
  const length = bytes.length;
  // field-name HCOLON: a token, then *( SP / HTAB ) ":"
  let i: number;
  let nameEnd: number;
  if (found >= 0) {
    i = nameEnd = pos + (found & 31);
  } else {
    i = pos;
    while (i < length && TOKEN_CHAR[bytes[i]] === 1) i++;
    nameEnd = i;
    while (i < length && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
  }
  const plainName = bytes[i] === 0x3a && nameEnd > pos;
  // The field ends at the first line end not followed by whitespace.
  let lineEnd = findLf(bytes, text, plainName ? i : pos);
  if (lineEnd < 0) throw notEnded(bytes);
  let next = lineEnd + 1;
  let folded = false;
  while (bytes[next] === 0x20 || bytes[next] === 0x09) {
    folded = true;
    lineEnd = findLf(bytes, text, next);
    if (lineEnd < 0) throw notEnded(bytes);
    next = lineEnd + 1;
  }
  let end = bytes[lineEnd - 1] === 13 ? lineEnd - 1 : lineEnd;
  let colon = i;
  let number: number;
  if (plainName) {
    // A known name (in any case), else a token that is no known name, kept as written.
    number = found >= 0 ? found >> 5 : knownName(bytes, pos, nameEnd);
    line.name = number >= 0 ? NAMES[number] : cut(bytes, text, pos, nameEnd);
  } else {
    line.name = readUnusualName(bytes, text, start, pos, end);
    number = NUMBERS.get(line.name) ?? -1;
    colon = bytes.indexOf(0x3a, pos);
  }
  let valueStart = colon + 1;
  if (bytes[valueStart] === 0x20 && bytes[valueStart + 1] > 0x20) valueStart++;
  else while (valueStart < end && isLws(bytes[valueStart])) valueStart++;
  while (end > valueStart && isLws(bytes[end - 1])) end--;
  line.number = number;
  line.valueStart = valueStart;
  line.end = end;
  line.next = next;
  line.folded = folded;
  const value = cut(bytes, text, valueStart, end);
  return folded ? value.replace(/[ \t]*\r?\n[ \t]+/g, " ") : value;
}

/**
 * Finishes a message whose header fields are read: checks them (RFC 3261 §8.1.1), frames the
 * body and checks the Request-URI. Errors get their byte offset and the message as read.
 */
function complete(
  message: SipMessage,
  fields: HeaderField[],
  checks: Checks,
  bytes: Uint8Array,
  start: number,
  end: number,
  bodyStart: number,
  options: ParseOptions,
): SipMessage {
  message.headers = SipHeaders._fromFields(fields);
  try {
    const contentLength = checks.finish(message, fields);
    message.body = frameBody(contentLength, bytes, bodyStart, options);
    if (message.type === "request") checkRequestUri(message, checks.plainUri, options);
  } catch (e) {
    throw placeError(e, message, fields, bytes, start, end);
  }
  return message;
}

/**
 * A header line that does not start with a token and a colon, read as text: the canonical
 * name, or a SipParseError (RFC 3261 §7.3.1).
 */
function readUnusualName(bytes: Uint8Array, text: string, start: number, pos: number, end: number): string {
  const colon = bytes.indexOf(0x3a, pos);
  if (colon < 0 || colon >= end) {
    const line = cut(bytes, text, pos, end).slice(0, 40);
    throw lineError(bytes, text, start, pos, `Cannot parse header line "${line}": no colon`);
  }
  let trimmed = colon;
  while (trimmed > pos && (bytes[trimmed - 1] === 0x20 || bytes[trimmed - 1] === 0x09)) trimmed--;
  const raw = cut(bytes, text, pos, trimmed);
  const name = canonicalHeaderName(raw);
  if (name === raw && !isToken(raw)) {
    throw lineError(bytes, text, start, pos, `Cannot parse header line: "${raw}" is not a header name`);
  }
  return name;
}

/**
 * Gives an error found after the header fields were split its byte offset (the field it is
 * about, or the Request-URI) and the message as far as it was read.
 */
function placeError(
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

/**
 * What the parser learns, field by field, of the Request-URI and the headers a UAS relies on
 * (RFC 3261 §8.1.1, §8.2): the fast paths of grammar.ts check them in the bytes as they come.
 * If one is unsure, or a header appears twice, finish() has validate() check them all again,
 * exactly, with the expressions and the views (which give the detailed errors).
 */
class Checks {
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
  reset(): Checks {
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
   * Reads the value of field number `number` (one of VALIDATED) from bytes[start] by its fast
   * path, as far as that goes (not past `limit`), and keeps the numbers it read (CSeq,
   * Max-Forwards, Content-Length): the index after the value it read whole, or -1 if unsure.
   */
  scan(number: number, bytes: Uint8Array, text: string, start: number, limit: number, message: SipMessage): number {
    switch (number) {
      case VIA_NUMBER:
        return scanPlainVia(bytes, start, limit);
      case FROM_NUMBER:
      case TO_NUMBER:
        return scanPlainAddress(bytes, start, limit, false);
      case CONTACT_NUMBER:
        // "*": every binding (RFC 3261 §10.2.2)
        return bytes[start] === 0x2a ? start + 1 : scanPlainAddress(bytes, start, limit, true);
      case CALL_ID_NUMBER:
        return scanCallId(bytes, start, limit);
      case CSEQ_NUMBER:
        return this.scanCSeq(bytes, text, start, limit, message);
      case MAX_FORWARDS_NUMBER: {
        // Max-Forwards = 1*DIGIT, 0..255 (RFC 3261 §20.22); up to 9 digits, as parseBoundedInteger reads
        const stop = scanDigits(bytes, start, limit);
        const n = stop < 0 ? -1 : readNumber(bytes, start, stop);
        this.maxForwardsNumber = n > 255 ? -1 : n;
        return stop;
      }
      case CONTENT_LENGTH_NUMBER: {
        // Content-Length = 1*DIGIT (RFC 3261 §20.14)
        const stop = scanDigits(bytes, start, limit);
        this.contentLengthNumber = stop < 0 ? -1 : readNumber(bytes, start, stop);
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
      : cut(bytes, text, method, i);
    return i;
  }

  /**
   * Notes field number `number` (one of VALIDATED) that scan() did not read whole, with its
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
        if (number === CSEQ_NUMBER) this.seq = -1;
        else if (number === MAX_FORWARDS_NUMBER) this.maxForwardsNumber = -1;
        else if (number === CONTENT_LENGTH_NUMBER) this.contentLengthNumber = -1;
        else if (number !== CALL_ID_NUMBER) this.suspect = true;
      }
    }
    this.keep(number, value, whole);
  }

  /**
   * Keeps the value of field number `number` (one of VALIDATED), noting duplicates;
   * `checked`: the fast path read it whole.
   */
  keep(number: number, value: string, checked: boolean): void {
    switch (number) {
      case VIA_NUMBER:
        this.via = true;
        break;
      case FROM_NUMBER:
        if (this.from !== undefined) this.suspect = true;
        this.from = value;
        break;
      case TO_NUMBER:
        if (this.to !== undefined) this.suspect = true;
        this.to = value;
        break;
      case CALL_ID_NUMBER:
        if (this.callId !== undefined) this.suspect = true;
        this.callId = value;
        this.callIdChecked = checked;
        break;
      case CSEQ_NUMBER:
        if (this.cseq !== undefined) this.suspect = true;
        this.cseq = value;
        break;
      case MAX_FORWARDS_NUMBER:
        if (this.maxForwards !== undefined) this.suspect = true;
        this.maxForwards = value;
        break;
      case CONTENT_LENGTH_NUMBER:
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

// One of each serves every message: parse() never runs inside another parse(), and a message
// is a few hundred bytes, of which these were a sixth.
const CHECKS = new Checks();
const LINE = new Line();

const MAX_SEQ = 2 ** 31 - 1;

/** 1 to 9 digits from `from` (not past `limit`): the index after them, or -1. */
function scanDigits(bytes: Uint8Array, from: number, limit: number): number {
  let i = from;
  while (i < limit && bytes[i] >= 0x30 && bytes[i] <= 0x39) i++;
  return i === from || i - from > 9 ? -1 : i;
}

/** The value of the digits in bytes[from, to). */
function readNumber(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + bytes[i] - 0x30;
  return n;
}

/** Are bytes[from, to) the same as bytes[otherFrom, otherTo)? */
function sameBytes(bytes: Uint8Array, from: number, to: number, otherFrom: number, otherTo: number): boolean {
  if (to - from !== otherTo - otherFrom) return false;
  for (let i = 0; i < to - from; i++) if (bytes[from + i] !== bytes[otherFrom + i]) return false;
  return true;
}

/** Is "SIP/2.0" at bytes[at]? */
function isSip20(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x53 && bytes[at + 1] === 0x49 && bytes[at + 2] === 0x50 && bytes[at + 3] === 0x2f &&
    bytes[at + 4] === 0x32 && bytes[at + 5] === 0x2e && bytes[at + 6] === 0x30;
}

/**
 * The start line in bytes[start, stop), read in the bytes in its common forms:
 * `Method SP Request-URI SP SIP/2.0` (RFC 3261 §7.1) or `SIP/2.0 SP Status-Code SP
 * Reason-Phrase` (§7.2). Undefined for anything else, which parseStartLine() reads, or rejects,
 * on the text.
 */
function readStartLine(
  bytes: Uint8Array,
  text: string,
  start: number,
  stop: number,
  checks: Checks,
): SipMessage | undefined {
  return isSip20(bytes, start)
    ? readStatusLine(bytes, text, start, stop)
    : readRequestLine(bytes, text, start, stop, checks);
}

/** Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2), as readStartLine(). */
function readStatusLine(bytes: Uint8Array, text: string, start: number, stop: number): SipResponse | undefined {
  // Status-Code = 3DIGIT, 100..699 (RFC 3261 §7.2, §21)
  const code = start + 8;
  if (bytes[start + 7] !== 0x20 || stop < code + 3 || (stop > code + 3 && bytes[code + 3] !== 0x20)) return undefined;
  if (scanDigits(bytes, code, code + 3) !== code + 3) return undefined;
  const status = readNumber(bytes, code, code + 3);
  if (status < 100 || status > 699) return undefined;
  const reason = stop > code + 4 ? cut(bytes, text, code + 4, stop) : "";
  return new SipResponse({ status, reason, version: SIP_2_0, headers: NO_HEADERS });
}

/** Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1), as readStartLine(). */
function readRequestLine(
  bytes: Uint8Array,
  text: string,
  start: number,
  stop: number,
  checks: Checks,
): SipRequest | undefined {
  let i = start;
  while (i < stop && TOKEN_CHAR[bytes[i]] === 1) i++;
  const sp1 = i;
  if (sp1 === start || sp1 >= stop || bytes[sp1] !== 0x20) return undefined;
  // The Request-URI, through its fast path if it is a SIP or SIPS URI (which never holds a space).
  i = scanPlainRequestUri(bytes, sp1 + 1, stop);
  checks.plainUri = i > sp1 + 1 && bytes[i] === 0x20;
  if (!checks.plainUri) {
    i = sp1 + 1;
    while (i < stop && bytes[i] !== 0x20) i++;
  }
  const sp2 = i;
  // One space each side of the Request-URI, which is not in <> (RFC 3261 §7.1).
  if (sp2 === sp1 + 1 || bytes[sp1 + 1] === 0x3c || stop - sp2 !== 8 || !isSip20(bytes, sp2 + 1)) return undefined;
  checks.methodStart = start;
  checks.methodEnd = sp1;
  const method = cut(bytes, text, start, sp1);
  const uri = cut(bytes, text, sp1 + 1, sp2);
  return new SipRequest({ method, uri, version: SIP_2_0, headers: NO_HEADERS });
}

const SIP_2_0 = "SIP/2.0";

/**
 * The text of bytes[from, to): cut from the decoded message if it has a character per byte, else
 * decoded on its own (keeping a U+FEFF where it is, unless `bom`: at the start of the start line
 * a byte order mark is dropped, as when decoding the message whole).
 */
function cut(bytes: Uint8Array, text: string, from: number, to: number, bom = false): string {
  if (text.length === bytes.length) return text.slice(from, to);
  return (bom ? decoder : keepBom).decode(bytes.subarray(from, to));
}

/** The index of the next LF from `from`, or -1. */
function findLf(bytes: Uint8Array, text: string, from: number): number {
  return text.length === bytes.length ? text.indexOf("\n", from) : bytes.indexOf(10, from);
}

function notEnded(bytes: Uint8Array): SipParseError {
  return new SipParseError("Cannot parse message: the header section is not ended by an empty line", bytes.length);
}

/**
 * The error for a problem in the header line at byte offset `pos`, unless the header section
 * has no end: that is reported first, whatever else is wrong.
 */
function lineError(
  bytes: Uint8Array,
  text: string,
  start: number,
  pos: number,
  message: string,
  limit?: "maxHeaders",
): SipParseError {
  if (!hasBlankLine(bytes, text, start)) return notEnded(bytes);
  return new SipParseError(message, pos, 400, limit);
}

/**
 * Does the message have an empty line after its start line? Lines end in CRLF; if the start
 * line ends in a bare LF, bare LFs are accepted throughout (and in messages that are not ASCII).
 */
function hasBlankLine(bytes: Uint8Array, text: string, start: number): boolean {
  const lf = bytes.indexOf(10, start);
  if (lf > 0 && bytes[lf - 1] === 13 && text.length === bytes.length) return text.indexOf("\r\n\r\n", lf - 1) >= 0;
  for (let i = start;;) {
    const lf = bytes.indexOf(10, i);
    if (lf < 0) return false;
    if (bytes[lf + 1] === 10 || (bytes[lf + 1] === 13 && bytes[lf + 2] === 10)) return true;
    i = lf + 1;
  }
}

/** The byte offset where header field number `index` starts (folded lines joined). */
function fieldOffset(bytes: Uint8Array, start: number, index: number): number {
  let pos = bytes.indexOf(10, start) + 1;
  for (let n = 0; n < index; n++) {
    do pos = bytes.indexOf(10, pos) + 1; while (bytes[pos] === 0x20 || bytes[pos] === 0x09);
  }
  return pos;
}

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

// Known header names by number. The first ones are those validated while parsing, and their
// number tags the field in the loop, so that no other field is looked at twice.
const VIA_NUMBER = 0;
const FROM_NUMBER = 1;
const TO_NUMBER = 2;
const CALL_ID_NUMBER = 3;
const CSEQ_NUMBER = 4;
const MAX_FORWARDS_NUMBER = 5;
const CONTENT_LENGTH_NUMBER = 6;
const CONTACT_NUMBER = 7;
const VALIDATED = ["Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Contact", "Date"];
const NAMES = [...VALIDATED, ...KNOWN_HEADER_NAMES.filter((name) => !VALIDATED.includes(name))];
const NUMBERS = new Map(NAMES.map((name, number) => [name, number]));

// Known header names, in lower case, by a hash of their length and first and last letters
// (RFC 3261 §7.3.1: field names are case-insensitive), and the compact forms (§7.3.3) by octet.
const LOWER_NAMES = new TextEncoder().encode(NAMES.join("").toLowerCase());
const NAME_OFFSETS = new Int32Array(NAMES.length + 1);
NAMES.forEach((name, number) => NAME_OFFSETS[number + 1] = NAME_OFFSETS[number] + name.length);
const NAME_SLOTS = 1024;
const NAME_TABLE = new Int16Array(NAME_SLOTS).fill(-1);
function nameSlot(length: number, first: number, last: number): number {
  return (length * 961 + first * 31 + last) & (NAME_SLOTS - 1);
}
NAMES.forEach((name, number) => {
  const lower = name.toLowerCase();
  let slot = nameSlot(lower.length, lower.charCodeAt(0), lower.charCodeAt(lower.length - 1));
  while (NAME_TABLE[slot] >= 0) slot = (slot + 1) & (NAME_SLOTS - 1);
  NAME_TABLE[slot] = number;
});
const COMPACT_NUMBERS = new Int16Array(256).fill(-1);
for (let code = 0; code < 128; code++) {
  const name = compactHeaderName(code);
  if (name !== undefined) COMPACT_NUMBERS[code] = NUMBERS.get(name)!;
}

// Canonical spellings of the known names of four characters or more, by their first four
// octets: the common case, found without scanning the name first.
const CANONICAL_BYTES = new TextEncoder().encode(NAMES.join(""));
const PREFIX_SLOTS = 256;
/** The four octets (little-endian) each slot holds names for, 0 for none. */
const PREFIX_KEYS = new Int32Array(PREFIX_SLOTS);
/** The first name of each slot, and the next name with the same four octets, or -1. */
const PREFIX_FIRST = new Int16Array(PREFIX_SLOTS).fill(-1);
const PREFIX_NEXT = new Int16Array(NAMES.length).fill(-1);
function prefixSlot(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 24;
}
for (let number = NAMES.length - 1; number >= 0; number--) {
  // Backwards, so that each list is in the order of NAMES (the validated headers first).
  const name = NAMES[number];
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
function canonicalName(bytes: Uint8Array, start: number): number {
  if (bytes[start + 1] === 0x3a) {
    const number = COMPACT_NUMBERS[bytes[start]];
    return number < 0 ? -1 : number << 5 | 1;
  }
  if (bytes[start + 2] === 0x3a) return (bytes[start] | bytes[start + 1] << 8) === TO_KEY ? TO_NUMBER << 5 | 2 : -1;
  if (bytes[start + 3] === 0x3a) {
    return (bytes[start] | bytes[start + 1] << 8 | bytes[start + 2] << 16) === VIA_KEY ? VIA_NUMBER << 5 | 3 : -1;
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
function knownName(bytes: Uint8Array, start: number, end: number): number {
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

/** The byte offset of character `index` of a line that starts at byte offset `start`. */
function lineOffset(line: string, start: number, oneBytePerChar: boolean, index: number): number {
  return start + (oneBytePerChar ? index : encoder.encode(line.slice(0, index)).length);
}

function parseStartLine(line: string, start: number, oneBytePerChar: boolean): SipMessage {
  const sp1 = line.indexOf(" ");
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
  if (line.startsWith("SIP/") || line.startsWith("sip/")) {
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    checkVersion(version, lineOffset(line, start, oneBytePerChar, 0));
    const code = line.slice(sp1 + 1, sp1 + 4);
    const after = line.charCodeAt(sp1 + 4);
    if (sp1 < 0 || !isStatusCode(code) || (sp1 + 4 < line.length && after !== 0x20)) {
      throw new SipParseError(
        `Cannot parse status line "${line.slice(0, 60)}": status code must be 3 digits 100..699`,
        lineOffset(line, start, oneBytePerChar, sp1 + 1),
      );
    }
    return new SipResponse({ status: Number(code), reason: line.slice(sp1 + 5), version, headers: NO_HEADERS });
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): exactly two single spaces.
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 === sp1 + 1 || sp2 === line.length - 1 || line.indexOf(" ", sp2 + 1) >= 0) {
    throw new SipParseError(
      `Cannot parse request line "${
        line.slice(0, 80)
      }": it must be Method SP Request-URI SP SIP-Version, with single spaces and no whitespace in the Request-URI`,
      lineOffset(line, start, oneBytePerChar, 0),
    );
  }
  const method = line.slice(0, sp1);
  const uri = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!isToken(method)) {
    throw new SipParseError(
      `Cannot parse request line: method "${method}" is not a token`,
      lineOffset(line, start, oneBytePerChar, 0),
    );
  }
  checkVersion(version, lineOffset(line, start, oneBytePerChar, sp2 + 1));
  if (uri.charCodeAt(0) === 0x3c) {
    throw new SipParseError(
      `Cannot parse request line: Request-URI "${uri}" must not be enclosed in <>`,
      lineOffset(line, start, oneBytePerChar, sp1 + 1),
    );
  }
  return new SipRequest({ method, uri, version, headers: NO_HEADERS });
}

// Status-Code = 3DIGIT, 100..699 (RFC 3261 §7.2, §21)
function isStatusCode(code: string): boolean {
  const c0 = code.charCodeAt(0);
  const c1 = code.charCodeAt(1);
  const c2 = code.charCodeAt(2);
  return code.length === 3 && c0 >= 0x31 && c0 <= 0x36 && c1 >= 0x30 && c1 <= 0x39 && c2 >= 0x30 && c2 <= 0x39;
}

// RFC 3261 §7.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; §8.2.2: anything but 2.0 gets 505.
function checkVersion(version: string, offset: number): void {
  if (version === "SIP/2.0") return;
  if (!/^SIP\/[0-9]+\.[0-9]+$/i.test(version)) {
    throw new SipParseError(`Cannot parse start line: "${version}" is not a SIP-Version`, offset);
  }
  if (version.slice(4) !== "2.0") {
    throw new SipParseError(`SIP-Version "${version}" is not supported (only SIP/2.0)`, offset, 505);
  }
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

/** Cuts the body out of the bytes following the header section (RFC 3261 §18.3, §20.14). */
function frameBody(
  length: number | undefined,
  bytes: Uint8Array,
  bodyStart: number,
  options: ParseOptions,
): Uint8Array {
  const available = bytes.length - bodyStart;
  if (length === undefined) {
    if (options.stream) throw new HeaderError("Content-Length", "header is required on a stream transport");
    return available === 0 ? EMPTY : bytes.subarray(bodyStart);
  }
  if (length > available) {
    throw new HeaderError("Content-Length", `${length} is larger than the ${available} bytes after the header section`);
  }
  if (options.stream && length < available) {
    throw new HeaderError("Content-Length", `${length} is smaller than the ${available} bytes framed`);
  }
  return length === 0 ? EMPTY : bytes.subarray(bodyStart, bodyStart + length);
}

/**
 * RFC 3261 §8.2.2.1 and §19.1.1: the Request-URI scheme must be supported, and a SIP
 * Request-URI carries no headers. `plain`: the fast path found a SIP or SIPS URI.
 */
function checkRequestUri(request: SipRequest, plain: boolean, options: ParseOptions): void {
  const uri = request.uri;
  const schemes = options.uriSchemes ?? DEFAULT_SCHEMES;
  if (plain) {
    // A SIP or SIPS URI, the common case.
    if (schemes === DEFAULT_SCHEMES) return;
  } else if (!REQUEST_URI.test(uri)) {
    let parsed;
    try {
      parsed = parseUri(uri);
    } catch (e) {
      if (e instanceof UriError) throw new SipParseError(`Cannot parse Request-URI "${uri}": ${e.message}`, -1);
      throw e;
    }
    if ("headers" in parsed && Object.keys(parsed.headers).length > 0) {
      throw new SipParseError(`Cannot parse Request-URI "${uri}": a Request-URI must not carry headers`, -1);
    }
    throw new SipParseError(`Cannot parse Request-URI "${uri}": it is malformed`, -1);
  }
  const scheme = uri.slice(0, uri.indexOf(":")).toLowerCase();
  if (!schemes.includes(scheme)) {
    throw new SipParseError(`Request-URI scheme "${scheme}" is not supported`, -1, 416);
  }
}
