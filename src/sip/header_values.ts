/**
 * Structured views of the header values a responder needs (RFC 3261 §20, §25.1): Via,
 * From/To/Contact/Route (name-addr) and Contact; the values that are one token or number
 * (CSeq, Content-Type, Max-Forwards, Date, Call-ID) are in header_scalars.ts.
 *
 * Every function takes one header value (one element of a comma list where the header is a
 * list) and throws {@linkcode HeaderError} with a message naming the header and the problem.
 *
 * @module
 */

import { CHAR_CLASS, CharClass, charTable, isAlphanum, TOKEN_CHAR } from "./chars.ts";
import { _paramName, _setParam, type Params, parseUri, type Uri, UriError } from "./uri.ts";

/**
 * A header value that cannot be parsed. The message reads `Cannot parse Via: ...`.
 *
 * @example
 * ```ts
 * import { HeaderError, parseCSeq } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * try {
 *   parseCSeq("one INVITE");
 *   assert.fail("should throw");
 * } catch (e) {
 *   assert.ok(e instanceof HeaderError);
 *   assert.equal(e.header, "CSeq");
 *   assert.equal(e.message, "Cannot parse CSeq: sequence number is not a number");
 * }
 * ```
 */
export class HeaderError extends SyntaxError {
  /** The canonical header name. */
  readonly header: string;
  /**
   * Makes the error; its message reads `Cannot parse <header>: <problem>`.
   *
   * @param header Canonical header name.
   * @param problem What was wrong.
   */
  constructor(header: string, problem: string) {
    super(`Cannot parse ${header}: ${problem}`);
    this.name = "HeaderError";
    this.header = header;
  }
}

/**
 * One Via header value (RFC 3261 §20.42, §25.1 via-parm; RFC 3581 rport).
 *
 * @example
 * ```ts
 * import { parseVia, type Via } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const via: Via = parseVia("SIP/2.0/tcp client.example.com:5060;branch=z9hG4bK74b;received=192.0.2.1");
 * assert.equal(via.transport, "TCP");
 * assert.equal(via.host, "client.example.com");
 * assert.equal(via.received, "192.0.2.1");
 * assert.deepEqual(via.params, { branch: "z9hG4bK74b", received: "192.0.2.1" });
 * ```
 */
export interface Via {
  /** Protocol name and version, `SIP/2.0`. */
  protocol: string;
  /** Transport in upper case: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS` or an extension. */
  transport: string;
  /** sent-by host: a name, an IPv4 address or an IPv6 reference with brackets. */
  host: string;
  /** sent-by port, if given. */
  port?: number;
  /** All parameters, names lower-cased, `null` for a parameter without a value. */
  params: Params;
  /** The branch parameter. */
  branch?: string;
  /** The received parameter (RFC 3261 §18.2.1). */
  received?: string;
  /** The rport parameter (RFC 3581): a port, `null` when present without a value. */
  rport?: number | null;
  /** The maddr parameter. */
  maddr?: string;
  /** The ttl parameter (0..255). */
  ttl?: number;
}

/**
 * A name-addr or addr-spec with header parameters: From, To, Contact, Route, ...
 *
 * @example
 * ```ts
 * import { type NameAddress, parseNameAddress } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const to: NameAddress = parseNameAddress("<sip:bob@biloxi.example.com;transport=tcp>;tag=a6c85cf", "To");
 * assert.equal(to.displayName, undefined);
 * assert.equal(to.uri, "sip:bob@biloxi.example.com;transport=tcp");
 * assert.equal(to.parsedUri.scheme, "sip");
 * assert.deepEqual(to.params, { tag: "a6c85cf" });
 * assert.equal(to.tag, "a6c85cf");
 * ```
 */
export interface NameAddress {
  /** The display name, unquoted, if any. */
  displayName?: string;
  /** The URI text as written between `<>` (or before the parameters in addr-spec form). */
  uri: string;
  /** The parsed URI. */
  parsedUri: Uri;
  /** Header parameters (after the URI), names lower-cased. */
  params: Params;
  /** The tag parameter (From/To). */
  tag?: string;
}

