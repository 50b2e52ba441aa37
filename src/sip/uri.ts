/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), and other absolute URIs kept opaque.
 *
 * @module
 */

import { CHAR_CLASS, CharClass, charTable, isAlphanum, isHexDigit, isToken } from "./chars.ts";

/**
 * Parameters of a URI or header value: lower-case name to value, `null` for a flag (`;lr`).
 *
 * @example
 * ```ts
 * import { type Params } from "@sipecho/sipecho/message";
 * import { parseUri, type SipUri } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const params: Params = (parseUri("sip:proxy.example.com;LR;transport=TCP") as SipUri).params;
 * assert.deepEqual(params, { lr: null, transport: "TCP" });
 * ```
 */
export type Params = Record<string, string | null>;

/**
 * A `sip:` or `sips:` URI (RFC 3261 §19.1.1). User, password and parameter values are %-unescaped.
 *
 * @example
 * ```ts
 * import { parseUri, type SipUri } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const uri = parseUri("sips:alice%40home@[2001:db8::1]:5061;transport=tcp?Subject=lunch%20today") as SipUri;
 * assert.equal(uri.scheme, "sips");
 * assert.equal(uri.user, "alice@home");
 * assert.equal(uri.host, "[2001:db8::1]");
 * assert.equal(uri.port, 5061);
 * assert.deepEqual(uri.params, { transport: "tcp" });
 * assert.deepEqual(uri.headers, { Subject: "lunch today" });
 * ```
 */
export interface SipUri {
  /** `sip` or `sips`, lower case. */
  scheme: "sip" | "sips";
  /** The user part, unescaped (`sips:user@example.com` for `sips%3Auser%40example.com`). */
  user?: string;
  /** The password, unescaped. */
  password?: string;
  /** Host name, IPv4 address, or IPv6 reference with its brackets (`[2001:db8::1]`). */
  host: string;
  /** The port, if given. */
  port?: number;
  /** URI parameters (`;transport=tcp;lr`), names lower-cased, values unescaped. */
  params: Params;
  /** URI headers (`?Route=%3Csip:x%3E`), names as written, values unescaped. */
  headers: Record<string, string>;
}

/**
 * A `tel:` URI (RFC 3966).
 *
 * @example
 * ```ts
 * import { parseUri } from "@sipecho/sipecho";
 * import { type TelUri } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const uri = parseUri("tel:+1-201-555-0123;ext=42") as TelUri;
 * assert.equal(uri.scheme, "tel");
 * assert.equal(uri.number, "+1-201-555-0123");
 * assert.deepEqual(uri.params, { ext: "42" });
 * ```
 */
export interface TelUri {
  /** `tel`, lower case. */
  scheme: "tel";
  /** The telephone number as written (`+1-201-555-0123`). */
  number: string;
  /** Parameters, names lower-cased. */
  params: Params;
}

/**
 * Any other absolute URI (RFC 3261 §25.1 absoluteURI), kept opaque.
 *
 * @example
 * ```ts
 * import { type AbsoluteUri } from "@sipecho/sipecho/message";
 * import { parseUri } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const uri = parseUri("mailto:watson@bell-telephone.example.com") as AbsoluteUri;
 * assert.deepEqual(uri, { scheme: "mailto", value: "watson@bell-telephone.example.com" });
 * ```
 */
export interface AbsoluteUri {
  /** The scheme, lower case. */
  scheme: string;
  /** Everything after the `scheme:`. */
  value: string;
}

/**
 * A parsed URI.
 *
 * @example
 * ```ts
 * import { formatUri, parseUri, type Uri } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const uris: Uri[] = ["sip:bob@biloxi.example.com", "tel:+1-201-555-0123", "urn:service:sos"].map(parseUri);
 * assert.deepEqual(uris.map((u) => u.scheme), ["sip", "tel", "urn"]);
 * assert.equal(formatUri(uris[0]), "sip:bob@biloxi.example.com");
 * ```
 */
export type Uri = SipUri | TelUri | AbsoluteUri;

/**
 * Thrown by {@linkcode parseUri} with what was wrong; the message parser adds where.
 *
 * @example
 * ```ts
 * import { parseUri } from "@sipecho/sipecho";
 * import { UriError } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseUri("sip:alice@example.com:99999"), UriError);
 * assert.throws(() => parseUri("sip:"), { name: "UriError", message: "sip URI has no host" });
 * ```
 */
