/**
 * Header fields of a SIP message: names (long and compact forms), order, and
 * comma-separated multi-value headers (RFC 3261 §7.3).
 *
 * @module
 */

/**
 * One header field as it appears in the message: its name and its (unfolded) value.
 *
 * @example
 * ```ts
 * import { type HeaderField } from "@sipecho/sipecho/message";
 * import { SipHeaders } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const fields: HeaderField[] = new SipHeaders([["i", "a84b4c76e66710"], ["X-Trace", "1"]]).fields;
 * assert.deepEqual(fields, [{ name: "Call-ID", value: "a84b4c76e66710" }, { name: "X-Trace", value: "1" }]);
 * ```
 */
export interface HeaderField {
  /** The canonical name for known headers (`Call-ID`), else the name as written. */
  readonly name: string;
  /** The field value with folding undone and surrounding whitespace removed. */
  readonly value: string;
}

// RFC 3261 §7.3.3 and §20, RFC 3265 §7.2, RFC 3515 §7, RFC 3892, RFC 4028, RFC 3841, RFC 4474:
// the compact forms.
const COMPACT: Record<string, string> = {
  i: "Call-ID",
  m: "Contact",
  e: "Content-Encoding",
  l: "Content-Length",
  c: "Content-Type",
  f: "From",
  s: "Subject",
  k: "Supported",
  t: "To",
  v: "Via",
  o: "Event",
  u: "Allow-Events",
  r: "Refer-To",
  b: "Referred-By",
  x: "Session-Expires",
  y: "Identity",
  a: "Accept-Contact",
  j: "Reject-Contact",
  d: "Request-Disposition",
};

/** @internal The header names this module knows, in canonical spelling. */
export const KNOWN_HEADER_NAMES: readonly string[] = [
  "Accept",
  "Accept-Contact",
  "Accept-Encoding",
  "Accept-Language",
  "Alert-Info",
  "Allow",
  "Allow-Events",
  "Authentication-Info",
  "Authorization",
  "Call-ID",
  "Call-Info",
  "Contact",
  "Content-Disposition",
  "Content-Encoding",
  "Content-Language",
  "Content-Length",
  "Content-Type",
  "CSeq",
  "Date",
  "Error-Info",
  "Event",
  "Expires",
  "From",
  "Identity",
  "In-Reply-To",
  "Max-Forwards",
  "MIME-Version",
  "Min-Expires",
  "Min-SE",
  "Organization",
  "Path",
  "Priority",
  "Proxy-Authenticate",
  "Proxy-Authorization",
  "Proxy-Require",
  "RAck",
  "Reason",
  "Record-Route",
  "Refer-To",
  "Referred-By",
  "Reject-Contact",
  "Reply-To",
  "Request-Disposition",
  "Require",
  "Retry-After",
  "Route",
  "RSeq",
  "Server",
  "Service-Route",
  "Session-Expires",
  "SIP-ETag",
  "SIP-If-Match",
  "Subject",
  "Subscription-State",
  "Supported",
  "Timestamp",
  "To",
  "Unsupported",
  "User-Agent",
  "Via",
  "Warning",
  "WWW-Authenticate",
];

// RFC 3261 §7.3.1: only headers whose grammar is a comma-separated list may be split on commas.
// Unknown headers are never split (their grammar is unknown), nor are the ones below that
// carry commas inside one value (WWW-Authenticate, Authorization, Date, ...).
const LIST_HEADERS = new Set([
  "accept",
  "accept-contact",
  "accept-encoding",
  "accept-language",
  "alert-info",
  "allow",
  "allow-events",
  "call-info",
  "contact",
  "content-encoding",
  "content-language",
  "error-info",
  "in-reply-to",
  "path",
  "proxy-require",
  "reason",
  "record-route",
  "reject-contact",
  "request-disposition",
  "require",
  "route",
  "service-route",
  "supported",
  "unsupported",
  "via",
  "warning",
]);

/** Maps a lower-case name or compact form to the canonical name. */
const CANONICAL = new Map<string, string>();
/** Exact spellings seen on the wire mapped to canonical names: the fast path of the parser. */
const EXACT = new Map<string, string>();
for (const name of KNOWN_HEADER_NAMES) {
  CANONICAL.set(name.toLowerCase(), name);
  EXACT.set(name, name);
  EXACT.set(name.toLowerCase(), name);
}
for (const [short, name] of Object.entries(COMPACT)) {
  CANONICAL.set(short, name);
  EXACT.set(short, name);
  EXACT.set(short.toUpperCase(), name);
}

