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
import {
  CONTACT,
  FROM_TO,
  isCallId,
  isPlainAddress,
  isPlainRequestUri,
  isPlainVia,
  REQUEST_URI,
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
  let lineEnd = findLf(bytes, text, start);
  if (lineEnd < 0) throw notEnded(bytes);
  const crlf = bytes[lineEnd - 1] === 13;
  const firstLine = cut(bytes, text, start, crlf ? lineEnd - 1 : lineEnd, true);
  const firstLineBytes = (crlf ? lineEnd - 1 : lineEnd) - start;
  let message: SipMessage;
  try {
    message = parseStartLine(firstLine, start, firstLine.length === firstLineBytes);
  } catch (e) {
    throw hasBlankLine(bytes, text, start) ? e : notEnded(bytes);
  }
  // Lines end in CRLF; if the start line ends in a bare LF, bare LFs are accepted throughout.
  // (A message that is not ASCII takes either, as it always has.)
  const bareLf = !crlf || text.length !== length;

  // Header fields, with folding undone (RFC 3261 §7.3.1). The headers a UAS relies on are
  // checked on the way (RFC 3261 §8.1.1, §8.2) by fast paths; if one is unsure, or a header
  // appears twice, validate() checks them all again, exactly, after the loop.
  const fields: HeaderField[] = [];
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  let suspect = false;
  let via = false;
  let fromValue: string | undefined;
  let toValue: string | undefined;
  let callId: string | undefined;
  let callIdChecked = false;
  let cseq: string | undefined;
  let maxForwards: string | undefined;
  let contentLength: string | undefined;
  let pos = lineEnd + 1;
  let to: number;
  let bodyStart: number;
  for (;;) {
    if (pos >= length) throw notEnded(bytes);
    const c0 = bytes[pos];
    // The empty line that ends the header section (RFC 3261 §7).
    if (c0 === 13) {
      if (bytes[pos + 1] === 10 && (bareLf || bytes[pos - 2] === 13)) {
        to = pos;
        bodyStart = pos + 2;
        break;
      }
    } else if (c0 === 10) {
      if (bareLf) {
        to = pos;
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
    // field-name HCOLON: a token, then *( SP / HTAB ) ":" (RFC 3261 §7.3.1, §25.1)
    let i = pos;
    let state = START;
    while (i < length) {
      const next = NAME_AUTOMATON[state * WIDTH + COLUMN[bytes[i]]];
      if (next === START) break;
      state = next;
      i++;
    }
    const nameEnd = i;
    while (i < length && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
    const plainName = bytes[i] === 0x3a && nameEnd > pos;
    // The field ends at the first line end not followed by whitespace.
    lineEnd = findLf(bytes, text, plainName ? i : pos);
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
    let name: string;
    let number = NAME_NUMBER[state];
    let colon = i;
    if (plainName) {
      // A known name, else a token that is no known name, kept as written.
      name = number >= 0 ? NAMES[number] : cut(bytes, text, pos, nameEnd);
    } else {
      // An unknown name, or an unusual line (no colon, a name that is not a token, octets that
      // are not ASCII): read as text.
      colon = plainName ? i : indexOfColon(bytes, pos, end);
      if (colon < 0) {
        const line = cut(bytes, text, pos, end).slice(0, 40);
        throw lineError(bytes, text, start, pos, `Cannot parse header line "${line}": no colon`);
      }
      let trimmed = colon;
      while (trimmed > pos && (bytes[trimmed - 1] === 0x20 || bytes[trimmed - 1] === 0x09)) trimmed--;
      const raw = cut(bytes, text, pos, trimmed);
      const canonical = lookupName(raw);
      if (canonical === undefined) {
        throw lineError(bytes, text, start, pos, `Cannot parse header line: "${raw}" is not a header name`);
      }
      name = canonical;
      number = NUMBERS.get(name) ?? -1;
    }
    if (fields.length === maxHeaders) {
      throw lineError(bytes, text, start, pos, `Message has more than ${maxHeaders} header fields`, "maxHeaders");
    }
    let valueStart = colon + 1;
    if (bytes[valueStart] === 0x20 && bytes[valueStart + 1] > 0x20) valueStart++;
    else while (valueStart < end && isLws(bytes[valueStart])) valueStart++;
    while (end > valueStart && isLws(bytes[end - 1])) end--;
    let value = cut(bytes, text, valueStart, end);
    if (folded) value = value.replace(/[ \t]*\r?\n[ \t]+/g, " ");
    fields.push({ name, value });
    pos = next;
    if (number < VALIDATED.length) {
      // The fast paths read the bytes, which are the value only when it was not folded.
      switch (folded ? -1 : number) {
        case VIA_NUMBER:
          if (!suspect && !isPlainVia(bytes, valueStart, end)) suspect = true;
          break;
        case FROM_NUMBER:
          if (fromValue !== undefined || !isPlainAddress(bytes, valueStart, end, false)) suspect = true;
          break;
        case TO_NUMBER:
          if (toValue !== undefined || !isPlainAddress(bytes, valueStart, end, false)) suspect = true;
          break;
        case CALL_ID_NUMBER:
          callIdChecked = isCallId(bytes, valueStart, end);
          break;
        case CONTACT_NUMBER:
          if (!suspect && value !== "*" && !isPlainAddress(bytes, valueStart, end, true)) suspect = true;
          break;
        case MAX_FORWARDS_NUMBER:
        case CSEQ_NUMBER:
        case CONTENT_LENGTH_NUMBER:
          break;
        default:
          // Date, or a folded value.
          suspect = true;
      }
      switch (number) {
        case VIA_NUMBER:
          via = true;
          break;
        case FROM_NUMBER:
          fromValue = value;
          break;
        case TO_NUMBER:
          toValue = value;
          break;
        case CALL_ID_NUMBER:
          if (callId !== undefined) suspect = true;
          callId = value;
          break;
        case CSEQ_NUMBER:
          if (cseq !== undefined) suspect = true;
          cseq = value;
          break;
        case MAX_FORWARDS_NUMBER:
          if (maxForwards !== undefined) suspect = true;
          maxForwards = value;
          break;
        case CONTENT_LENGTH_NUMBER:
          if (contentLength !== undefined && contentLength !== value) suspect = true;
          contentLength = value;
          break;
      }
    }
  }

  message.headers = SipHeaders._fromFields(fields);
  try {
    if (
      suspect || !via || fromValue === undefined || toValue === undefined || callId === undefined || cseq === undefined
    ) {
      validate(message, fields);
    } else {
      prime(message, callId, callIdChecked, cseq, maxForwards, contentLength);
    }
    message.body = frameBody(message, bytes, bodyStart, options);
    if (message.type === "request") {
      // The Request-URI follows the method (a token, so ASCII) and one space.
      const uriStart = start + message.method.length + 1;
      const plain = firstLine.length === firstLineBytes &&
        isPlainRequestUri(bytes, uriStart, uriStart + message.uri.length);
      checkRequestUri(message, plain, options);
    }
  } catch (e) {
    if (e instanceof HeaderError) {
      const index = fields.findIndex((f) => f.name === e.header);
      const error = new SipParseError(e.message, index < 0 ? to : fieldOffset(bytes, start, index));
      error.partial = message;
      throw error;
    }
    if (e instanceof SipParseError) {
      e.partial = message;
      // Request-URI problems are reported at the Request-URI.
      if (e.offset < 0) (e as { offset: number }).offset = start + firstLine.indexOf(" ") + 1;
    }
    throw e;
  }
  return message;
}

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

function indexOfColon(bytes: Uint8Array, from: number, end: number): number {
  const colon = bytes.indexOf(0x3a, from);
  return colon >= end ? -1 : colon;
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

// The header name is read by an automaton over the octets, which both finds the end of the token
// and knows which known name (in any case, RFC 3261 §7.3.1) or compact form (§7.3.3) it spelled.
// Its states are the prefixes of the known names in lower case, plus START and OTHER (a token
// that is no known name); column is the octet's class: a letter, "-", another token character,
// or STOP (not a token character).
const START = 0;
const OTHER = 1;
const WIDTH = 32;
const HYPHEN = 26;
const OTHER_TOKEN = 27;
const STOP = 28;
const COLUMN = new Uint8Array(256).fill(STOP);
for (let c = 0; c < 26; c++) {
  COLUMN[0x41 + c] = c;
  COLUMN[0x61 + c] = c;
}
for (const c of "0123456789.!%*_+`'~") COLUMN[c.charCodeAt(0)] = OTHER_TOKEN;
COLUMN[0x2d] = HYPHEN;
const transitions: number[] = [];
const accepts: number[] = [];
function newState(): number {
  const state = accepts.length;
  for (let column = 0; column < WIDTH; column++) transitions.push(column < STOP ? OTHER : START);
  accepts.push(-1);
  return state;
}
newState(); // START
newState(); // OTHER
const prefixes = new Map<string, number>([["", START]]);
function addName(spelling: string, number: number): void {
  let state = START;
  for (let k = 1; k <= spelling.length; k++) {
    let next = prefixes.get(spelling.slice(0, k));
    if (next === undefined) {
      next = newState();
      prefixes.set(spelling.slice(0, k), next);
      transitions[state * WIDTH + COLUMN[spelling.charCodeAt(k - 1)]] = next;
    }
    state = next;
  }
  accepts[state] = number;
}
NAMES.forEach((name, number) => addName(name.toLowerCase(), number));
for (let c = 0x61; c <= 0x7a; c++) {
  const name = compactHeaderName(c);
  if (name !== undefined) addName(String.fromCharCode(c), NUMBERS.get(name)!);
}
/** The next state by state * WIDTH + column; START after STOP. */
const NAME_AUTOMATON = new Uint16Array(transitions);
/** The number of the name spelled by a state, or -1. */
const NAME_NUMBER = new Int16Array(accepts);

/** The canonical name of a header name as written, or undefined if it is not a token. */
function lookupName(raw: string): string | undefined {
  const name = canonicalHeaderName(raw);
  if (name === raw && !isToken(raw)) return undefined;
  return name;
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

const NO_HEADERS = new SipHeaders();

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
  prime(message, callId, false, cseq, maxForwards, contentLength);
}

/**
 * Parses Call-ID (unless `callIdChecked`: the fast path found it well formed), CSeq,
 * Max-Forwards and Content-Length, and stores them on the message.
 */
function prime(
  message: SipMessage,
  callId: string,
  callIdChecked: boolean,
  cseq: string,
  maxForwards: string | undefined,
  contentLength: string | undefined,
): void {
  const parsedCallId = callIdChecked ? callId : parseCallId(callId);
  const parsedCSeq = parseCSeq(cseq);
  // RFC 3261 §8.1.1.5: the CSeq method MUST match the request method (RFC 4475 §3.1.2.17).
  if (message.type === "request" && parsedCSeq.method !== message.method) {
    throw new HeaderError(
      "CSeq",
      `method "${parsedCSeq.method}" does not match the request method "${message.method}"`,
    );
  }
  message._prime(
    parsedCallId,
    parsedCSeq,
    maxForwards === undefined ? undefined : parseBoundedInteger(maxForwards, "Max-Forwards", 255),
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