/**
 * One Contact value (RFC 3261 §20.10).
 *
 * @example
 * ```ts
 * import { type Contact, parseContact } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const contact: Contact = parseContact('"Mr. Watson" <sip:watson@worcester.example.com>;q=0.7;expires=3600');
 * assert.equal(contact.displayName, "Mr. Watson");
 * assert.equal(contact.uri, "sip:watson@worcester.example.com");
 * assert.equal(contact.q, 0.7);
 * assert.equal(contact.expires, 3600);
 * ```
 */
export interface Contact extends NameAddress {
  /** The expires parameter, seconds (values over 2^32-1 are taken as 2^32-1). */
  expires?: number;
  /** The q parameter, 0..1. */
  q?: number;
}

// Characters of a gen-value that is a token or a host (IPv6 references included).
const VALUE_CHAR = charTable(CharClass.VALUE);

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Shared with header_scalars.ts. */
export function _skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Shared with header_scalars.ts. */
export function _scan(s: string, i: number, table: Uint8Array): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 128 || table[c] === 0) break;
    i++;
  }
  return i;
}

/** Reads a quoted-string starting at the opening quote; returns [unquoted text, index after]. */
function readQuoted(s: string, i: number, header: string): [string, number] {
  let out = "";
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return [out, j + 1];
    if (c === 0x5c) {
      if (j + 1 >= s.length) break;
      out += s[j + 1];
      j += 2;
    } else {
      out += s[j];
      j++;
    }
  }
  throw new HeaderError(header, "quoted string is not closed");
}

/**
 * Reads `*( SEMI generic-param )` from index i to the end of s (RFC 3261 §25.1), with LWS
 * allowed around `;` and `=`.
 */
/** Shared with header_scalars.ts. */
export function _readParams(s: string, i: number, header: string): Params {
  const params: Params = {};
  for (;;) {
    i = _skipWs(s, i);
    if (i >= s.length) return params;
    if (s.charCodeAt(i) !== 0x3b) {
      throw new HeaderError(header, `unexpected "${s.slice(i, i + 10)}" where a ";" parameter was expected`);
    }
    i = _skipWs(s, i + 1);
    const nameEnd = _scan(s, i, TOKEN_CHAR);
    if (nameEnd === i) throw new HeaderError(header, "empty parameter");
    const name = _paramName(s, i, nameEnd);
    i = _skipWs(s, nameEnd);
    let value: string | null = null;
    if (i < s.length && s.charCodeAt(i) === 0x3d) {
      i = _skipWs(s, i + 1);
      if (s.charCodeAt(i) === 0x22) {
        [value, i] = readQuoted(s, i, header);
      } else {
        const end = _scan(s, i, VALUE_CHAR);
        if (end === i) throw new HeaderError(header, `parameter "${name}" has an empty value`);
        value = s.slice(i, end);
        i = end;
      }
    }
    _setParam(params, name, value);
  }
}

/** Where readHostPort() leaves the port it read and the index after the host and port. */
let hostPortNext = 0;
let hostPortPort: number | undefined;

/** Is `c` a character of an IPv6 reference between the brackets (hex digits, `:`, `.`)? */
function isIpv6Char(c: number): boolean {
  return c < 128 && (CHAR_CLASS[c] & CharClass.HEX6) !== 0;
}

/**
 * Reads `host [ COLON port ]` (RFC 3261 §25.1 sent-by) at s[i]: returns the host and leaves
 * the port and the index after them in hostPortPort and hostPortNext.
 */