const COMPACT_BY_CODE: (string | undefined)[] = [];
for (const [short, name] of Object.entries(COMPACT)) {
  COMPACT_BY_CODE[short.charCodeAt(0)] = name;
  COMPACT_BY_CODE[short.toUpperCase().charCodeAt(0)] = name;
}

/** @internal The long form of a one-letter compact header name, by character code. */
export function compactHeaderName(code: number): string | undefined {
  return COMPACT_BY_CODE[code];
}

/**
 * The canonical spelling of a header name: the long form for compact names (`v` -> `Via`),
 * RFC 3261 casing for known names (`call-id` -> `Call-ID`), and the name unchanged otherwise.
 *
 * @param name A header name in any case, long or compact.
 * @returns The canonical name.
 * @example
 * ```ts
 * import { canonicalHeaderName } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.equal(canonicalHeaderName("i"), "Call-ID");
 * assert.equal(canonicalHeaderName("X-Foo"), "X-Foo");
 * ```
 */
export function canonicalHeaderName(name: string): string {
  return EXACT.get(name) ?? CANONICAL.get(name.toLowerCase()) ?? name;
}

/** The lookup key of a name: lower-case canonical name. */
function keyOf(name: string): string {
  const known = knownName(name);
  return known === undefined ? name.toLowerCase() : KEYS.get(known) as string;
}

/** The canonical spelling of a known header name in any case or compact form, else undefined. */
function knownName(name: string): string | undefined {
  return EXACT.get(name) ?? CANONICAL.get(name.toLowerCase());
}

/** Canonical names to their lookup keys, lower-cased once. */
const KEYS = new Map<string, string>(KNOWN_HEADER_NAMES.map((name) => [name, name.toLowerCase()]));

/**
 * Splits a comma-separated header value into its elements, leaving commas inside quoted
 * strings and inside `<...>` alone (RFC 3261 §7.3.1). Elements are trimmed; empty elements
 * are kept as `""` so that a caller can reject them.
 *
 * @param value A header field value.
 * @returns The elements.
 * @example
 * ```ts
 * import { splitHeaderList } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitHeaderList('"A, B" <sip:a@x>, <sip:b@y;p=1,2>'), ['"A, B" <sip:a@x>', "<sip:b@y;p=1,2>"]);
 * ```
 */
export function splitHeaderList(value: string): string[] {
  if (value.indexOf(",") < 0) return [value];
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++; // quoted-pair
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

/**
 * Whether a header is a comma-separated list whose values {@linkcode SipHeaders.getAll} splits.
 *
 * @param name A header name in any case or compact form.
 * @returns True for list headers such as Via, Contact, Allow and Supported.
 * @example
 * ```ts
 * import { isListHeader } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.equal(isListHeader("v"), true);
 * assert.equal(isListHeader("WWW-Authenticate"), false);
 * ```
 */
export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(keyOf(name));
}

/** What the constructor takes from `_fromFields()` (the parser's fields, trusted). */
const TRUSTED: Iterable<readonly [string, string]> = [];
let trustedFields: HeaderField[] | undefined;

/**
 * The header fields of a SIP message, in order. Lookups take any case and compact forms;
 * names are stored canonically for known headers and as written for unknown ones, and values
 * are kept verbatim (folding undone).
 *
 * @example
 * ```ts
 * import { SipHeaders } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const h = new SipHeaders([["v", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"], ["X-Custom", "1"]]);
 * assert.equal(h.get("via"), "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b");
 * assert.deepEqual(h.getAll("Via"), ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b"]);
 * h.set("Max-Forwards", "70");
 * assert.deepEqual([...h].map(([n]) => n), ["Via", "X-Custom", "Max-Forwards"]);
 * ```
 */
export class SipHeaders implements Iterable<[string, string]> {
  /** The fields in message order. Change them through the methods, not directly. */
  readonly fields: HeaderField[];
  #keys: string[] | undefined;
  #version = 0;

