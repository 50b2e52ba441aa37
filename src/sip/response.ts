/**
 * Building the response to a request as a UAS does (RFC 3261 §8.2.6): Via, From, Call-ID and
 * CSeq copied, a To tag added, received/rport filled in on the top Via (RFC 3261 §18.2.1,
 * RFC 3581 §4), a Server header and a Content-Length that is always right.
 *
 * @module
 */

import { type SipRequest, SipResponse } from "./message.ts";
import { parseNameAddress, parseVia, type Via } from "./header_values.ts";
import { canonicalHeaderName, splitHeaderList } from "./headers.ts";
import type { ViaRouting } from "./routing.ts";
import { reasonPhrase } from "./reason_phrases.ts";
import { statelessTag } from "./stateless_tag.ts";
import { DEFAULT_SERVER } from "../version.ts";

// Made from the version (src/version.ts); exported from here, where mod.ts has always taken it.
export { DEFAULT_SERVER };

/**
 * Options of {@linkcode createResponse}.
 *
 * @example
 * ```ts
 * import { createResponse, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { type ResponseOptions } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "MESSAGE sip:echo@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:echo@h>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
 * ) as SipRequest;
 * const options: ResponseOptions = { toTag: "t1", body: "pong", contentType: "text/plain", server: null };
 * const response = createResponse(request, 200, undefined, options);
 * assert.equal(response.to.tag, "t1");
 * assert.equal(response.headers.get("Server"), undefined);
 * assert.equal(response.contentType?.mediaType, "text/plain");
 * assert.equal(response.bodyText, "pong");
 * ```
 */
export interface ResponseOptions {
  /**
   * The To tag to add when the request's To has none (RFC 3261 §8.2.6.2). Never added to a
   * 100 Trying. Without one, a tag is derived from the request (the same for every
   * retransmission of it, as a stateless UAS must do, RFC 3261 §8.2.7).
   */
  toTag?: string;
  /** Extra header fields, in order, written after CSeq. */
  headers?: Iterable<readonly [string, string]>;
  /** The body; a non-empty body needs `contentType`. */
  body?: Uint8Array | string;
  /** The Content-Type of the body. */
  contentType?: string;
  /**
   * Where the request came from. When given, the top Via gets `received` if its sent-by host
   * is not this address (RFC 3261 §18.2.1), and an `rport` without a value gets this port and
   * `received` is always added (RFC 3581 §4).
   */
  source?: { address: string; port: number };
  /** The Server header value (default {@linkcode DEFAULT_SERVER}); `null` leaves it out. */
  server?: string | null;
}

const encoder = new TextEncoder();

/**
 * Builds a response to a request (RFC 3261 §8.2.6): every Via value copied in order (one field
 * each, the top one stamped with received/rport), From, Call-ID and CSeq copied, To copied and
 * given a tag unless it has one or the status is 100, Timestamp copied into a 100 Trying
 * (RFC 3261 §8.2.6.1), then the extra headers, Server, Content-Type and Content-Length. It is
 * what {@linkcode ResponseHead.format} writes, read back as a message: the two never differ.
 *
 * Only the raw header fields of the request are read, so that it also works on the partial
 * message of a {@linkcode SipParseError} whose structured views would throw; a header missing
 * from the request is left out of the response.
 *
 * @param request The request.
 * @param status The status code, 100..699.
 * @param reason The reason phrase (default: {@linkcode reasonPhrase}); line breaks become spaces.
 * @param options To tag, extra headers, body, source address and Server header.
 * @returns The response.
 * @throws {RangeError} If the status is not 100..699.
 * @throws {TypeError} If a non-empty body has no `contentType`.
 * @example
 * ```ts
 * import { createResponse, formatMessage, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport\r\n" +
 *     "From: <sip:a@x>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * ) as SipRequest;
 * const response = createResponse(request, 200, undefined, {
 *   toTag: "abc",
 *   source: { address: "198.51.100.7", port: 40000 },
 * });
 * assert.equal(
 *   new TextDecoder().decode(formatMessage(response)),
 *   "SIP/2.0 200 OK\r\n" +
 *     "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport=40000;received=198.51.100.7\r\n" +
 *     "From: <sip:a@x>;tag=1\r\nTo: <sip:echo@192.0.2.1>;tag=abc\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n" +
 *     "Server: sipecho/0.1\r\nContent-Length: 0\r\n\r\n",
 * );
 * ```
 */