function readHostPort(s: string, i: number, header: string): string {
  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf("]", i);
    if (close < 0) throw new HeaderError(header, "IPv6 reference is not closed");
    let ok = close > i + 1;
    for (let k = i + 1; ok && k < close; k++) ok = isIpv6Char(s.charCodeAt(k));
    host = s.slice(i, close + 1);
    if (!ok) throw new HeaderError(header, `malformed host "${host}"`);
    i = close + 1;
  } else {
    const end = _scan(s, i, TOKEN_CHAR);
    // hostname or IPv4address: letters, digits, "-" and "."; not starting with "-" or ".", not ending with "-".
    let ok = end > i && isAlphanum(s.charCodeAt(i)) && s.charCodeAt(end - 1) !== 0x2d;
    for (let k = i + 1; ok && k < end; k++) {
      const c = s.charCodeAt(k);
      ok = isAlphanum(c) || c === 0x2d || c === 0x2e;
    }
    host = s.slice(i, end);
    if (!ok) throw new HeaderError(header, host === "" ? "sent-by host is missing" : `malformed host "${host}"`);
    i = end;
  }
  let port: number | undefined;
  const j = _skipWs(s, i);
  if (s.charCodeAt(j) === 0x3a) {
    const start = _skipWs(s, j + 1);
    let end = start;
    let n = 0;
    for (; end < s.length; end++) {
      const d = s.charCodeAt(end) - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (end === start || end - start > 5 || n > 65535) throw new HeaderError(header, "malformed port");
    port = n;
    i = end;
  }
  hostPortPort = port;
  hostPortNext = i;
  return host;
}

/**
 * Parses one Via value: `SIP / 2.0 / UDP host:port;branch=...;rport` with LWS allowed around
 * the slashes, the colon and the parameters (RFC 3261 §25.1).
 *
 * @param value One Via value (one element of the comma list).
 * @returns The Via.
 * @throws {HeaderError} If the value is malformed.
 * @example
 * ```ts
 * import { parseVia } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * const via = parseVia("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK1;rport");
 * assert.equal(via.host, "[2001:db8::9]");
 * assert.equal(via.port, 5060);
 * assert.equal(via.rport, null);
 * ```
 */
export function parseVia(value: string): Via {
  const H = "Via";
  let i = _skipWs(value, 0);
  let protocol: string;
  let transport: string;
  const fast = value.startsWith("SIP/2.0/", i) ? _scan(value, i + 8, TOKEN_CHAR) : i + 8;
  if (fast > i + 8) {
    // The usual sent-protocol, without LWS around the slashes.
    const end = fast;
    protocol = "SIP/2.0";
    transport = value.slice(i + 8, end).toUpperCase();
    i = end;
  } else {
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport, LWS around the slashes.
    let name = "";
    let version = "";
    for (let k = 0; k < 3; k++) {
      if (k > 0) {
        i = _skipWs(value, i);
        if (value.charCodeAt(i) !== 0x2f) {
          throw new HeaderError(H, `sent-protocol "${value}" is not name/version/transport`);
        }
        i = _skipWs(value, i + 1);
      }
      const end = _scan(value, i, TOKEN_CHAR);
      if (end === i) throw new HeaderError(H, `sent-protocol "${value}" is not name/version/transport`);
      if (k === 0) name = value.slice(i, end);
      else if (k === 1) version = value.slice(i, end);
      else transport = value.slice(i, end).toUpperCase();
      i = end;
    }
    protocol = `${name.toUpperCase()}/${version}`;
    transport = transport!;
  }
  const afterProtocol = i;
  i = _skipWs(value, i);
  if (i === afterProtocol) throw new HeaderError(H, "sent-by must follow the transport after whitespace");
  const host = readHostPort(value, i, H);
  const port = hostPortPort;
  const next = hostPortNext;
  const params = _readParams(value, next, H);
  const via: Via = { protocol, transport, host, params };
  if (port !== undefined) via.port = port;
  const branch = params.branch;
  if (branch !== undefined) {
    if (branch === null) throw new HeaderError(H, "branch parameter has no value");
    via.branch = branch;
  }
  const received = params.received;
  if (received !== undefined) {
    if (received === null || !/^(?:[0-9.]+|\[?[0-9A-Fa-f:.]+\]?)$/.test(received)) {
      throw new HeaderError(H, `received parameter "${received}" is not an IP address`);
    }
    via.received = received;
  }
  const rport = params.rport;
  if (rport !== undefined) {
    if (rport !== null && (!/^[0-9]{1,5}$/.test(rport) || Number(rport) > 65535)) {
      throw new HeaderError(H, `rport parameter "${rport}" is not a port`);
    }
    via.rport = rport === null ? null : Number(rport);
  }
  const maddr = params.maddr;
  if (maddr !== undefined) {
    if (maddr === null) throw new HeaderError(H, "maddr parameter has no value");
    via.maddr = maddr;
  }
  const ttl = params.ttl;
  if (ttl !== undefined) {
    if (ttl === null || !/^[0-9]{1,3}$/.test(ttl) || Number(ttl) > 255) {
      throw new HeaderError(H, `ttl parameter "${ttl}" is not 0..255`);
    }
    via.ttl = Number(ttl);
  }
  return via;
}