export class UriError extends SyntaxError {
  /**
   * Makes the error.
   *
   * @param message What was wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "UriError";
  }
}

// RFC 3261 §25.1 character classes.
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
// user = 1*( unreserved / escaped / user-unreserved )
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
const PASSWORD = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$/;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?$/;
// IPv6reference: tolerant of the RFC 5118 §4.10 three-colon form; structure is not checked further.
const IPV6_REFERENCE = /^\[[0-9A-Fa-f:.]+\]$/;
// paramchar = param-unreserved / unreserved / escaped
const PARAMCHARS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/:&+$]|%[0-9A-Fa-f]{2})+$/;
// hname / hvalue characters
const HCHARS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/?:+$]|%[0-9A-Fa-f]{2})*$/;
const TEL_NUMBER = /^\+?[0-9A-Fa-f*#()\-.]+$/;

// The same classes as tables (src/sip/chars.ts), for the checks on every URI a message holds
// (the regular expressions above are the reference; tests/uri_test.ts checks the two agree).
const USER_TABLE = charTable(CharClass.USER);
const PASSWORD_TABLE = charTable(CharClass.PASSWORD);
const PARAM_TABLE = charTable(CharClass.PARAM);
const HEADER_TABLE = charTable(CharClass.HCHAR);

/** Is every character of `text` in `table` or a %HH escape? (Empty text passes.) */
function allIn(text: string, table: Uint8Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && table[c] === 1) continue;
    if (c !== 0x25 || !isHexDigit(text.charCodeAt(i + 1)) || !isHexDigit(text.charCodeAt(i + 2))) return false;
    i += 2;
  }
  return true;
}

/** HOSTNAME (hostname or IPv4 address) without a regular expression. */
function isHostname(host: string): boolean {
  const n = host.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = host.charCodeAt(i);
    if (isAlphanum(c)) continue;
    if (i === 0 || (c !== 0x2e && c !== 0x2d) || (c === 0x2d && i === n - 1)) return false;
  }
  return true;
}

/** A port: 1 to 5 digits, at most 65535; else -1. */
function readPort(text: string): number {
  if (text.length === 0 || text.length > 5) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n > 65535 ? -1 : n;
}

/** @internal The regular expressions and their table versions, for the test that they agree. */
export const _uriClasses = {
  user: [USER, (t: string) => t.length > 0 && allIn(t, USER_TABLE)],
  password: [PASSWORD, (t: string) => allIn(t, PASSWORD_TABLE)],
  param: [PARAMCHARS, (t: string) => t.length > 0 && allIn(t, PARAM_TABLE)],
  header: [HCHARS, (t: string) => allIn(t, HEADER_TABLE)],
  hostname: [HOSTNAME, isHostname],
} as const;

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Undoes %HH escapes once (never recursively: `%25%34%31` is `%41`, RFC 4475 §3.1.1.3) and
 * decodes the octets as UTF-8; `%00` gives a NUL character.
 *
 * @param text Text that may contain %HH escapes.
 * @returns The unescaped text.
 * @throws {UriError} On a `%` not followed by two hex digits.
 * @example
 * ```ts
 * import { unescapeUri } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.equal(unescapeUri("sips%3Auser%40example.com"), "sips:user@example.com");
 * ```
 */
export function unescapeUri(text: string): string {
  if (text.indexOf("%") < 0) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new UriError(`"%${hex}" is not a valid escape`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // Not legal in a URI, but keep what was received.
      for (const b of encoder.encode(text[i])) bytes.push(b);
    }
  }
  return utf8.decode(new Uint8Array(bytes));
}

/** Escapes every character outside `allowed` (a table of chars.ts) as %HH of its UTF-8 octets. */
function escape(text: string, allowed: Uint8Array): string {
  let out = "";
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c < 128 && allowed[c] === 1) out += ch;
    else for (const b of encoder.encode(ch)) out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
  }
  return out;
}

/**
 * The parameters that come in nearly every message (RFC 3261 §20.42, §18.2.2; RFC 3581), as
 * constants: a name cut from the text would be hashed and interned each time it is stored as
 * a property, and that cost more than reading the parameters.
 */
const COMMON_PARAMS = ["tag", "branch", "rport", "received", "maddr", "ttl", "expires", "q", "transport", "lr"];

/** @internal The parameter name in s[from, to) (token characters), lower-cased: one of COMMON_PARAMS when it is one. */
export function _paramName(s: string, from: number, to: number): string {
  const length = to - from;
  for (const known of COMMON_PARAMS) {
    if (known.length !== length) continue;
    let k = 0;
    while (k < length && (s.charCodeAt(from + k) | 0x20) === known.charCodeAt(k)) k++;
    if (k === length) return known;
  }
  return s.slice(from, to).toLowerCase();
}