export function createResponse(
  request: SipRequest,
  status: number,
  reason?: string,
  options: ResponseOptions = {},
): SipResponse {
  // One writer decides what a response holds (ResponseHead.format); this is its bytes read
  // back, copied out of the shared chunk so that a response kept long does not hold the chunk.
  return _responseFromWire(new ResponseHead(request, options.source).format(status, reason, options).slice());
}

/**
 * Options of {@linkcode ResponseHead.format}: those of {@linkcode createResponse} but the source.
 *
 * @example
 * ```ts
 * import { type FormatResponseOptions } from "@sipecho/sipecho/message";
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ResponseHead } from "./response.ts";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "INVITE sip:echo@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:echo@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
 * ) as SipRequest;
 * const options: FormatResponseOptions = { toTag: "t1", headers: [["Allow", "INVITE, ACK, BYE"]], server: "demo/1.0" };
 * const ringing = parseMessage(new ResponseHead(request).format(180, undefined, options));
 * assert.ok(ringing.type === "response" && ringing.reason === "Ringing");
 * assert.equal(ringing.to.tag, "t1");
 * assert.equal(ringing.headers.get("Allow"), "INVITE, ACK, BYE");
 * assert.equal(ringing.headers.get("Server"), "demo/1.0");
 * ```
 */
export interface FormatResponseOptions extends Omit<ResponseOptions, "source"> {
  /**
   * Copy only the top Via, not every one (RFC 3261 §8.2.6.2 asks every one). For the one case
   * where the whole response cannot be sent: a request with so many Vias that any answer copying
   * them all is over the largest UDP datagram. The top Via is the one that routes the response.
   */
  topViaOnly?: boolean;
  /**
   * Copy the request's Record-Route fields, as a response that makes a dialog must
   * (RFC 3261 §12.1.1: a 101-299 to an INVITE).
   */
  recordRoute?: boolean;
}

/**
 * What every response to one request copies from it (RFC 3261 §8.2.6.2), read once and shared
 * by all of them (a 100, a 180 and a 200 to one INVITE, say): the Via values in order, the top
 * one stamped with received/rport (RFC 3261 §18.2.1, RFC 3581 §4), From, To, Call-ID, CSeq and
 * Timestamp. {@linkcode ResponseHead.format} then writes the wire bytes of a response directly,
 * without building the message: it is the one writer of responses, and
 * {@linkcode createResponse} is its bytes read back.
 *
 * Only the raw header fields are read, so that it also works on the partial message of a
 * `SipParseError`; the parsed top Via and To are used when the request has them.
 *
 * @example
 * ```ts
 * import { createResponse, formatMessage, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ResponseHead } from "./response.ts";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "BYE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1;rport\r\n" +
 *     "From: <sip:a@x>;tag=1\r\nTo: <sip:echo@192.0.2.1>;tag=9\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\n\r\n",
 * ) as SipRequest;
 * const source = { address: "198.51.100.7", port: 40000 };
 * const head = new ResponseHead(request, source);
 * assert.deepEqual(head.route, { port: undefined, maddr: undefined, rport: 40000, received: "198.51.100.7" });
 * assert.deepEqual(head.format(200), formatMessage(createResponse(request, 200, undefined, { source })));
 * ```
 */
export class ResponseHead {
  /** The Via values in order (one per field in a response), the top one stamped. */
  readonly vias: readonly string[];
  /** The From value, if the request has one. */
  readonly from: string | undefined;
  /** The To value as in the request, if it has one. */
  readonly to: string | undefined;
  /** Whether the request's To has a tag (a response then adds none, RFC 3261 §8.2.6.2). */
  readonly toTagged: boolean;
  /** The Call-ID value, if any. */
  readonly callId: string | undefined;
  /** The CSeq value, if any. */
  readonly cseq: string | undefined;
  /** The Timestamp value, if any (copied into a 100 Trying, RFC 3261 §8.2.6.1). */
  readonly timestamp: string | undefined;
  /** The Record-Route fields as received, if any (copied into a response that makes a dialog). */
  readonly recordRoute: readonly string[] | undefined;
  /**
   * The routing parameters of the stamped top Via (sent-by port, maddr, received, rport): with
   * the source, where a response goes on UDP (RFC 3261 §18.2.2). Undefined if the top Via
   * cannot be read or no source was given.
   */
  readonly route: ViaRouting | undefined;
  /** The request's first Via field as received, for the stateless To tag. */
  #firstVia: string | undefined;
  /** "Via: ...\r\n" lines and the From line. */
  #before: string;
  /** The From line alone. */
  #fromLine: string;
  /** The Call-ID and CSeq lines. */
  #after: string;
  #statelessTag: string | undefined;

