/**
 * What a test waits for or answers: the source of a request ({@linkcode RequestSource}), a
 * predicate, a partial match ({@linkcode RequestPattern}) or a method ({@linkcode RequestMatch});
 * and the one place that compiles any of them into a predicate and says it in words.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import type { SipUri, Uri } from "../sip/uri.ts";
import type { Transport } from "../sip/transport.ts";
import { canonicalHeaderName, KNOWN_HEADER_NAMES } from "../sip/headers.ts";
import { _closest } from "../rules/closest.ts";
import { _methodCaseProblem } from "../rules/method_case.ts";
import { _TOKEN } from "../rules/validate.ts";

/**
 * Where a request came from: address, port and transport.
 *
 * @example
 * ```ts
 * import { MockPeer } from "@sipecho/sipecho";
 * import { type RequestSource } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * await peer.request({ method: "OPTIONS", uri: peer.uri });
 * let source: RequestSource | undefined;
 * await peer.waitFor((_request, from) => (source = from) !== undefined);
 * assert.deepEqual(source, { address: "127.0.0.1", port: peer.addresses[0].port, transport: "udp" });
 * ```
 */
export interface RequestSource {
  /** IP address, without brackets. */
  address: string;
  /** Port. */
  port: number;
  /** Transport. */
  transport: Transport;
}

/**
 * Tells whether a request is the one wanted. A predicate that throws matches nothing in `answer()`.
 *
 * @example
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { type RequestPredicate } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * const unregister: RequestPredicate = (request) => request.method === "REGISTER" && request.expires === 0;
 * const register = parseMessage(
 *   "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n" +
 *     "To: <sip:a@127.0.0.1>\r\nCall-ID: r1\r\nCSeq: 2 REGISTER\r\nExpires: 0\r\n\r\n",
 * ) as SipRequest;
 * assert.ok(unregister(register, { address: "127.0.0.1", port: 5062, transport: "udp" }));
 * ```
 */
export type RequestPredicate = (request: SipRequest, source: RequestSource) => boolean;

/**
 * A partial match of a request: every key given must hold. `method` is one method or a list,
 * in upper case; `user` the Request-URI user; `toUser` and `fromUser` the users of the To and
 * From URIs (a REGISTER names the user it registers in To, RFC 3261 §10.2); `body` the body
 * text; `transport` the transport; **any other key is a header name** (any case, compact forms
 * too) whose value must equal (string, after trimming) or match (RegExp) a field value or an
 * item of a comma list. A string is compared whole: use a RegExp for part of a From or Contact.
 * A key that looks like a misspelt reserved key (`Method`, `metod`) or is not a token, and a
 * method with a lower-case letter, are refused with a suggestion.
 *
 * @example
 * ```ts
 * import { MockPeer } from "@sipecho/sipecho";
 * import { type RequestPattern } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * await peer.request({ method: "MESSAGE", uri: peer.uriFor("bob"), headers: { Subject: "lunch?" }, body: "at noon" });
 * const pattern: RequestPattern = { method: ["MESSAGE", "INFO"], user: "bob", Subject: /^lunch/, body: /noon/ };
 * assert.equal((await peer.waitFor(pattern)).bodyText, "at noon");
 * ```
 */
export interface RequestPattern {
  /** The method, or one of these (case-sensitive, RFC 3261 §7.1: written in upper case). */
  method?: string | readonly string[];
  /** The Request-URI user part (`undefined` user is `""`). Not for a REGISTER: use `toUser`. */
  user?: string | RegExp;
  /** The user part of the To URI: for a REGISTER, the user it registers (RFC 3261 §10.2). */
  toUser?: string | RegExp;
  /** The user part of the From URI. */
  fromUser?: string | RegExp;
  /** The body as UTF-8 text. */
  body?: string | RegExp;
  /** The transport the request came over, lower case. */
  transport?: Transport;
  /** A header, by name: `"Call-ID": "abc"`, `Contact: /expires=0/`. */
  [header: string]: string | RegExp | readonly string[] | undefined;
}

/**
 * What to wait for or answer: a method (`"INVITE"`), a predicate, or a {@linkcode RequestPattern}.
 *
 * @example
 * ```ts
 * import type { RequestMatch } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * const byes: RequestMatch[] = ["BYE", (request) => request.method === "BYE", { method: "BYE" }];
 * assert.equal(byes.length, 3);
 * ```
 */
export type RequestMatch = string | RequestPredicate | RequestPattern;

/** The keys of a {@linkcode RequestPattern} that are not header names. */
const _RESERVED = ["method", "user", "toUser", "fromUser", "body", "transport"];

/** Every transport name, lower case. */
const _TRANSPORTS: readonly Transport[] = ["udp", "tcp", "tls", "ws", "wss"];

/**
 * One condition of a compiled match: what it expects, in words, and what a request has instead,
 * for the message of a wait that found nothing.
 */