  /**
   * Makes headers from name/value pairs, kept in order.
   *
   * @param init Name/value pairs; names are canonicalised.
   */
  constructor(init?: Iterable<readonly [string, string]>) {
    if (init === TRUSTED) {
      // The parser's fields, names already canonical: taken as they are (no copy).
      this.fields = trustedFields as HeaderField[];
      trustedFields = undefined;
      return;
    }
    this.fields = [];
    if (init) {
      for (const [name, value] of init) this.fields.push({ name: canonicalHeaderName(name), value });
    }
  }

  /** @internal Builds headers from fields whose names are already canonical (used by the parser). */
  static _fromFields(fields: HeaderField[]): SipHeaders {
    trustedFields = fields;
    return new SipHeaders(TRUSTED);
  }

  /** A counter bumped by every change, used to invalidate cached views. */
  get version(): number {
    return this.#version;
  }

  /** The number of header fields. */
  get size(): number {
    return this.fields.length;
  }

  #keyList(): string[] {
    if (this.#keys === undefined) this.#keys = this.fields.map((f) => keyOf(f.name));
    return this.#keys;
  }

  #changed(): void {
    this.#keys = undefined;
    this.#version++;
  }

  /**
   * The value of the first field with this name, unsplit.
   * @param name Any case, long or compact form.
   * @returns The value, or undefined if absent.
   */
  get(name: string): string | undefined {
    // Known headers are stored under their canonical names: compare those, no lower-casing.
    const known = knownName(name);
    if (known !== undefined) {
      const fields = this.fields;
      for (let i = 0; i < fields.length; i++) if (fields[i].name === known) return fields[i].value;
      return undefined;
    }
    const key = name.toLowerCase();
    const keys = this.#keyList();
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return this.fields[i].value;
    return undefined;
  }

  /**
   * The values of every field with this name, unsplit, in order.
   * @param name Any case, long or compact form.
   * @returns The field values (empty if absent).
   */
  getFields(name: string): string[] {
    const out: string[] = [];
    const known = knownName(name);
    if (known !== undefined) {
      for (const field of this.fields) if (field.name === known) out.push(field.value);
      return out;
    }
    const key = name.toLowerCase();
    const keys = this.#keyList();
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) out.push(this.fields[i].value);
    return out;
  }

  /**
   * Every value of this header in order; list headers (Via, Contact, Allow, ...) are split on
   * commas outside quotes and `<>`, other headers are returned one value per field.
   * @param name Any case, long or compact form.
   * @returns The values (empty if absent).
   */
  getAll(name: string): string[] {
    const fields = this.getFields(name);
    if (fields.length === 0 || !LIST_HEADERS.has(keyOf(name))) return fields;
    const out: string[] = [];
    for (const f of fields) for (const v of splitHeaderList(f)) out.push(v);
    return out;
  }

  /**
   * Whether a field with this name is present.
   * @param name Any case, long or compact form.
   * @returns True if present.
   */
  has(name: string): boolean {
    const known = knownName(name);
    if (known !== undefined) return this.fields.some((field) => field.name === known);
    return this.#keyList().includes(name.toLowerCase());
  }

  /**
   * Replaces every field with this name by one field with this value, at the position of the
   * first one (or at the end).
   * @param name Any case, long or compact form.
   * @param value The new value.
   */
  set(name: string, value: string): void {
    const key = keyOf(name);
    const keys = this.#keyList();
    const first = keys.indexOf(key);
    const field = { name: canonicalHeaderName(name), value };
    if (first < 0) {
      this.fields.push(field);
    } else {
      this.fields[first] = field;
      for (let i = keys.length - 1; i > first; i--) if (keys[i] === key) this.fields.splice(i, 1);
    }
    this.#changed();
  }

  /**
   * Adds a field at the end.
   * @param name Any case, long or compact form.
   * @param value The value.
   */
  append(name: string, value: string): void {
    this.fields.push({ name: canonicalHeaderName(name), value });
    this.#changed();
  }

  /**
   * Removes every field with this name.
   * @param name Any case, long or compact form.
   * @returns True if any field was removed.
   */
  delete(name: string): boolean {
    const key = keyOf(name);
    const keys = this.#keyList();
    let removed = false;
    for (let i = keys.length - 1; i >= 0; i--) {
      if (keys[i] === key) {
        this.fields.splice(i, 1);
        removed = true;
      }
    }
    if (removed) this.#changed();
    return removed;
  }

  /** Iterates `[name, value]` pairs in message order. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const f of this.fields) yield [f.name, f.value];
  }
}
