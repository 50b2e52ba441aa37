/**
 * Reading a SIP message from its wire bytes (RFC 3261 §7, §25).
 *
 * The start line and every header field are split and named eagerly; the headers a UAS must
 * trust before it answers (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact,
 * Date) are validated eagerly, and their parsed forms are cached on the message. Everything
 * else is kept as text and parsed only when asked for.
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import { CONTACT, FROM_TO, REQUEST_URI, VIA } from "./grammar.ts";
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
  isToken,
  parseBoundedInteger,
  parseCallId,
  parseContact,
  parseCSeq,
  parseDate,
  parseNameAddress,
  parseVia,
} from "./header_values.ts";
import { type SipMessage, SipRequest, SipResponse } from "./message.ts";
import { parseUri, UriError } from "./uri.ts";

/** Limits and choices for {@linkcode parseMessage}. */
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

/** Default limit on message size, in bytes. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65535;
/** Default limit on the number of header fields. */
export const DEFAULT_MAX_HEADERS = 256;
const DEFAULT_SCHEMES = ["sip", "sips", "tel"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();
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
 * import { parseMessage } from "./mod.ts";
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
export function parseMessage(input: Uint8Array | string, options: ParseOptions = {}): SipMessage {
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
  return parse(bytes, options);
}

function parse(bytes: Uint8Array, options: ParseOptions): SipMessage {
  // Most messages are ASCII: then one decode gives characters at byte offsets, and the
  // header section is found with a string search. Otherwise the bytes are searched.
  const text = decoder.decode(bytes);
  const ascii = text.length === bytes.length;
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start < bytes.length && (bytes[start] === 13 || bytes[start] === 10)) start++;
  if (start === bytes.length) throw new SipParseError("Cannot parse message: it is empty", start);
  const [headEnd, bodyStart] = ascii ? findBlankLineInText(text, start) : findBlankLine(bytes, start);
  if (headEnd < 0) {
    throw new SipParseError("Cannot parse message: the header section is not ended by an empty line", bytes.length);
  }
  // The header section is head[from, to): the decoded text itself when it is ASCII (no copy),
  // else the section decoded on its own.
  const head = ascii ? text : decoder.decode(bytes.subarray(start, headEnd));
  const from = ascii ? start : 0;
  // (For a bare-LF message holding U+FFFD, headEnd counts re-encoded bytes and may pass the end.)
  const to = ascii ? Math.min(headEnd, text.length) : head.length;
  // Character indexes are byte offsets when the section has as many characters as bytes.
  const where = new Where(head, from, to, start, to - from === headEnd - start);

  // Start line.
  let lineEnd = head.indexOf("\n", from);
  const firstLine = head.slice(from, head.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd);
  const message = parseStartLine(firstLine, where);

  // Header fields, with folding undone (RFC 3261 §7.3.1).
  const fields: HeaderField[] = [];
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  let pos = lineEnd + 1;
  while (pos < to) {
    const c0 = head.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) {
      throw new SipParseError(
        "Cannot parse message: a header line starts with whitespace after the start line",
        where.at(pos - from),
      );
    }
    lineEnd = head.indexOf("\n", pos);
    let next = lineEnd + 1;
    let folded = false;
    while (next < to) {
      const c = head.charCodeAt(next);
      if (c !== 0x20 && c !== 0x09) break;
      folded = true;
      lineEnd = head.indexOf("\n", next);
      next = lineEnd + 1;
    }
    let end = head.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
    const colon = head.indexOf(":", pos);
    if (colon < 0 || colon >= end) {
      throw new SipParseError(
        `Cannot parse header line "${head.slice(pos, Math.min(end, pos + 40))}": no colon`,
        where.at(pos - from),
      );
    }
    // HCOLON = *( SP / HTAB ) ":" SWS
    let nameEnd = colon;
    while (nameEnd > pos && (head.charCodeAt(nameEnd - 1) === 0x20 || head.charCodeAt(nameEnd - 1) === 0x09)) nameEnd--;
    const name = lookupName(head, pos, nameEnd);
    if (name === undefined) {
      throw new SipParseError(
        `Cannot parse header line: "${head.slice(pos, nameEnd)}" is not a header name`,
        where.at(pos - from),
      );
    }
    if (fields.length === maxHeaders) {
      throw new SipParseError(
        `Message has more than ${maxHeaders} header fields`,
        where.at(pos - from),
        400,
        "maxHeaders",
      );
    }
    let valueStart = colon + 1;
    if (head.charCodeAt(valueStart) === 0x20 && head.charCodeAt(valueStart + 1) > 0x20) valueStart++;
    else while (valueStart < end && isLws(head.charCodeAt(valueStart))) valueStart++;
    while (end > valueStart && isLws(head.charCodeAt(end - 1))) end--;
    let value = head.slice(valueStart, end);
    if (folded) value = value.replace(/[ \t]*\r?\n[ \t]+/g, " ");
    fields.push({ name, value });
    pos = next;
  }

  message.headers = SipHeaders._fromFields(fields);
  try {
    validate(message, fields);
    message.body = frameBody(message, bytes, bodyStart, options);
    if (message.type === "request") checkRequestUri(message, options);
  } catch (e) {
    if (e instanceof HeaderError) {
      const index = fields.findIndex((f) => f.name === e.header);
      const error = new SipParseError(e.message, where.at(index < 0 ? to - from : where.fieldStart(index)));
      error.partial = message;
      throw error;
    }
    if (e instanceof SipParseError) {
      e.partial = message;
      // Request-URI problems are reported at the Request-URI.
      if (e.offset < 0) (e as { offset: number }).offset = where.at(firstLine.indexOf(" ") + 1);
    }
    throw e;
  }
  return message;
}