/**
 * Parses a name-addr or addr-spec followed by header parameters, as in From, To, Contact,
 * Route and Record-Route (RFC 3261 §20.10, §25.1). In the addr-spec form, parameters after the
 * URI belong to the header, not to the URI (RFC 3261 §20.10), and a URI holding `,`, `?` or `;`
 * must be in `<>`.
 *
 * @param value One value.
 * @param header The header name, for error messages.
 * @returns The name-addr.
 * @throws {HeaderError} If the value is malformed.
 * @example
 * ```ts
 * import { parseNameAddress } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * const from = parseNameAddress('"Alice" <sip:alice@atlanta.example.com>;tag=1928301774', "From");
 * assert.equal(from.displayName, "Alice");
 * assert.equal(from.uri, "sip:alice@atlanta.example.com");
 * assert.equal(from.tag, "1928301774");
 * ```
 */
export function parseNameAddress(value: string, header: string): NameAddress {
  return readNameAddress(value, header, false);
}

/**
 * @internal {@linkcode parseNameAddress} for a value the parser has already checked against
 * the grammar (RFC 3261 §25.1): the URI is parsed when `parsedUri` is first read. A From or To
 * is read for its tag on every request and for its URI seldom.
 */
export function _parseCheckedNameAddress(value: string, header: string): NameAddress {
  return readNameAddress(value, header, true);
}

/**
 * @internal {@linkcode parseContact} for a value the parser has already checked, as
 * {@linkcode _parseCheckedNameAddress}.
 */
export function _parseCheckedContact(value: string): Contact {
  return contactOf(readNameAddress(value, "Contact", true));
}

/**
 * A name-addr whose URI the parser has checked: it is parsed on first use of `parsedUri` (and
 * any error is thrown there). Its own properties, and its JSON, are those of the plain object
 * {@linkcode parseNameAddress} returns.
 */
class _CheckedNameAddress implements NameAddress {
  declare displayName?: string;
  uri: string;
  params: Params;
  declare tag?: string;
  #header: string;
  #parsed: Uri | undefined = undefined;

  constructor(uri: string, params: Params, displayName: string | undefined, tag: string | undefined, header: string) {
    this.uri = uri;
    this.params = params;
    if (displayName !== undefined) this.displayName = displayName;
    if (tag !== undefined) this.tag = tag;
    this.#header = header;
  }

  get parsedUri(): Uri {
    return this.#parsed ??= uriOf(this.uri, this.#header);
  }

  set parsedUri(uri: Uri) {
    this.#parsed = uri;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { uri: this.uri, parsedUri: this.parsedUri, params: this.params };
    for (const [key, value] of Object.entries(this)) if (!(key in out)) out[key] = value;
    return out;
  }
}

/** The parsed URI of a name-addr, its errors as the header's. */
function uriOf(uri: string, header: string): Uri {
  try {
    return parseUri(uri);
  } catch (e) {
    if (e instanceof UriError) throw new HeaderError(header, e.message);
    throw e;
  }
}

