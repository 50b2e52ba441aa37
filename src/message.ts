/**
 * SIP requests and responses (RFC 3261 §7), with structured views of the headers a responder
 * needs. Views are parsed on first use and cached until the headers change.
 *
 * @module
 */

import { SipHeaders } from "./headers.ts";
import {
  type Contact,
  type CSeq,
  HeaderError,
  type MediaType,
  type NameAddress,
  parseBoundedInteger,
  parseCallId,
  parseContact,
  parseCSeq,
  parseDeltaSeconds,
  parseMediaType,
  parseNameAddress,
  parseOptionTags,
  parseVia,
  type Via,
} from "./header_values.ts";
import { parseUri, type Uri } from "./uri.ts";

const EMPTY = new Uint8Array(0);

/** What both requests and responses are built from. */
export interface SipMessageInit {
  /** Header fields as name/value pairs or a {@linkcode SipHeaders}. */
  headers?: SipHeaders | Iterable<readonly [string, string]>;
  /** The body: bytes, or text encoded as UTF-8. */
  body?: Uint8Array | string;
  /** The SIP-Version, `SIP/2.0` by default. */
  version?: string;
}

/** A request or a response. */
export type SipMessage = SipRequest | SipResponse;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Fields and views common to requests and responses. */
abstract class SipMessageBase {
  /** The SIP-Version of the start line, `SIP/2.0`. */
  version: string;
  /** The header fields, in order. */
  headers: SipHeaders;
  /** The body as bytes (empty when there is none). */
  body: Uint8Array;
  // Views computed on first use, valid while `headers` is the same object at the same version.
  #views: Record<string, unknown> | undefined;
  #viewsFor: SipHeaders | undefined;
  #viewsVersion = 0;
  // The views the parser computed while validating (RFC 3261 §8.1.1), kept apart from #views so
  // that a parse stores four fields instead of building a dictionary.
  #primedFor: SipHeaders | undefined;
  #primedVersion = 0;
  #callId = "";
  #cseq: CSeq | undefined;
  #maxForwards: number | undefined;
  #contentLength: number | undefined;

  constructor(init: SipMessageInit) {
    this.version = init.version ?? "SIP/2.0";
    this.headers = init.headers instanceof SipHeaders ? init.headers : new SipHeaders(init.headers);
    this.body = init.body === undefined ? EMPTY : typeof init.body === "string" ? encoder.encode(init.body) : init.body;
  }

  /** @internal Returns a cached view, computing it on first use. */
  _view<T>(key: string, compute: () => T): T {
    const headers = this.headers;
    let views = this.#views;
    if (views === undefined || this.#viewsFor !== headers || this.#viewsVersion !== headers.version) {
      views = this.#views = {};
      this.#viewsFor = headers;
      this.#viewsVersion = headers.version;
    }
    if (key in views) return views[key] as T;
    const value = compute();
    views[key] = value;
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
    this.#primedFor = this.headers;
    this.#primedVersion = this.headers.version;
    this.#callId = callId;
    this.#cseq = cseq;
    this.#maxForwards = maxForwards;
    this.#contentLength = contentLength;
  }

  /** Are the primed views those of the current headers? */
  #primed(): boolean {
    return this.#primedFor === this.headers && this.#primedVersion === this.headers.version;
  }

  /** The body decoded as UTF-8 text. */
  get bodyText(): string {
    return decoder.decode(this.body);
  }

  /** Every Via value in order, topmost first (RFC 3261 §20.42). Throws if one is malformed. */
  get via(): Via[] {
    return this._view("via", () => this.headers.getAll("Via").map(parseVia));
  }

  /** The From header (RFC 3261 §20.20). Throws if absent or malformed. */
  get from(): NameAddress {
    return this._view("from", () => parseNameAddress(this.#required("From"), "From"));
  }

  /** The To header (RFC 3261 §20.39). Throws if absent or malformed. */
  get to(): NameAddress {
    return this._view("to", () => parseNameAddress(this.#required("To"), "To"));
  }

  /** The Call-ID (RFC 3261 §20.8). Throws if absent or malformed. */
  get callId(): string {
    if (this.#primed()) return this.#callId;
    return this._view("callId", () => parseCallId(this.#required("Call-ID")));
  }

  /** The CSeq (RFC 3261 §20.16). Throws if absent or malformed. */
  get cseq(): CSeq {
    if (this.#primed()) return this.#cseq as CSeq;
    return this._view("cseq", () => parseCSeq(this.#required("CSeq")));
  }

  /** Max-Forwards (0..255), or undefined if absent (RFC 3261 §20.22). */
  get maxForwards(): number | undefined {
    if (this.#primed()) return this.#maxForwards;
    return this._view("maxForwards", () => {
      const v = this.headers.get("Max-Forwards");
      return v === undefined ? undefined : parseBoundedInteger(v, "Max-Forwards", 255);
    });
  }

  /** Content-Length as the header says, or undefined if absent (RFC 3261 §20.14). */
  get contentLength(): number | undefined {
    if (this.#primed()) return this.#contentLength;
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
    return this._view("contact", () => {
      const values = this.headers.getAll("Contact");
      if (values.length === 1 && values[0] === "*") return "*" as const;
      return values.map(parseContact);
    });
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
    return this._view("require", () => parseOptionTags(this.headers.getAll("Require"), "Require"));
  }

  /** The option tags of Supported (RFC 3261 §20.37). */
  get supported(): string[] {
    return this._view("supported", () => parseOptionTags(this.headers.getAll("Supported"), "Supported"));
  }

  #required(name: string): string {
    const v = this.headers.get(name);
    if (v === undefined) throw new HeaderError(name, "header is missing");
    return v;
  }
}

/** What a {@linkcode SipRequest} is built from. */
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
 * import { SipRequest } from "./mod.ts";
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
  readonly type = "request" as const;
  /** The method, case-sensitive. */
  method: string;
  /** The Request-URI as written. */
  uri: string;
  #uriText: string | undefined;
  #uriParsed: Uri | undefined;

  /** @param init Method, Request-URI, headers and body. */
  constructor(init: SipRequestInit) {
    super(init);
    this.method = init.method;
    this.uri = init.uri;
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

/** What a {@linkcode SipResponse} is built from. */
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
 * import { SipResponse } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const res = new SipResponse({ status: 180, reason: "Ringing", headers: [["To", "<sip:b@x>;tag=9"]] });
 * assert.equal(res.to.tag, "9");
 * ```
 */
export class SipResponse extends SipMessageBase {
  /** Always `"response"`: tells responses from requests. */
  readonly type = "response" as const;
  /** The status code. */
  status: number;
  /** The reason phrase. */
  reason: string;

  /** @param init Status, reason, headers and body. */
  constructor(init: SipResponseInit) {
    super(init);
    this.status = init.status;
    this.reason = init.reason;
  }
}
