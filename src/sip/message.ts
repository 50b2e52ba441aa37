/**
 * SIP requests and responses (RFC 3261 §7), with structured views of the headers a responder
 * needs. Views are parsed on first use and cached until the headers change.
 *
 * @module
 */

import { SipHeaders } from "./headers.ts";
import {
  _parseCheckedContact,
  _parseCheckedNameAddress,
  type Contact,
  HeaderError,
  type NameAddress,
  parseContact,
  parseDeltaSeconds,
  parseNameAddress,
  parseVia,
  type Via,
} from "./header_values.ts";
import {
  type CSeq,
  type MediaType,
  parseBoundedInteger,
  parseCallId,
  parseCSeq,
  parseMediaType,
  parseOptionTags,
} from "./header_scalars.ts";
import { parseUri, type Uri } from "./uri.ts";

const EMPTY = new Uint8Array(0);

/**
 * What both requests and responses are built from.
 *
 * @example
 * ```ts
 * import { SipHeaders, SipResponse } from "@sipecho/sipecho";
 * import { type SipMessageInit } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const init: SipMessageInit = { headers: new SipHeaders([["Content-Type", "text/plain"]]), body: "hi" };
 * const response = new SipResponse({ ...init, status: 200, reason: "OK" });
 * assert.equal(response.version, "SIP/2.0");
 * assert.deepEqual(response.body, new TextEncoder().encode("hi"));
 * assert.equal(response.contentType?.mediaType, "text/plain");
 * ```
 */
export interface SipMessageInit {
  /** Header fields as name/value pairs or a {@linkcode SipHeaders}. */
  headers?: SipHeaders | Iterable<readonly [string, string]>;
  /** The body: bytes, or text encoded as UTF-8. */
  body?: Uint8Array | string;
  /** The SIP-Version, `SIP/2.0` by default. */
  version?: string;
}

/**
 * A request or a response.
 *
 * @example
 * ```ts
 * import { parseMessage, type SipMessage } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * function startLine(message: SipMessage): string {
 *   return message.type === "request" ? `${message.method} ${message.uri}` : `${message.status} ${message.reason}`;
 * }
 * const wire = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *   "To: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n";
 * assert.equal(startLine(parseMessage(wire)), "180 Ringing");
 * ```
 */
export type SipMessage = SipRequest | SipResponse;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * @internal The views of one state of a message's headers: those the parser computed while
 * validating (RFC 3261 §8.1.1), and those computed on first use.
 */
interface Views {
  /** The headers object these views were computed from, and its version then. */
  readonly headers: SipHeaders;
  readonly version: number;
  /** Whether the four views below were stored by the parser. */
  readonly primed: boolean;
  readonly callId: string;
  readonly cseq: CSeq | undefined;
  readonly maxForwards: number | undefined;
  readonly contentLength: number | undefined;
  /** The views the peer reads of every message, computed on use, in fields of their own. */
  via: Via[] | undefined;
  from: NameAddress | undefined;
  to: NameAddress | undefined;
  contact: Contact[] | "*" | undefined;
  require: string[] | undefined;
  supported: string[] | undefined;
  /** Other views computed on use, by name. */
  lazy: Record<string, unknown> | undefined;
}

/** Views of `headers` as they are now, with nothing computed on use yet (one shape for all). */
function newViews(
  headers: SipHeaders,
  primed: boolean,
  callId: string,
  cseq: CSeq | undefined,
  maxForwards: number | undefined,
  contentLength: number | undefined,
): Views {
  return {
    headers,
    version: headers.version,
    primed,
    callId,
    cseq,
    maxForwards,
    contentLength,
    via: undefined,
    from: undefined,
    to: undefined,
    contact: undefined,
    require: undefined,
    supported: undefined,
    lazy: undefined,
  };
}

function required(headers: SipHeaders, name: string): string {
  const v = headers.get(name);
  if (v === undefined) throw new HeaderError(name, "header is missing");
  return v;
}