function readNameAddress(value: string, header: string, checked: boolean): NameAddress {
  let i = _skipWs(value, 0);
  let displayName: string | undefined;
  let uri: string;
  if (value.charCodeAt(i) === 0x22) {
    [displayName, i] = readQuoted(value, i, header);
    i = _skipWs(value, i);
    if (value.charCodeAt(i) !== 0x3c) throw new HeaderError(header, "a quoted display name must be followed by <URI>");
  }
  let lt = value.charCodeAt(i) === 0x3c ? i : displayName === undefined ? value.indexOf("<", i) : -1;
  // A "<" after a ";" is inside a parameter of an addr-spec, not the start of a name-addr.
  const semi = value.indexOf(";", i);
  if (lt > i && semi >= 0 && semi < lt) lt = -1;
  if (lt >= 0) {
    if (displayName === undefined && lt > i) {
      // display-name = *(token LWS): tokens only, LWS before "<" optional (RFC 4475 §3.1.1.6).
      const words = value.slice(i, lt).trim();
      // Tokens separated by LWS: every other character is a token character.
      for (let k = 0; k < words.length; k++) {
        const c = words.charCodeAt(k);
        if (!isWs(c) && (c >= 128 || TOKEN_CHAR[c] === 0)) {
          throw new HeaderError(header, `display name "${words}" must be quoted`);
        }
      }
      displayName = words;
    }
    const gt = value.indexOf(">", lt);
    if (gt < 0) throw new HeaderError(header, "<URI> is not closed");
    uri = value.slice(lt + 1, gt);
    if (uri.length === 0 || isWs(uri.charCodeAt(0)) || isWs(uri.charCodeAt(uri.length - 1))) {
      throw new HeaderError(header, `whitespace or nothing inside <${uri}>`);
    }
    i = gt + 1;
  } else {
    let end = i;
    while (end < value.length && value.charCodeAt(end) !== 0x3b && !isWs(value.charCodeAt(end))) end++;
    uri = value.slice(i, end);
    if (uri.length === 0) throw new HeaderError(header, "URI is missing");
    if (uri.indexOf("?") >= 0 || uri.indexOf(",") >= 0) {
      throw new HeaderError(header, `URI "${uri}" holds "?" or "," and must be enclosed in <>`);
    }
    i = end;
  }
  const parsedUri = checked ? undefined : uriOf(uri, header);
  const params = _readParams(value, i, header);
  const tag = params.tag;
  if (tag === null) throw new HeaderError(header, "tag parameter has no value");
  if (parsedUri === undefined) return new _CheckedNameAddress(uri, params, displayName, tag, header);
  const out: NameAddress = { uri, parsedUri, params };
  if (displayName !== undefined) out.displayName = displayName;
  if (tag !== undefined) out.tag = tag;
  return out;
}

/**
 * Parses one Contact value (RFC 3261 §20.10), with `expires` and `q` read out. The wildcard
 * `*` is handled by the caller ({@linkcode SipMessage.contact}).
 *
 * @param value One Contact value.
 * @returns The contact.
 * @throws {HeaderError} If the value is malformed.
 * @example
 * ```ts
 * import { parseContact } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * const c = parseContact("<sip:bob@192.0.2.4>;expires=3600;q=0.5");
 * assert.equal(c.expires, 3600);
 * assert.equal(c.q, 0.5);
 * ```
 */
export function parseContact(value: string): Contact {
  return contactOf(parseNameAddress(value, "Contact"));
}

/** A Contact from its name-addr: `expires` and `q` read out of the parameters. */
function contactOf(contact: Contact): Contact {
  const expires = contact.params.expires;
  if (expires !== undefined) contact.expires = parseDeltaSeconds(expires ?? "", "Contact");
  const q = contact.params.q;
  if (q !== undefined) {
    if (q === null || !/^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(q)) {
      throw new HeaderError("Contact", `q "${q}" is not 0..1`);
    }
    contact.q = Number(q);
  }
  return contact;
}

const MAX_DELTA = 2 ** 32 - 1;

/**
 * Parses delta-seconds; values over 2^32-1 are taken as 2^32-1 (RFC 3261 §20.19 / §10.2.1.1
 * leave huge values to the element; clamping keeps them finite).
 *
 * @param value The text.
 * @param header The header name, for error messages.
 * @returns Seconds.
 * @throws {HeaderError} If not a number.
 * @example
 * ```ts
 * import { parseDeltaSeconds } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.equal(parseDeltaSeconds("3600", "Expires"), 3600);
 * ```
 */
export function parseDeltaSeconds(value: string, header: string): number {
  const v = value.trim();
  if (!/^[0-9]+$/.test(v)) throw new HeaderError(header, `"${value}" is not a number of seconds`);
  const n = Number(v);
  return n > MAX_DELTA ? MAX_DELTA : n;
}
