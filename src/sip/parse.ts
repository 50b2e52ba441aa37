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
 * this parser (validate(), _parseStartLine(), readField()), which give the same answers and the
 * same errors.
 *
 * This module holds the entry point, the loop over the lines and the framing of the body; the
 * parts it calls each have a module: the start line (parse_start_line.ts), one header field
 * (parse_field.ts) and the known names it is looked up among (parse_names.ts), the checks of the
 * headers a UAS relies on (parse_checks.ts), where an error is placed (parse_errors.ts), and the
 * readers of the bytes they share (parse_bytes.ts). They are small functions, kept apart rather
 * than merged: the engines compile a small function to their fastest code sooner.
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import { REQUEST_URI } from "./grammar.ts";
import { type HeaderField, SipHeaders } from "./headers.ts";
import { HeaderError } from "./header_values.ts";
import type { SipMessage, SipRequest } from "./message.ts";
import { _cut, _findLf } from "./parse_bytes.ts";
import { _Checks } from "./parse_checks.ts";
import { _hasBlankLine, _lineError, _notEnded, _placeError } from "./parse_errors.ts";
import { _readHeaderField } from "./parse_field.ts";
import { _parseStartLine, _readStartLine } from "./parse_start_line.ts";
import { parseUri, UriError } from "./uri.ts";

/**
 * Limits and choices for {@linkcode parseMessage}.
 *
 * @example
 * ```ts
 * import { parseMessage, SipParseError } from "@sipecho/sipecho";
 * import { type ParseOptions } from "@sipecho/sipecho/message";
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
 * import { DEFAULT_MAX_MESSAGE_SIZE } from "@sipecho/sipecho/message";
 * import { parseMessage, SipParseError } from "@sipecho/sipecho";
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
 * import { DEFAULT_MAX_HEADERS } from "@sipecho/sipecho/message";
 * import { parseMessage, SipParseError } from "@sipecho/sipecho";
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
const NO_OPTIONS: ParseOptions = {};

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
  const lineEnd = _findLf(bytes, text, start);
  if (lineEnd < 0) throw _notEnded(bytes);
  const crlf = bytes[lineEnd - 1] === 13;
  const lineStop = crlf ? lineEnd - 1 : lineEnd;
  const checks = CHECKS.reset();
  let message = _readStartLine(bytes, text, start, lineStop, checks);
  if (message === undefined) {
    const line = _cut(bytes, text, start, lineStop, true);
    try {
      message = _parseStartLine(line, start, line.length === lineStop - start);
    } catch (e) {
      throw _hasBlankLine(bytes, text, start) ? e : _notEnded(bytes);
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
    if (pos >= length) throw _notEnded(bytes);
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
      throw _lineError(
        bytes,
        text,
        start,
        pos,
        "Cannot parse message: a header line starts with whitespace after the start line",
      );
    }
    pos = _readHeaderField(bytes, text, start, pos, message, checks, fields, maxHeaders);
  }
  return complete(message, fields, checks, bytes, start, pos, bodyStart, options);
}

// One serves every message: parse() never runs inside another parse(), and a message is a few
// hundred bytes, of which a new one was a sixth.
const CHECKS = new _Checks();

/**
 * Finishes a message whose header fields are read: checks them (RFC 3261 §8.1.1), frames the
 * body and checks the Request-URI. Errors get their byte offset and the message as read.
 */
function complete(
  message: SipMessage,
  fields: HeaderField[],
  checks: _Checks,
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
    throw _placeError(e, message, fields, bytes, start, end);
  }
  return message;
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