  /**
   * Reads what the responses to `request` copy from it.
   *
   * @param request The request.
   * @param source Where it came from: when given, the top Via is stamped as in
   *   {@linkcode ResponseOptions.source}.
   */
  constructor(request: SipRequest, source?: { address: string; port: number }) {
    const vias: string[] = [];
    let from: string | undefined;
    let to: string | undefined;
    let callId: string | undefined;
    let cseq: string | undefined;
    let timestamp: string | undefined;
    let recordRoute: string[] | undefined;
    let firstVia: string | undefined;
    let route: ViaRouting | undefined;
    // One pass over the fields; the parser and SipHeaders keep known names in their canonical
    // spelling, compact forms included.
    for (const field of request.headers.fields) {
      const value = field.value;
      switch (field.name) {
        case "Via":
          if (firstVia === undefined) {
            firstVia = value;
            // RFC 3261 §8.2.6.2: the Via values, in order; the top one as stamped on receipt (§18.2.1).
            const values = value.indexOf(",") < 0 ? [value] : splitHeaderList(value);
            for (let i = 0; i < values.length; i++) {
              if (i === 0 && source !== undefined) {
                const stamped = _stamp(request, values[0], source);
                vias.push(stamped.value);
                route = stamped.route;
              } else vias.push(values[i]);
            }
          } else if (value.indexOf(",") < 0) vias.push(value);
          else for (const v of splitHeaderList(value)) vias.push(v);
          break;
        case "From":
          from ??= value;
          break;
        case "To":
          to ??= value;
          break;
        case "Call-ID":
          callId ??= value;
          break;
        case "CSeq":
          cseq ??= value;
          break;
        case "Timestamp":
          timestamp ??= value;
          break;
        case "Record-Route":
          (recordRoute ??= []).push(value);
          break;
      }
    }
    this.vias = vias;
    this.from = from;
    this.to = to;
    this.callId = callId;
    this.cseq = cseq;
    this.timestamp = timestamp;
    this.recordRoute = recordRoute;
    this.route = route;
    this.#firstVia = firstVia;
    this.toTagged = to !== undefined && _toTagged(request, to);
    let before = "";
    for (const v of vias) before += "Via: " + v + "\r\n";
    this.#fromLine = from === undefined ? "" : "From: " + from + "\r\n";
    this.#before = before + this.#fromLine;
    this.#after = (callId === undefined ? "" : "Call-ID: " + callId + "\r\n") +
      (cseq === undefined ? "" : "CSeq: " + cseq + "\r\n");
  }