/**
 * Where the header section ends: [index after its last line, index of the body], or [-1, -1].
 * Lines end in CRLF; if the start line ends in a bare LF, bare LFs are accepted throughout.
 */
function findBlankLineInText(text: string, start: number): [number, number] {
  const lf = text.indexOf("\n", start);
  if (lf > 0 && text.charCodeAt(lf - 1) === 13) {
    const blank = text.indexOf("\r\n\r\n", lf - 1);
    return blank < 0 ? [-1, -1] : [blank + 2, blank + 4];
  }
  return findBlankLine(new TextEncoder().encode(text), start);
}

/** The same search over bytes, for messages that are not pure ASCII. */
function findBlankLine(bytes: Uint8Array, start: number): [number, number] {
  for (let i = start;;) {
    const lf = bytes.indexOf(10, i);
    if (lf < 0) return [-1, -1];
    const next = bytes[lf + 1];
    if (next === 13 && bytes[lf + 2] === 10) return [lf + 1, lf + 3];
    if (next === 10) return [lf + 1, lf + 2];
    i = lf + 1;
  }
}

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Turns character indexes of the decoded header section head[from, to) (counted from `from`)
 * back into byte offsets (error path).
 */
class Where {
  constructor(
    readonly head: string,
    readonly from: number,
    readonly to: number,
    readonly start: number,
    readonly oneBytePerChar: boolean,
  ) {}
  at(charIndex: number): number {
    if (this.oneBytePerChar) return this.start + charIndex;
    return this.start + encoder.encode(this.head.slice(this.from, this.from + charIndex)).length;
  }
  /** The character index where header field number `index` starts (folded lines joined). */
  fieldStart(index: number): number {
    const head = this.head;
    let pos = head.indexOf("\n", this.from) + 1;
    for (let n = 0; n < index; n++) {
      do pos = head.indexOf("\n", pos) + 1; while (head.charCodeAt(pos) === 0x20 || head.charCodeAt(pos) === 0x09);
    }
    return pos - this.from;
  }
}

// Header names by (length, first character): the parser's fast path. A name written in its
// canonical spelling or in lower case is found with `startsWith`, without slicing a string.
const MAX_SHAPE_LENGTH = 32;
const BY_SHAPE: (string[] | undefined)[] = new Array(MAX_SHAPE_LENGTH * 128).fill(undefined);
for (const name of KNOWN_HEADER_NAMES) {
  for (const spelling of new Set([name, name.toLowerCase()])) {
    // Pairs of spelling and canonical name.
    const key = spelling.length * 128 + spelling.charCodeAt(0);
    (BY_SHAPE[key] ??= []).push(spelling, name);
  }
}