export interface _Condition {
  /** What is tested: `method`, `Expires`, `Request-URI user`. */
  readonly label: string;
  /** What it wants, as shown: `REGISTER`, `"3600"`, `/^lunch/`. */
  readonly expected: string;
  /** Whether a request meets it (a predicate may throw). */
  readonly test: RequestPredicate;
  /** What a request has instead, as shown. */
  got(request: SipRequest, source: RequestSource): string;
  /** A likely fix for a request that fails it, if one is known. */
  hint?(request: SipRequest, source: RequestSource): string | undefined;
}

/** A match compiled: one predicate, and its conditions one by one. */
export interface _CompiledMatch {
  /** All conditions hold. */
  readonly test: RequestPredicate;
  /** The conditions, in the order given. */
  readonly conditions: readonly _Condition[];
}

/** Compiles a {@linkcode RequestMatch} into one predicate; `where` names the caller in errors. */
export function _compileMatch(match: RequestMatch, where: string): RequestPredicate {
  return _compile(match, where).test;
}

/**
 * Compiles a {@linkcode RequestMatch} into its conditions, refusing what would silently match
 * nothing: a misspelt reserved key, a non-token header name, a method that is not upper case,
 * an unknown transport, a Request-URI user for a REGISTER.
 *
 * @throws {TypeError} Naming `where`, the key and the likely fix.
 */
export function _compile(match: RequestMatch, where: string): _CompiledMatch {
  if (typeof match === "string") return _all([_methodCondition([match], where)]);
  if (typeof match === "function") {
    const label = _describeMatch(match);
    return _all([{
      label,
      expected: "true",
      test: match,
      got: (request, source) => {
        try {
          return String(match(request, source));
        } catch (e) {
          return `an error: ${e instanceof Error ? e.message : String(e)}`;
        }
      },
    }]);
  }
  if (typeof match !== "object" || match === null) {
    throw new TypeError(`${where}: match must be a method, a predicate or an object, got ${typeof match}`);
  }
  const conditions: _Condition[] = [];
  for (const [key, want] of Object.entries(match)) {
    if (want === undefined) continue;
    if (key === "method") {
      const methods = typeof want === "string" ? [want] : want as readonly string[];
      conditions.push(_methodCondition(methods, where));
      // RFC 3261 §10.2.1: a REGISTER's Request-URI has no user part, so this could never match.
      if (methods.every((m) => m === "REGISTER") && match.user !== undefined) {
        throw new TypeError(
          `${where}: "user" is the Request-URI user, and a REGISTER's Request-URI has none: it names the ` +
            `registrar's domain (RFC 3261 §10.2.1); the user registering is in To: use toUser`,
        );
      }
    } else if (key === "transport") {
      conditions.push(_transportCondition(want, where));
    } else if (key === "user") {
      const toUser = _valueTest(key, want, where);
      conditions.push({
        ..._valueCondition("Request-URI user", want, where, (request) => _uriUser(request.requestUri)),
        hint: (request) => {
          const to = _addressUser(request, "to");
          if (request.method !== "REGISTER" || to === undefined || !toUser(to)) return undefined;
          return `the To user is ${JSON.stringify(to)}: a REGISTER names the user it registers in To, ` +
            `RFC 3261 §10.2; match it with toUser`;
        },
      });
    } else if (key === "toUser" || key === "fromUser") {
      const field = key === "toUser" ? "to" : "from";
      conditions.push(
        _valueCondition(`${key === "toUser" ? "To" : "From"} user`, want, where, (r) => _addressUser(r, field) ?? ""),
      );
    } else if (key === "body") {
      conditions.push(_valueCondition("body", want, where, (request) => request.bodyText));
    } else {
      conditions.push(_headerCondition(key, want, where));
    }
  }
  return _all(conditions);
}

/**
 * What a request lacks to match, one line per failing condition: `Expires: expected "3600",
 * got "600"`; none when it matches.
 */
export function _misses(compiled: _CompiledMatch, request: SipRequest, source: RequestSource): string[] {
  const lines: string[] = [];
  for (const c of compiled.conditions) {
    let ok = false;
    try {
      ok = c.test(request, source);
    } catch {
      ok = false;
    }
    if (ok) continue;
    const hint = c.hint?.(request, source);
    lines.push(`${c.label}: expected ${c.expected}, got ${c.got(request, source)}${hint ? ` (${hint})` : ""}`);
  }
  return lines;
}

/** {@linkcode _misses} of a match not yet compiled. */
export function _explainMiss(match: RequestMatch, request: SipRequest, source: RequestSource): string[] {
  return _misses(_compile(match, "match"), request, source);
}

function _all(conditions: readonly _Condition[]): _CompiledMatch {
  return { conditions, test: (request, source) => conditions.every((c) => c.test(request, source)) };
}