/**
 * Fields and views common to requests and responses.
 *
 * (Fields are assigned in constructors and the cache lives in a private field of each subclass:
 * the engines build such objects more than twice as fast as ones whose base class declares
 * fields, and the parser builds one per message.)
 *
 * @example
 * ```ts
 * import { type SipMessageBase } from "@sipecho/sipecho/message";
 * import { SipRequest, SipResponse } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const callIdOf = (message: SipMessageBase) => message.callId;
 * assert.equal(callIdOf(new SipRequest({ method: "BYE", uri: "sip:a@h", headers: [["Call-ID", "c1"]] })), "c1");
 * assert.equal(callIdOf(new SipResponse({ status: 200, reason: "OK", headers: [["i", "c1"]] })), "c1");
 * ```
 */
export abstract class SipMessageBase {
  /** The SIP-Version of the start line, `SIP/2.0`. */
  declare version: string;
  /** The header fields, in order. */
  declare headers: SipHeaders;
  /** The body as bytes (empty when there is none). */
  declare body: Uint8Array;

  /**
   * Sets the SIP-Version (default `SIP/2.0`), the headers and the body (text is encoded as UTF-8).
   *
   * @param init Version, headers and body.
   */
  constructor(init: SipMessageInit) {
    this.version = init.version ?? "SIP/2.0";
    this.headers = init.headers instanceof SipHeaders ? init.headers : new SipHeaders(init.headers);
    this.body = init.body === undefined ? EMPTY : typeof init.body === "string" ? encoder.encode(init.body) : init.body;
  }

  /** @internal The cached views, kept by each subclass in a private field. */
  protected abstract _views: Views | undefined;

  /** @internal The cached views if they are those of the current headers. */
  _freshViews(): Views | undefined {
    const views = this._views;
    const headers = this.headers;
    return views !== undefined && views.headers === headers && views.version === headers.version ? views : undefined;
  }

  /** @internal The views of the current headers, made (empty) if there are none. */
  _currentViews(): Views {
    return this._freshViews() ?? (this._views = newViews(this.headers, false, "", undefined, undefined, undefined));
  }

  /** @internal Returns a cached view, computing it on first use. */
  _view<T>(key: string, compute: () => T): T {
    const lazy = this._currentViews().lazy ??= {};
    if (key in lazy) return lazy[key] as T;
    const value = compute();
    lazy[key] = value;
    return value;
  }

  /**
   * @internal Stores the views the parser computed while validating the current headers.
   * @param callId The Call-ID.
   * @param cseq The CSeq.
   * @param maxForwards Max-Forwards, or undefined if absent.
   * @param contentLength Content-Length, or undefined if absent.
   */
  _prime(callId: string, cseq: CSeq, maxForwards: number | undefined, contentLength: number | undefined): void {
    this._views = newViews(this.headers, true, callId, cseq, maxForwards, contentLength);
  }

  /** The body decoded as UTF-8 text. */
  get bodyText(): string {
    return decoder.decode(this.body);
  }

  /** Every Via value in order, topmost first (RFC 3261 §20.42). Throws if one is malformed. */
  get via(): Via[] {
    const views = this._currentViews();
    return views.via ??= this.headers.getAll("Via").map(parseVia);
  }

  /**
   * The From header (RFC 3261 §20.20). Throws if absent or malformed. (In a parsed message, whose
   * From the parser checked, the URI is parsed when `parsedUri` is first read.)
   */
  get from(): NameAddress {
    const views = this._currentViews();
    return views.from ??= (views.primed ? _parseCheckedNameAddress : parseNameAddress)(
      required(this.headers, "From"),
      "From",
    );
  }

  /** The To header (RFC 3261 §20.39). Throws if absent or malformed. (As `from` for a parsed message.) */
  get to(): NameAddress {
    const views = this._currentViews();
    return views.to ??= (views.primed ? _parseCheckedNameAddress : parseNameAddress)(
      required(this.headers, "To"),
      "To",
    );
  }