/** Sets an own property even for names such as `__proto__`. */
export function _setParam<T>(target: Record<string, T>, name: string, value: T): void {
  if (name === "__proto__") {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

/** Parses `;name=value;flag` URI parameters (the text after the first `;`). */
function parseUriParams(text: string, what: string): Params {
  const params: Params = {};
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name.length === 0 || !allIn(name, PARAM_TABLE)) {
      throw new UriError(`${what} has a malformed parameter "${part}"`);
    }
    let value: string | null = null;
    if (eq >= 0) {
      value = part.slice(eq + 1);
      if (value.length === 0 || !allIn(value, PARAM_TABLE)) {
        throw new UriError(`${what} has a malformed parameter "${part}"`);
      }
      value = unescapeUri(value);
    }
    _setParam(
      params,
      name.indexOf("%") < 0 ? _paramName(name, 0, name.length) : unescapeUri(name).toLowerCase(),
      value,
    );
  }
  return params;
}

/**
 * Parses a URI: `sip:` and `sips:` per RFC 3261 §25.1, `tel:` per RFC 3966, and any other
 * absolute URI as an opaque {@linkcode AbsoluteUri}.
 *
 * @param text The URI, without surrounding `<>` or whitespace.
 * @returns The parsed URI.
 * @throws {UriError} If the URI is malformed; the message says what was wrong.
 * @example
 * ```ts
 * import { parseUri } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const uri = parseUri("sip:alice@[2001:db8::1]:5070;transport=tcp;lr");
 * assert.deepEqual(uri, {
 *   scheme: "sip", user: "alice", host: "[2001:db8::1]", port: 5070,
 *   params: { transport: "tcp", lr: null }, headers: {},
 * });
 * ```
 */
