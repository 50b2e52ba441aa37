/**
 * Loading the `match` of a rule: the conditions a request must meet, validated and compiled.
 *
 * @module
 */

import type { Transport } from "../sip/transport.ts";
import { _parseCidr } from "./cidr.ts";
import { globToRegExp } from "./match.ts";
import { _methodCaseProblem } from "./method_case.ts";
import type { Match } from "./types.ts";
import {
  _checkKeys,
  type _Context,
  _describe,
  _fail,
  _get,
  _isObject,
  _key,
  _regExp,
  _stringList,
  _TOKEN,
} from "./validate.ts";

/** Every transport name, in the order messages list them (the Record refuses a missing one). */
const _TRANSPORTS = Object.keys(
  { udp: 0, tcp: 0, tls: 0, ws: 0, wss: 0 } satisfies Record<Transport, 0>,
) as readonly Transport[];

const _MATCH_KEYS = ["method", "user", "host", "headers", "body", "source", "transport"];

/**
 * @internal Validates and compiles a rule's `match`: globs become anchored RegExps, patterns
 * RegExps, blocks `Cidr`s, transports lower case.
 *
 * @param ctx The loader context.
 * @param path The JSON path of the `match`.
 * @param raw The `match` as parsed; `undefined` when the rule has none.
 * @returns The conditions (`{}` for none).
 * @throws {RulesError} If a condition is unknown or malformed.
 *
 * @example
 * ```ts
 * import { _loadMatch } from "./load_match.ts";
 * import assert from "node:assert/strict";
 *
 * const match = _loadMatch({ file: "r" }, "[0].match", { transport: "TLS", source: "192.0.2.0/24" });
 * assert.deepEqual(match.transport, ["tls"]);
 * assert.throws(() => _loadMatch({ file: "r" }, "[0].match", { transport: "sctp" }), {
 *   message: 'r: [0].match.transport: must be one of udp, tcp, tls, ws, wss, got "sctp"',
 * });
 * ```
 */
export function _loadMatch(ctx: _Context, path: string, raw: unknown): Match {
  if (raw === undefined) return {};
  if (!_isObject(raw)) _fail(ctx, path, `must be an object, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _MATCH_KEYS);
  const match: { -readonly [K in keyof Match]: Match[K] } = {};

  const method = _get(raw, "method");
  if (method !== undefined) {
    match.method = _stringList(ctx, _key(path, "method"), method).map(([m, p]) => {
      if (!_TOKEN.test(m)) _fail(ctx, p, `must be a SIP method token (RFC 3261 §25.1), got ${_describe(m)}`);
      // An error, not a warning: the loader has no channel for warnings, and such a rule never fires.
      const problem = _methodCaseProblem(m, "match the CSeq header");
      if (problem !== undefined) _fail(ctx, p, problem);
      return m;
    });
  }
  const user = _get(raw, "user");
  if (user !== undefined) {
    match.user = _stringList(ctx, _key(path, "user"), user).map(([g]) => globToRegExp(g));
  }
  const host = _get(raw, "host");
  if (host !== undefined) {
    match.host = _stringList(ctx, _key(path, "host"), host).map(([g]) => globToRegExp(g, { ignoreCase: true }));
  }
  const headers = _get(raw, "headers");
  if (headers !== undefined) {
    const p = _key(path, "headers");
    if (!_isObject(headers)) _fail(ctx, p, `must be an object of header name to pattern, got ${_describe(headers)}`);
    match.headers = Object.keys(headers).map((name) => {
      const hp = _key(p, name);
      if (!_TOKEN.test(name)) _fail(ctx, hp, `header name must be a token (RFC 3261 §25.1)`);
      return { name, pattern: _regExp(ctx, hp, headers[name]) };
    });
  }
  const body = _get(raw, "body");
  if (body !== undefined) match.body = _regExp(ctx, _key(path, "body"), body);
  const source = _get(raw, "source");
  if (source !== undefined) {
    match.source = _stringList(ctx, _key(path, "source"), source).map(([text, p]) => {
      const cidr = _parseCidr(text);
      if (typeof cidr === "string") _fail(ctx, p, `not a valid CIDR ${JSON.stringify(text)}: ${cidr}`);
      return cidr;
    });
  }
  const transport = _get(raw, "transport");
  if (transport !== undefined) {
    match.transport = _stringList(ctx, _key(path, "transport"), transport).map(([t, p]) => {
      const lower = t.toLowerCase() as Transport;
      if (!_TRANSPORTS.includes(lower)) {
        _fail(ctx, p, `must be one of ${_TRANSPORTS.join(", ")}, got ${_describe(t)}`);
      }
      return lower;
    });
  }
  return match;
}