/** The canonical name of the header name in head[start, end), or undefined if not a token. */
function lookupName(head: string, start: number, end: number): string | undefined {
  const length = end - start;
  const c = head.charCodeAt(start);
  if (length === 1) {
    const compact = compactHeaderName(c);
    if (compact !== undefined) return compact;
  } else {
    const candidates = length < MAX_SHAPE_LENGTH && c < 128 ? BY_SHAPE[length * 128 + c] : undefined;
    if (candidates !== undefined) {
      for (let i = 0; i < candidates.length; i += 2) {
        if (head.startsWith(candidates[i], start)) return candidates[i + 1];
      }
    }
  }
  const raw = head.slice(start, end);
  const name = canonicalHeaderName(raw);
  if (name === raw && !isToken(raw)) return undefined;
  return name;
}

function parseStartLine(line: string, where: Where): SipMessage {
  const sp1 = line.indexOf(" ");
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
  if (line.startsWith("SIP/") || line.startsWith("sip/")) {
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    checkVersion(version, where.at(0));
    const code = line.slice(sp1 + 1, sp1 + 4);
    const after = line.charCodeAt(sp1 + 4);
    if (sp1 < 0 || !/^[1-6][0-9][0-9]$/.test(code) || (sp1 + 4 < line.length && after !== 0x20)) {
      throw new SipParseError(
        `Cannot parse status line "${line.slice(0, 60)}": status code must be 3 digits 100..699`,
        where.at(sp1 + 1),
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
      where.at(0),
    );
  }
  const method = line.slice(0, sp1);
  const uri = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!isToken(method)) {
    throw new SipParseError(`Cannot parse request line: method "${method}" is not a token`, where.at(0));
  }
  checkVersion(version, where.at(sp2 + 1));
  if (uri.charCodeAt(0) === 0x3c) {
    throw new SipParseError(
      `Cannot parse request line: Request-URI "${uri}" must not be enclosed in <>`,
      where.at(sp1 + 1),
    );
  }
  return new SipRequest({ method, uri, version, headers: NO_HEADERS });
}

const NO_HEADERS = new SipHeaders();

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

/** Validates the headers a UAS relies on (RFC 3261 §8.1.1, §8.2) and caches the cheap views. */
function validate(message: SipMessage, fields: HeaderField[]): void {
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
  message._prime("callId", parseCallId(callId));
  const parsedCSeq = parseCSeq(cseq);
  // RFC 3261 §8.1.1.5: the CSeq method MUST match the request method (RFC 4475 §3.1.2.17).
  if (message.type === "request" && parsedCSeq.method !== message.method) {
    throw new HeaderError(
      "CSeq",
      `method "${parsedCSeq.method}" does not match the request method "${message.method}"`,
    );
  }
  message._prime("cseq", parsedCSeq);
  message._prime(
    "maxForwards",
    maxForwards === undefined ? undefined : parseBoundedInteger(maxForwards, "Max-Forwards", 255),
  );
  message._prime(
    "contentLength",
    contentLength === undefined
      ? undefined
      : parseBoundedInteger(contentLength, "Content-Length", Number.MAX_SAFE_INTEGER),
  );
}

/** Cuts the body out of the bytes following the header section (RFC 3261 §18.3, §20.14). */
function frameBody(message: SipMessage, bytes: Uint8Array, bodyStart: number, options: ParseOptions): Uint8Array {
  const available = bytes.length - bodyStart;
  const length = message.contentLength;
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

/** RFC 3261 §8.2.2.1 and §19.1.1: the Request-URI scheme must be supported, and a SIP
 * Request-URI carries no headers. */
function checkRequestUri(request: SipRequest, options: ParseOptions): void {
  const uri = request.uri;
  if (!REQUEST_URI.test(uri)) {
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
  const colon = uri.indexOf(":");
  const schemes = options.uriSchemes ?? DEFAULT_SCHEMES;
  if (colon === 3 && schemes === DEFAULT_SCHEMES) {
    const c = uri.charCodeAt(0) | 0x20;
    if (c === 0x73 || c === 0x74) return; // "sip" or "tel", the common case
  }
  const scheme = uri.slice(0, colon).toLowerCase();
  if (!schemes.includes(scheme)) {
    throw new SipParseError(`Request-URI scheme "${scheme}" is not supported`, -1, 416);
  }
}