export function parseUri(text: string): Uri {
  // The usual schemes, written in lower case, need no more look.
  if (text.startsWith("sip:")) return parseSipUri("sip", text.slice(4));
  if (text.startsWith("sips:")) return parseSipUri("sips", text.slice(5));
  const colon = text.indexOf(":");
  if (colon <= 0) throw new UriError(`"${text}" has no scheme`);
  const rawScheme = text.slice(0, colon);
  if (!SCHEME.test(rawScheme)) throw new UriError(`"${rawScheme}" is not a valid URI scheme`);
  const scheme = rawScheme.toLowerCase();
  const rest = text.slice(colon + 1);
  if (scheme === "sip" || scheme === "sips") return parseSipUri(scheme, rest);
  if (scheme === "tel") return parseTelUri(rest);
  if (rest.length === 0 || /[\s<>"]/.test(rest)) throw new UriError(`"${text}" is not a valid URI`);
  return { scheme, value: rest };
}

function parseSipUri(scheme: "sip" | "sips", rest: string): SipUri {
  const uri: SipUri = { scheme, host: "", params: {}, headers: {} };
  // userinfo ends at the first "@": neither parameters nor headers may hold an unescaped "@",
  // while the user part may hold ";" and "?" (RFC 4475 §3.1.1.2, §3.1.1.9).
  const at = rest.indexOf("@");
  let hostStart = 0;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const pw = userinfo.indexOf(":");
    const user = pw < 0 ? userinfo : userinfo.slice(0, pw);
    if (user.length === 0 || !allIn(user, USER_TABLE)) {
      throw new UriError(`${scheme} URI has a malformed user part "${user}"`);
    }
    uri.user = unescapeUri(user);
    if (pw >= 0) {
      const password = userinfo.slice(pw + 1);
      if (!allIn(password, PASSWORD_TABLE)) throw new UriError(`${scheme} URI has a malformed password`);
      uri.password = unescapeUri(password);
    }
    hostStart = at + 1;
  }
  let end = rest.length;
  const q = rest.indexOf("?", hostStart);
  if (q >= 0) end = q;
  const semi = rest.indexOf(";", hostStart);
  const hostEnd = semi >= 0 && semi < end ? semi : end;
  const hostport = rest.slice(hostStart, hostEnd);
  let portText: string | undefined;
  if (hostport.charCodeAt(0) === 0x5b) {
    const close = hostport.indexOf("]");
    if (close < 0) throw new UriError(`${scheme} URI has an unterminated IPv6 reference "${hostport}"`);
    uri.host = hostport.slice(0, close + 1);
    if (!IPV6_REFERENCE.test(uri.host)) {
      throw new UriError(`${scheme} URI has a malformed IPv6 reference "${uri.host}"`);
    }
    const after = hostport.slice(close + 1);
    if (after.length > 0) {
      if (after.charCodeAt(0) !== 0x3a) {
        throw new UriError(`${scheme} URI has text after the IPv6 reference: "${after}"`);
      }
      portText = after.slice(1);
    }
  } else {
    const pc = hostport.indexOf(":");
    uri.host = pc < 0 ? hostport : hostport.slice(0, pc);
    if (pc >= 0) portText = hostport.slice(pc + 1);
    if (!isHostname(uri.host)) {
      throw new UriError(
        uri.host === "" ? `${scheme} URI has no host` : `${scheme} URI has a malformed host "${uri.host}"`,
      );
    }
  }
  if (portText !== undefined) {
    const port = readPort(portText);
    if (port < 0) throw new UriError(`${scheme} URI has a malformed port "${portText}"`);
    uri.port = port;
  }
  if (hostEnd < end) uri.params = parseUriParams(rest.slice(hostEnd + 1, end), `${scheme} URI`);
  if (end < rest.length) {
    for (const part of rest.slice(end + 1).split("&")) {
      const eq = part.indexOf("=");
      if (eq <= 0 || !allIn(part.slice(0, eq), HEADER_TABLE) || !allIn(part.slice(eq + 1), HEADER_TABLE)) {
        throw new UriError(`${scheme} URI has a malformed header "${part}"`);
      }
      _setParam(uri.headers, unescapeUri(part.slice(0, eq)), unescapeUri(part.slice(eq + 1)));
    }
  }
  return uri;
}

function parseTelUri(rest: string): TelUri {
  const semi = rest.indexOf(";");
  const number = semi < 0 ? rest : rest.slice(0, semi);
  if (!TEL_NUMBER.test(number)) throw new UriError(`tel URI has a malformed number "${number}"`);
  return { scheme: "tel", number, params: semi < 0 ? {} : parseUriParams(rest.slice(semi + 1), "tel URI") };
}

/**
 * Serializes a URI, escaping what needs escaping (RFC 3261 §19.1.2).
 *
 * @param uri A parsed or hand-built URI.
 * @returns The URI text.
 * @example
 * ```ts
 * import { formatUri, parseUri } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 * assert.equal(formatUri({ scheme: "sip", user: "a b", host: "example.com", params: { lr: null }, headers: {} }),
 *   "sip:a%20b@example.com;lr");
 * assert.equal(formatUri(parseUri("sip:%00@example.com")), "sip:%00@example.com");
 * ```
 */
export function formatUri(uri: Uri): string {
  if (uri.scheme === "sip" || uri.scheme === "sips") {
    const u = uri as SipUri;
    let out = u.scheme + ":";
    if (u.user !== undefined) {
      out += escape(u.user, USER_TABLE);
      if (u.password !== undefined) out += ":" + escape(u.password, PASSWORD_TABLE);
      out += "@";
    }
    out += u.host;
    if (u.port !== undefined) out += ":" + u.port;
    out += formatParams(u.params);
    const headers = Object.entries(u.headers);
    if (headers.length > 0) {
      out += "?" + headers.map(([n, v]) => escape(n, HEADER_TABLE) + "=" + escape(v, HEADER_TABLE)).join("&");
    }
    return out;
  }
  if (uri.scheme === "tel") {
    const t = uri as TelUri;
    return "tel:" + t.number + formatParams(t.params);
  }
  return uri.scheme + ":" + (uri as AbsoluteUri).value;
}

/**
 * Writes parameters as `;name=value` and `;flag`, in their order. As URI parameters (the
 * default; RFC 3261 §19.1.1) a character paramchar does not allow is %-escaped, in names and
 * values (§19.1.2). As header parameters (generic-param, §25.1) names are written as they are
 * and a value that is neither a token nor a host is written as a quoted-string (gen-value).
 *
 * @param params The parameters; `null` is a flag.
 * @param form `"uri"` for URI parameters, `"header"` for header field parameters.
 * @returns The text, empty for no parameters.
 * @example
 * ```ts
 * import { formatParams } from "./uri.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatParams({ transport: "tcp", lr: null }), ";transport=tcp;lr");
 * assert.equal(formatParams({ x: "a b" }), ";x=a%20b");
 * assert.equal(formatParams({ x: "a b", q: "0.5", m: "[2001:db8::1]" }, "header"), ';x="a b";q=0.5;m=[2001:db8::1]');
 * ```
 */
export function formatParams(params: Params, form: "uri" | "header" = "uri"): string {
  let out = "";
  for (const [name, value] of Object.entries(params)) {
    if (form === "uri") {
      out += ";" + escape(name, PARAM_TABLE);
      if (value !== null) out += "=" + escape(value, PARAM_TABLE);
    } else if (value === null) out += ";" + name;
    else if (isToken(value) || _isIpv6Reference(value)) out += ";" + name + "=" + value;
    else out += ";" + name + '="' + value.replace(/(["\\])/g, "\\$1") + '"';
  }
  return out;
}

/** IPv6reference as IPV6_REFERENCE reads it: "[" HEXDIG / ":" / "." "]". */
function _isIpv6Reference(text: string): boolean {
  const n = text.length;
  if (n < 3 || text.charCodeAt(0) !== 0x5b || text.charCodeAt(n - 1) !== 0x5d) return false;
  for (let i = 1; i < n - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || (CHAR_CLASS[c] & CharClass.HEX6) === 0) return false;
  }
  return true;
}