  /**
   * The To value of a response with this status: with `toTag` added unless the request's To
   * has a tag or the status is 100 (RFC 3261 §8.2.6.2); without `toTag`, a tag derived from
   * the request (RFC 3261 §8.2.7).
   *
   * @param status The status code.
   * @param toTag Our tag.
   * @returns The value, or undefined if the request has no To.
   */
  toValue(status: number, toTag?: string): string | undefined {
    const to = this.to;
    if (to === undefined || status === 100 || this.toTagged) return to;
    return to + ";tag=" + (toTag ?? this.#stateless());
  }

  #stateless(): string {
    if (this.#statelessTag === undefined) {
      // One request's tag, not one call's: the whole From, the CSeq and the top Via stand in for
      // the From tag, so that a retransmission gets the same tag and the next request another.
      const request = [this.from, this.cseq, this.#firstVia].join("\n");
      this.#statelessTag = "s" + statelessTag(this.callId ?? "", request);
    }
    return this.#statelessTag;
  }

  /**
   * The wire bytes of a response (RFC 3261 §7.2, §8.2.6); {@linkcode createResponse} gives
   * the same response as a message. They are a view of a buffer shared with other responses:
   * copy them (`slice()`) to change them or to keep them long.
   *
   * @param status The status code, 100..699.
   * @param reason The reason phrase (default: {@linkcode reasonPhrase}); line breaks become spaces.
   * @param options To tag, extra headers, body and Server header.
   * @returns The bytes.
   * @throws {RangeError} If the status is not 100..699.
   * @throws {TypeError} If a non-empty body has no `contentType`.
   */
  format(status: number, reason?: string, options: FormatResponseOptions = {}): Uint8Array {
    let text =
      (reason === undefined ? _statusLine(status) : "SIP/2.0 " + status + " " + _phraseOf(status, reason) + "\r\n") +
      (options.topViaOnly && this.vias.length > 0 ? "Via: " + this.vias[0] + "\r\n" + this.#fromLine : this.#before);

    const to = this.toValue(status, options.toTag);
    if (to !== undefined) text += "To: " + to + "\r\n";
    text += this.#after;
    if (status === 100 && this.timestamp !== undefined) text += "Timestamp: " + this.timestamp + "\r\n";
    if (options.recordRoute && this.recordRoute !== undefined) {
      for (const rr of this.recordRoute) text += "Record-Route: " + rr + "\r\n";
    }
    const body = options.body;
    // A string body joins the text when it is ASCII (its length is then its size in bytes).
    let bytes: Uint8Array | undefined;
    let length = 0;
    if (typeof body === "string") {
      if (_isAscii(body)) length = body.length;
      else length = (bytes = encoder.encode(body)).length;
    } else if (body !== undefined) {
      length = (bytes = body).length;
    }
    if (length > 0 && options.contentType === undefined) {
      throw new TypeError("createResponse(): a body needs a contentType");
    }
    let hasServer = false;
    let wroteLength = false;
    if (options.headers !== undefined) {
      for (const [name, value] of options.headers) {
        const canonical = canonicalHeaderName(name);
        if (canonical === "Server") hasServer = true;
        else if (canonical === "Content-Length") {
          // As formatMessage does: the first Content-Length is written right, in place.
          if (!wroteLength) text += "Content-Length: " + length + "\r\n";
          wroteLength = true;
          continue;
        }
        text += canonical + ": " + value + "\r\n";
      }
    }
    const server = options.server === undefined ? DEFAULT_SERVER : options.server;
    if (server !== null && !hasServer) text += "Server: " + server + "\r\n";
    if (length > 0) text += "Content-Type: " + options.contentType + "\r\n";
    if (!wroteLength) text += "Content-Length: " + length + "\r\n";
    text += "\r\n";
    return bytes === undefined ? _write(length > 0 ? text + body : text, undefined) : _write(text, bytes);
  }
}

/**
 * @internal Reads back the bytes of a response written by {@linkcode ResponseHead.format}
 * (or `formatMessage`): the start line, one header field per line, the body. It trusts the
 * writer, so that even a Via copied as received but malformed is read back as it was sent.
 *
 * @param data The bytes.
 * @returns The response.
 */
export function _responseFromWire(data: Uint8Array): SipResponse {
  let end = -1;
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) end = data.length;
  const lines = decoder.decode(data.subarray(0, end)).split("\r\n");
  const start = lines[0];
  const space = start.indexOf(" ", 8);
  const status = Number(start.slice(8, space < 0 ? start.length : space));
  const reason = space < 0 ? "" : start.slice(space + 1);
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(": ");
    if (colon > 0) headers.push([line.slice(0, colon), line.slice(colon + 2)]);
  }
  return new SipResponse({ status, reason, headers, body: data.subarray(Math.min(end + 4, data.length)) });
}

const decoder = new TextDecoder();

function _phraseOf(status: number, reason: string | undefined): string {
  const standard = reasonPhrase(status);
  if (reason === undefined) return standard;
  return reason.indexOf("\r") < 0 && reason.indexOf("\n") < 0 ? reason : _oneLine(reason);
}

/**
 * Response bytes are written one after another into shared chunks, as Node's Buffer pool does,
 * so that a response costs no memory allocation of its own: a busy peer writes four a call.
 * A response is a view of its chunk; the chunk is freed once no view of it is left. Keep a
 * copy (`slice()`) of bytes kept long, so as not to hold a whole chunk.
 */
const _CHUNK = 64 * 1024;
let _chunk = new Uint8Array(_CHUNK);
let _used = 0;