  /** The Call-ID (RFC 3261 §20.8). Throws if absent or malformed. */
  get callId(): string {
    const views = this._freshViews();
    if (views?.primed) return views.callId;
    return this._view("callId", () => parseCallId(required(this.headers, "Call-ID")));
  }

  /** The CSeq (RFC 3261 §20.16). Throws if absent or malformed. */
  get cseq(): CSeq {
    const views = this._freshViews();
    if (views?.primed) return views.cseq as CSeq;
    return this._view("cseq", () => parseCSeq(required(this.headers, "CSeq")));
  }

  /** Max-Forwards (0..255), or undefined if absent (RFC 3261 §20.22). */
  get maxForwards(): number | undefined {
    const views = this._freshViews();
    if (views?.primed) return views.maxForwards;
    return this._view("maxForwards", () => {
      const v = this.headers.get("Max-Forwards");
      return v === undefined ? undefined : parseBoundedInteger(v, "Max-Forwards", 255);
    });
  }

  /** Content-Length as the header says, or undefined if absent (RFC 3261 §20.14). */
  get contentLength(): number | undefined {
    const views = this._freshViews();
    if (views?.primed) return views.contentLength;
    return this._view("contentLength", () => {
      const v = this.headers.get("Content-Length");
      return v === undefined ? undefined : parseBoundedInteger(v, "Content-Length", Number.MAX_SAFE_INTEGER);
    });
  }

  /** Content-Type, or undefined if absent (RFC 3261 §20.15). */
  get contentType(): MediaType | undefined {
    return this._view("contentType", () => {
      const v = this.headers.get("Content-Type");
      return v === undefined ? undefined : parseMediaType(v);
    });
  }

  /** Contact values, `"*"` for the wildcard (RFC 3261 §10.2.2), `[]` if absent. */
  get contact(): Contact[] | "*" {
    const views = this._currentViews();
    if (views.contact !== undefined) return views.contact;
    const values = this.headers.getAll("Contact");
    if (values.length === 1 && values[0] === "*") return views.contact = "*";
    return views.contact = values.map(views.primed ? _parseCheckedContact : parseContact);
  }

  /** Expires in seconds, or undefined if absent (RFC 3261 §20.19). */
  get expires(): number | undefined {
    return this._view("expires", () => {
      const v = this.headers.get("Expires");
      return v === undefined ? undefined : parseDeltaSeconds(v, "Expires");
    });
  }

  /** The option tags of Require (RFC 3261 §20.32). */
  get require(): string[] {
    const views = this._currentViews();
    return views.require ??= parseOptionTags(this.headers.getAll("Require"), "Require");
  }

  /** The option tags of Supported (RFC 3261 §20.37). */
  get supported(): string[] {
    const views = this._currentViews();
    return views.supported ??= parseOptionTags(this.headers.getAll("Supported"), "Supported");
  }
}

/**
 * What a {@linkcode SipRequest} is built from.
 *
 * @example
 * ```ts
 * import { SipRequest } from "@sipecho/sipecho";
 * import { type SipRequestInit } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const init: SipRequestInit = { method: "MESSAGE", uri: "sip:bob@192.0.2.4;transport=tcp", body: "Hello" };
 * const request = new SipRequest(init);
 * assert.equal(request.requestUri.scheme, "sip");
 * assert.equal(request.bodyText, "Hello");
 * ```
 */
export interface SipRequestInit extends SipMessageInit {
  /** The method, case-sensitive (`INVITE`, or an extension method). */
  method: string;
  /** The Request-URI text. */
  uri: string;
}

/**
 * A SIP request (RFC 3261 §7.1).
 *
 * @example
 * ```ts
 * import { SipRequest } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const req = new SipRequest({
 *   method: "OPTIONS",
 *   uri: "sip:echo@127.0.0.1",
 *   headers: [["Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1"], ["CSeq", "1 OPTIONS"]],
 * });
 * assert.equal(req.via[0].branch, "z9hG4bK1");
 * assert.equal(req.cseq.seq, 1);
 * ```
 */
