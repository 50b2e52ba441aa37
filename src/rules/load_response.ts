/**
 * Loading the responses of a rule (`respond` and `provisional`): status, reason, delay, header
 * fields a rule may set, and the body.
 *
 * @module
 */

import type { Template } from "./template.ts";
import type { BodySpec, ResponseSpec } from "./types.ts";
import {
  _checkKeys,
  type _Context,
  _describe,
  _fail,
  _get,
  _hasControl,
  _isObject,
  _key,
  _template,
  _TOKEN,
} from "./validate.ts";

const _RESPONSE_KEYS = ["status", "reason", "after", "headers", "body"];

const _BODY_KEYS = ["type", "text"];

/** The longest delay a JS timer honours (2^31 - 1 ms); longer ones fire at once. */
const _MAX_AFTER = 2147483647;

/** RFC 2045 §5.1 type/subtype, optionally followed by parameters. */
const _MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/s;

/**
 * Header fields the responder itself writes (RFC 3261 §8.2.6.2 copies Via, From, To, Call-ID
 * and CSeq; Content-Length and Content-Type follow the body), by lower-case full and compact
 * name (§7.3.3), with the reason a rule may not set them.
 */
const _RESERVED_HEADERS: Readonly<Record<string, string>> = {
  "via": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "v": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "from": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "f": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "to": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "t": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "call-id": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "i": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "cseq": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "content-length": "is computed from the body by the responder",
  "l": "is computed from the body by the responder",
  "content-type": 'follows the body; use "body": { "type": ..., "text": ... }',
  "c": 'follows the body; use "body": { "type": ..., "text": ... }',
};

/**
 * @internal Validates a response (the `respond` of a rule, or one of its `provisional`) and
 * compiles its header and body templates.
 *
 * @param ctx The loader context.
 * @param path The JSON path of the response.
 * @param raw The response as parsed.
 * @param provisional `true` for a provisional: the status must then be 101..199.
 * @returns The response, `after` defaulting to 0.
 * @throws {RulesError} If anything in it is unknown or malformed.
 *
 * @example
 * ```ts
 * import { _loadResponse } from "./load_response.ts";
 * import assert from "node:assert/strict";
 *
 * const response = _loadResponse({ file: "r" }, "[0].respond", { status: 486, reason: "Busy" }, false);
 * assert.deepEqual(response, { status: 486, after: 0, headers: [], reason: "Busy" });
 * assert.throws(() => _loadResponse({ file: "r" }, "[0].provisional[0]", { status: 100 }, true), {
 *   message: "r: [0].provisional[0].status: must be an integer 101..199, got 100",
 * });
 * ```
 */
export function _loadResponse(ctx: _Context, path: string, raw: unknown, provisional: boolean): ResponseSpec {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _RESPONSE_KEYS);
  const status = _get(raw, "status");
  if (status === undefined) _fail(ctx, path, 'missing key "status"');
  const [low, high] = provisional ? [101, 199] : [100, 699];
  if (!Number.isInteger(status) || (status as number) < low || (status as number) > high) {
    _fail(ctx, _key(path, "status"), `must be an integer ${low}..${high}, got ${_describe(status)}`);
  }
  const response: { -readonly [K in keyof ResponseSpec]: ResponseSpec[K] } = {
    status: status as number,
    after: 0,
    headers: [],
  };
  const reason = _get(raw, "reason");
  if (reason !== undefined) {
    if (typeof reason !== "string" || _hasControl(reason)) {
      _fail(ctx, _key(path, "reason"), `must be a string without line breaks, got ${_describe(reason)}`);
    }
    response.reason = reason;
  }
  const after = _get(raw, "after");
  if (after !== undefined) {
    if (typeof after !== "number" || !Number.isFinite(after) || after < 0) {
      _fail(ctx, _key(path, "after"), `must be a number of milliseconds >= 0, got ${_describe(after)}`);
    }
    if (after > _MAX_AFTER) {
      _fail(ctx, _key(path, "after"), `must be at most ${_MAX_AFTER} ms (about 24.8 days), got ${after}`);
    }
    response.after = after;
  }
  const headers = _get(raw, "headers");
  if (headers !== undefined) response.headers = _loadHeaders(ctx, _key(path, "headers"), headers);
  const body = _get(raw, "body");
  if (body !== undefined) response.body = _loadBody(ctx, _key(path, "body"), body);
  return response;
}

function _loadHeaders(ctx: _Context, path: string, raw: unknown): [string, Template][] {
  let pairs: [name: unknown, value: unknown, namePath: string, valuePath: string][];
  if (Array.isArray(raw)) {
    pairs = raw.map((pair, i) => {
      const p = `${path}[${i}]`;
      if (!Array.isArray(pair) || pair.length !== 2) {
        _fail(ctx, p, `must be a [name, value] pair, got ${_describe(pair)}`);
      }
      return [pair[0], pair[1], `${p}[0]`, `${p}[1]`];
    });
  } else if (_isObject(raw)) {
    pairs = Object.keys(raw).map((name) => [name, raw[name], _key(path, name), _key(path, name)]);
  } else {
    _fail(ctx, path, `must be an object or an array of [name, value] pairs, got ${_describe(raw)}`);
  }
  return pairs.map(([name, value, namePath, valuePath]) => {
    if (typeof name !== "string" || !_TOKEN.test(name)) {
      _fail(ctx, namePath, `header name must be a token (RFC 3261 §25.1), got ${_describe(name)}`);
    }
    const reserved = _RESERVED_HEADERS[name.toLowerCase()];
    if (reserved !== undefined) _fail(ctx, namePath, `"${name}" ${reserved}`);
    if (typeof value !== "string" || _hasControl(value)) {
      _fail(ctx, valuePath, `must be a string without line breaks, got ${_describe(value)}`);
    }
    return [name, _template(ctx, valuePath, value)];
  });
}

function _loadBody(ctx: _Context, path: string, raw: unknown): BodySpec {
  if (raw === "sdp") return { kind: "sdp" };
  if (raw === "echo") return { kind: "echo" };
  if (typeof raw === "string") return { kind: "text", type: "text/plain", text: _template(ctx, path, raw) };
  if (!_isObject(raw)) {
    _fail(ctx, path, `must be "sdp", "echo", a string or { "type", "text" }, got ${_describe(raw)}`);
  }
  _checkKeys(ctx, path, raw, _BODY_KEYS);
  const type = _get(raw, "type") ?? "text/plain";
  if (typeof type !== "string" || !_MEDIA_TYPE.test(type) || _hasControl(type)) {
    _fail(ctx, _key(path, "type"), `must be a media type such as "text/plain", got ${_describe(type)}`);
  }
  const text = _get(raw, "text");
  if (text === undefined) _fail(ctx, path, 'missing key "text"');
  if (typeof text !== "string") _fail(ctx, _key(path, "text"), `must be a string, got ${_describe(text)}`);
  return { kind: "text", type, text: _template(ctx, _key(path, "text"), text) };
}