function _methodCondition(methods: readonly string[], where: string): _Condition {
  for (const m of methods) {
    if (typeof m !== "string" || !_TOKEN.test(m)) {
      throw new TypeError(`${where}: method must be a SIP method token (RFC 3261 §25.1), got ${JSON.stringify(m)}`);
    }
    const problem = _methodCaseProblem(m, "use a predicate");
    if (problem !== undefined) throw new TypeError(`${where}: method ${problem}`);
  }
  return {
    label: "method",
    expected: methods.length === 1 ? methods[0] : `one of ${methods.join(", ")}`,
    test: (request) => methods.includes(request.method),
    got: (request) => request.method,
  };
}

function _transportCondition(want: unknown, where: string): _Condition {
  if (typeof want !== "string" || !_TRANSPORTS.includes(want as Transport)) {
    const lower = typeof want === "string" ? want.toLowerCase() : "";
    const hint = _TRANSPORTS.includes(lower as Transport) ? ` (did you mean ${JSON.stringify(lower)}?)` : "";
    throw new TypeError(
      `${where}: transport must be one of ${_TRANSPORTS.join(", ")}, got ${JSON.stringify(want)}${hint}`,
    );
  }
  return {
    label: "transport",
    expected: want,
    test: (_request, source) => source.transport === want,
    got: (_request, source) => source.transport,
  };
}

function _valueCondition(
  label: string,
  want: unknown,
  where: string,
  read: (request: SipRequest) => string,
): _Condition {
  const test = _valueTest(label, want, where);
  return { label, expected: _show(want), test: (request) => test(read(request)), got: (r) => _quote(read(r)) };
}

function _headerCondition(key: string, want: unknown, where: string): _Condition {
  if (key === "headers") {
    const example = want !== null && typeof want === "object"
      ? _describeMatch(want as RequestPattern)
      : "{ Name: value }";
    throw new TypeError(
      `${where}: "headers": a pattern names its headers at the top level: ${example} ` +
        `(a rules file's match has a headers object, a pattern does not)`,
    );
  }
  if (!_TOKEN.test(key)) {
    throw new TypeError(`${where}: ${JSON.stringify(key)}: a header name must be a token (RFC 3261 §25.1)`);
  }
  // A word that is no known header but near a reserved key is a typo of that key; header-like
  // names (with a hyphen, or known) stay header names.
  if (!key.includes("-") && !KNOWN_HEADER_NAMES.includes(canonicalHeaderName(key))) {
    const near = _closest(key, _RESERVED);
    if (near !== undefined) {
      throw new TypeError(
        `${where}: unknown key ${JSON.stringify(key)} (did you mean "${near}"?); other keys are header names`,
      );
    }
  }
  const test = _valueTest(key, want, where);
  const values = (request: SipRequest) => [...request.headers.getFields(key), ...request.headers.getAll(key)];
  const label = canonicalHeaderName(key);
  return {
    label,
    expected: _show(want),
    test: (request) => values(request).some((v) => test(v.trim())),
    got: (request) => {
      const fields = request.headers.getFields(key).map((v) => v.trim());
      return fields.length === 0 ? `no ${label} header` : fields.map(_quote).join(", ");
    },
    hint: (request) => {
      if (typeof want !== "string") return undefined;
      const same = values(request).some((v) => v.trim().toLowerCase() === want.toLowerCase());
      return same ? "differs in case only" : undefined;
    },
  };
}

/** A test of one value: equal to a string, or matching a RegExp. */
function _valueTest(key: string, want: unknown, where: string): (value: string) => boolean {
  if (typeof want === "string") return (value) => value === want;
  if (want instanceof RegExp) return (value) => want.test(value);
  throw new TypeError(`${where}: "${key}" must be a string or a RegExp, got ${typeof want}`);
}

/** The user part of a SIP or SIPS URI, `""` for none or another scheme. */
function _uriUser(uri: Uri): string {
  return uri.scheme === "sip" || uri.scheme === "sips" ? (uri as SipUri).user ?? "" : "";
}

/** The user of the To or From URI; `undefined` when the field is missing or malformed. */
function _addressUser(request: SipRequest, field: "to" | "from"): string | undefined {
  try {
    return _uriUser(request[field].parsedUri);
  } catch {
    return undefined;
  }
}

function _show(want: unknown): string {
  return want instanceof RegExp ? String(want) : JSON.stringify(want);
}

/** A value as shown in a message: quoted, cut at 60 characters. */
function _quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** A match in words, for names and error messages. */
export function _describeMatch(match: RequestMatch): string {
  if (typeof match === "string") return JSON.stringify(match);
  if (typeof match === "function") return match.name ? `predicate ${match.name}` : "a predicate";
  const parts = Object.entries(match).filter(([, v]) => v !== undefined).map(([k, v]) => {
    const value = v instanceof RegExp ? String(v) : JSON.stringify(v);
    return `${_RESERVED.includes(k) || /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${value}`;
  });
  return `{ ${parts.join(", ")} }`;
}