export class SipRequest extends SipMessageBase {
  /** Always `"request"`: tells requests from responses. */
  declare readonly type: "request";
  /** The method, case-sensitive. */
  declare method: string;
  /** The Request-URI as written. */
  declare uri: string;
  #views: Views | undefined;
  #uriText: string | undefined;
  #uriParsed: Uri | undefined;

  /**
   * Makes a request; nothing is parsed until a view is read.
   *
   * @param init Method, Request-URI, headers and body.
   */
  constructor(init: SipRequestInit) {
    super(init);
    this.type = "request";
    this.method = init.method;
    this.uri = init.uri;
  }

  /** @internal */
  protected get _views(): Views | undefined {
    return this.#views;
  }
  protected set _views(views: Views | undefined) {
    this.#views = views;
  }

  /** The parsed Request-URI. Throws `UriError` if malformed. */
  get requestUri(): Uri {
    if (this.#uriText !== this.uri) {
      this.#uriParsed = parseUri(this.uri);
      this.#uriText = this.uri;
    }
    return this.#uriParsed as Uri;
  }

  /** @internal Stores the parsed Request-URI (by the parser). */
  _primeUri(uri: Uri): void {
    this.#uriText = this.uri;
    this.#uriParsed = uri;
  }
}

/**
 * What a {@linkcode SipResponse} is built from.
 *
 * @example
 * ```ts
 * import { SipResponse } from "@sipecho/sipecho";
 * import { type SipResponseInit } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const init: SipResponseInit = { status: 486, reason: "Busy Here", headers: [["Retry-After", "60"]] };
 * const response = new SipResponse(init);
 * assert.equal(response.status, 486);
 * assert.equal(response.headers.get("Retry-After"), "60");
 * ```
 */
export interface SipResponseInit extends SipMessageInit {
  /** The status code, 100..699. */
  status: number;
  /** The reason phrase (may be empty). */
  reason: string;
}

/**
 * A SIP response (RFC 3261 §7.2).
 *
 * @example
 * ```ts
 * import { SipResponse } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const res = new SipResponse({ status: 180, reason: "Ringing", headers: [["To", "<sip:b@x>;tag=9"]] });
 * assert.equal(res.to.tag, "9");
 * ```
 */
export class SipResponse extends SipMessageBase {
  /** Always `"response"`: tells responses from requests. */
  declare readonly type: "response";
  /** The status code. */
  declare status: number;
  /** The reason phrase. */
  declare reason: string;
  #views: Views | undefined;

  /**
   * Makes a response; nothing is parsed until a view is read.
   *
   * @param init Status, reason, headers and body.
   */
  constructor(init: SipResponseInit) {
    super(init);
    this.type = "response";
    this.status = init.status;
    this.reason = init.reason;
  }

  /** @internal */
  protected get _views(): Views | undefined {
    return this.#views;
  }
  protected set _views(views: Views | undefined) {
    this.#views = views;
  }
}

/** JavaScriptCore (Bun), where a slice of a string can keep the whole string alive. */
const _JSC = typeof navigator !== "undefined" && typeof navigator.userAgent === "string" &&
  navigator.userAgent.startsWith("Bun/");

/**
 * @internal A copy of a string that shares no memory with the text it was cut from: in V8 and
 * JavaScriptCore a substring can keep its whole parent string alive (for a header value, the
 * whole message). For what is kept long: a dialog, a transaction that waits.
 *
 * @param text The string.
 * @returns An equal string.
 */
export function _detach(text: string): string {
  // A concatenation and a slice detach in V8 (the slice flattens the concatenation into a new
  // string first) but not in JavaScriptCore (a slice that falls in one part of a concatenation is
  // a piece of that part); a JSON round trip makes a new string in both, 3-4 times as slowly in V8
  // (0.17 against 0.05 µs for a header value; a stateful call detaches about 16).
  return _JSC ? JSON.parse(JSON.stringify(text)) : (text + " ").slice(0, -1);
}
