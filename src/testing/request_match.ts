/**
 * What a test waits for or answers: the source of a request ({@linkcode RequestSource}), a
 * predicate, a partial match ({@linkcode RequestPattern}) or a method ({@linkcode RequestMatch});
 * and the one place that compiles any of them into a predicate and says it in words.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import type { SipUri } from "../sip/uri.ts";
import type { Transport } from "../sip/transport.ts";

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
 * A partial match of a request: every key given must hold. `method` is one method or a list;
 * `user` the Request-URI user; `body` the body text; `transport` the transport; **any other key
 * is a header name** (any case, compact forms too) whose value must equal (string, after trimming)
 * or match (RegExp) a field value or an item of a comma list. A string is compared whole:
 * use a RegExp for part of a From or Contact.
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
  /** The method, or one of these (case-sensitive). */
  method?: string | readonly string[];
  /** The Request-URI user part (`undefined` user is `""`). */
  user?: string | RegExp;
  /** The body as UTF-8 text. */
  body?: string | RegExp;
  /** The transport the request came over. */
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
const _RESERVED = new Set(["method", "user", "body", "transport"]);

/** Compiles a {@linkcode RequestMatch} into one predicate; `where` names the caller in errors. */
export function _compileMatch(match: RequestMatch, where: string): RequestPredicate {
  if (typeof match === "string") return (request) => request.method === match;
  if (typeof match === "function") return match;
  if (typeof match !== "object" || match === null) {
    throw new TypeError(`${where}: match must be a method, a predicate or an object, got ${typeof match}`);
  }
  const checks: RequestPredicate[] = [];
  for (const [key, want] of Object.entries(match)) {
    if (want === undefined) continue;
    if (key === "method") {
      const methods = typeof want === "string" ? [want] : want as readonly string[];
      checks.push((request) => methods.includes(request.method));
    } else if (key === "transport") {
      checks.push((_request, source) => source.transport === want);
    } else if (key === "user") {
      const test = _valueTest(key, want, where);
      checks.push((request) => {
        const uri = request.requestUri;
        return test(uri.scheme === "sip" || uri.scheme === "sips" ? (uri as SipUri).user ?? "" : "");
      });
    } else if (key === "body") {
      const test = _valueTest(key, want, where);
      checks.push((request) => test(request.bodyText));
    } else {
      const test = _valueTest(key, want, where);
      checks.push((request) => {
        const values = [...request.headers.getFields(key), ...request.headers.getAll(key)];
        return values.some((v) => test(v.trim()));
      });
    }
  }
  return (request, source) => checks.every((check) => check(request, source));
}

/** A test of one value: equal to a string, or matching a RegExp. */
function _valueTest(key: string, want: unknown, where: string): (value: string) => boolean {
  if (typeof want === "string") return (value) => value === want;
  if (want instanceof RegExp) return (value) => want.test(value);
  throw new TypeError(`${where}: "${key}" must be a string or a RegExp, got ${typeof want}`);
}

/** A match in words, for names and error messages. */
export function _describeMatch(match: RequestMatch): string {
  if (typeof match === "string") return JSON.stringify(match);
  if (typeof match === "function") return match.name ? `predicate ${match.name}` : "a predicate";
  const parts = Object.entries(match).filter(([, v]) => v !== undefined).map(([k, v]) => {
    const value = v instanceof RegExp ? String(v) : JSON.stringify(v);
    return `${_RESERVED.has(k) ? k : JSON.stringify(k)}: ${value}`;
  });
  return `{ ${parts.join(", ")} }`;
}