/** The UTF-8 bytes of `text` followed by `body`. */
function _write(text: string, body: Uint8Array | undefined): Uint8Array {
  const bodyLength = body === undefined ? 0 : body.length;
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const most = text.length * 3 + bodyLength;
  if (most > _CHUNK / 4) {
    const head = encoder.encode(text);
    if (body === undefined) return head;
    const out = new Uint8Array(head.length + bodyLength);
    out.set(head, 0);
    out.set(body, head.length);
    return out;
  }
  if (_used + most > _CHUNK) {
    _chunk = new Uint8Array(_CHUNK);
    _used = 0;
  }
  const start = _used;
  let end = start + encoder.encodeInto(text, _chunk.subarray(start)).written;
  if (body !== undefined) {
    _chunk.set(body, end);
    end += bodyLength;
  }
  _used = (end + 7) & ~7;
  return _chunk.subarray(start, end);
}

/** Status lines with the standard reason phrase, made once per status code. */
const _STATUS_LINES = new Map<number, string>();

function _statusLine(status: number): string {
  let line = _STATUS_LINES.get(status);
  if (line === undefined) {
    line = "SIP/2.0 " + status + " " + reasonPhrase(status) + "\r\n";
    _STATUS_LINES.set(status, line);
  }
  return line;
}

/** Any code unit above U+007F. */
const _NON_ASCII = /[\u0080-\uffff]/;

function _isAscii(text: string): boolean {
  return !_NON_ASCII.test(text);
}

/** Whether the To has a tag: from the parsed view when the request has a sound one. */
function _toTagged(request: SipRequest, to: string): boolean {
  let view;
  try {
    view = request.to;
  } catch {
    return _hasTag(to);
  }
  return view.tag !== undefined;
}

/**
 * The top Via value stamped (RFC 3261 §18.2.1, RFC 3581 §4), and its routing parameters. The
 * request's parsed top Via is used when it has one (the parser made it), else the value is
 * parsed; a value that cannot be parsed is kept as it is, without routing parameters.
 */
function _stamp(
  request: SipRequest,
  value: string,
  source: { address: string; port: number },
): { value: string; route: ViaRouting | undefined } {
  let via: Via;
  try {
    via = request.via[0];
  } catch {
    try {
      via = parseVia(value);
    } catch {
      return { value, route: undefined };
    }
  }
  const address = _normalAddress(source.address);
  // RFC 3581 §4: with rport, received is added even if it equals sent-by.
  const needReceived = via.rport === null || _normalAddress(via.host) !== address;
  const needRport = via.rport === null;
  const route: ViaRouting = {
    port: via.port,
    maddr: via.maddr,
    rport: needRport ? source.port : via.rport,
    received: needReceived ? address : via.received,
  };
  if (!needReceived && !needRport) return { value, route };
  return { value: _stampVia(value, address, source.port, needReceived, needRport), route };
}

function _oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

function _hasTag(to: string): boolean {
  try {
    return parseNameAddress(to, "To").tag !== undefined;
  } catch {
    // A malformed To (answered with 400): look for the parameter in the text.
    return /;\s*tag\s*=/i.test(to.slice(Math.max(0, to.lastIndexOf(">"))));
  }
}

/** An address without brackets, lower case, IPv4-mapped IPv6 as IPv4 (RFC 4291 §2.5.5.2). */
function _normalAddress(address: string): string {
  let a = address.toLowerCase();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  if (a.startsWith("::ffff:") && a.indexOf(".") > 0) a = a.slice(7);
  return a;
}

/**
 * Splits a Via value into the sent-protocol/sent-by text and its parameters, on `;` outside
 * quoted strings.
 */
function _splitParams(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ";") {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

/**
 * Adds `received` and fills `rport` in a Via value (RFC 3261 §18.2.1, RFC 3581 §4), as
 * {@linkcode _stamp} decided.
 */
function _stampVia(value: string, address: string, port: number, needReceived: boolean, needRport: boolean): string {
  const parts = _splitParams(value);
  let hasReceived = false;
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf("=");
    const name = (eq < 0 ? parts[i] : parts[i].slice(0, eq)).trim().toLowerCase();
    if (name === "rport" && needRport) parts[i] = `rport=${port}`;
    else if (name === "received" && needReceived) {
      parts[i] = `received=${address}`;
      hasReceived = true;
    }
  }
  if (needReceived && !hasReceived) parts.push(`received=${address}`);
  return parts.join(";");
}
