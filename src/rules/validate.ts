/**
 * The checks the rules loader applies to parsed JSON values, each one failing with a
 * {@linkcode RulesError} that names the file, the JSON path and the problem, and the JSON path
 * steps and value descriptions those messages are made of.
 *
 * @module
 */

import { _closest } from "./closest.ts";
import { RulesError } from "./errors.ts";
import { _compileTemplate, type Template } from "./template.ts";

/** @internal RFC 3261 §25.1 token, used by method and header names. */
export const _TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** @internal A JSON object as parsed. */
export type _Object = Record<string, unknown>;

/** @internal Context passed down the loader: the file name for error messages. */
export interface _Context {
  /** The file, as named to the loader. */
  readonly file: string;
}

/**
 * @internal Throws the {@linkcode RulesError} for a value.
 *
 * @param ctx The loader context.
 * @param path The JSON path of the value.
 * @param problem What is wrong with it.
 * @throws {RulesError} Always.
 *
 * @example
 * ```ts
 * import { _fail } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => _fail({ file: "r.json" }, "[0].silent", "must be true, got 1"), {
 *   name: "RulesError",
 *   message: "r.json: [0].silent: must be true, got 1",
 * });
 * ```
 */
export function _fail(ctx: _Context, path: string, problem: string): never {
  throw new RulesError(ctx.file, path, problem);
}

/**
 * @internal Tells whether a parsed value is a JSON object (not an array, not null).
 *
 * @param value The value.
 * @returns `true` for an object.
 *
 * @example
 * ```ts
 * import { _isObject } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([{}, [], null, "x"].map(_isObject), [true, false, false, false]);
 * ```
 */
export function _isObject(value: unknown): value is _Object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @internal Reads an own property only, so that `constructor` and friends never count as given.
 *
 * @param raw The object.
 * @param key The key.
 * @returns The value, or `undefined` if the object has no own property `key`.
 *
 * @example
 * ```ts
 * import { _get } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(_get({ a: 1 }, "a"), 1);
 * assert.equal(_get({}, "constructor"), undefined);
 * ```
 */
export function _get(raw: _Object, key: string): unknown {
  return Object.hasOwn(raw, key) ? raw[key] : undefined;
}

/**
 * @internal Appends a JSON path step: `.key` for identifiers, `["key"]` otherwise.
 *
 * @param path The path so far (`""` for the top level).
 * @param key The key.
 * @returns The longer path.
 *
 * @example
 * ```ts
 * import { _key } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(_key("", "rules"), "rules");
 * assert.equal(_key("[0].respond", "headers"), "[0].respond.headers");
 * assert.equal(_key("[0].headers", "Retry-After"), '[0].headers["Retry-After"]');
 * ```
 */
export function _key(path: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * @internal Describes a value as it appears after "got" in an error message.
 *
 * @param value The value.
 * @returns A short description; strings are quoted and cut at 60 characters.
 *
 * @example
 * ```ts
 * import { _describe } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([undefined, [], 99, "x", {}].map(_describe), ["nothing", "an empty array", "99", '"x"', "an object"]);
 * ```
 */
export function _describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/**
 * @internal Tells whether text has a control character other than HTAB (CR and LF would split
 * a header field).
 *
 * @param text The text.
 * @returns `true` if it has one.
 *
 * @example
 * ```ts
 * import { _hasControl } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(_hasControl("a\r\nb"));
 * assert.ok(!_hasControl("a\tb"));
 * ```
 */
export function _hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/**
 * @internal Refuses keys outside an allowed set, suggesting the likely intended one.
 *
 * @param ctx The loader context.
 * @param path The JSON path of the object.
 * @param raw The object.
 * @param allowed The keys it may have.
 * @throws {RulesError} At the first unknown key.
 *
 * @example
 * ```ts
 * import { _checkKeys } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => _checkKeys({ file: "r" }, "[0]", { mtach: {} }, ["match"]), {
 *   message: 'r: [0]: unknown key "mtach" (did you mean "match"?)',
 * });
 * ```
 */
export function _checkKeys(ctx: _Context, path: string, raw: _Object, allowed: readonly string[]): void {
  for (const key of Object.keys(raw)) {
    if (allowed.includes(key)) continue;
    const guess = _closest(key, allowed);
    const hint = guess === undefined ? `expected one of: ${allowed.join(", ")}` : `did you mean "${guess}"?`;
    _fail(ctx, path, `unknown key ${JSON.stringify(key)} (${hint})`);
  }
}

/**
 * @internal Reads a string or a non-empty array of strings.
 *
 * @param ctx The loader context.
 * @param path The JSON path of the value.
 * @param raw The value.
 * @returns `[value, path]` pairs, one per string.
 * @throws {RulesError} If `raw` is anything else.
 *
 * @example
 * ```ts
 * import { _stringList } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(_stringList({ file: "r" }, "m", "a"), [["a", "m"]]);
 * assert.deepEqual(_stringList({ file: "r" }, "m", ["a", "b"]), [["a", "m[0]"], ["b", "m[1]"]]);
 * assert.throws(() => _stringList({ file: "r" }, "m", []), { message: "r: m: must not be an empty array" });
 * ```
 */
export function _stringList(ctx: _Context, path: string, raw: unknown): [string, string][] {
  if (typeof raw === "string") return [[raw, path]];
  if (!Array.isArray(raw)) _fail(ctx, path, `must be a string or an array of strings, got ${_describe(raw)}`);
  if (raw.length === 0) _fail(ctx, path, "must not be an empty array");
  return raw.map((item, i) => {
    if (typeof item !== "string") _fail(ctx, `${path}[${i}]`, `must be a string, got ${_describe(item)}`);
    return [item, `${path}[${i}]`];
  });
}

/**
 * @internal Compiles a regular expression given as a string.
 *
 * @param ctx The loader context.
 * @param path The JSON path of the value.
 * @param raw The value.
 * @returns The RegExp, without flags.
 * @throws {RulesError} If `raw` is not a string or not a valid regular expression.
 *
 * @example
 * ```ts
 * import { _regExp } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(_regExp({ file: "r" }, "b", "^Zoiper").test("Zoiper 5"));
 * assert.throws(() => _regExp({ file: "r" }, "b", "("), /^RulesError: r: b: not a valid regular expression "\(": /);
 * ```
 */
export function _regExp(ctx: _Context, path: string, raw: unknown): RegExp {
  if (typeof raw !== "string") {
    _fail(ctx, path, `must be a regular expression in a string, got ${_describe(raw)}`);
  }
  try {
    return new RegExp(raw);
  } catch (e) {
    // V8 says "Invalid regular expression: /(/: Unterminated group", JavaScriptCore
    // "Invalid regular expression: missing )": keep only the detail.
    const detail = (e instanceof Error ? e.message : String(e))
      .replace(/^Invalid regular expression:\s*/i, "")
      .replace(/^\/.*\/[a-z]*:\s*/s, "");
    _fail(ctx, path, `not a valid regular expression ${JSON.stringify(raw)}: ${detail}`);
  }
}

/**
 * @internal Compiles a template given in a rule.
 *
 * @param ctx The loader context.
 * @param path The JSON path of the template.
 * @param text The template text.
 * @returns The compiled template.
 * @throws {RulesError} If it names an unknown variable or leaves `{{` open.
 *
 * @example
 * ```ts
 * import { _template } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(_template({ file: "r" }, "t", "{{cseq}}").parts, [{ variable: "cseq" }]);
 * assert.throws(() => _template({ file: "r" }, "t", "{{x"), { message: 'r: t: unclosed "{{" at character 1' });
 * ```
 */
export function _template(ctx: _Context, path: string, text: string): Template {
  const template = _compileTemplate(text);
  if (typeof template === "string") _fail(ctx, path, template);
  return template;
}

/**
 * @internal Refuses anything but `true` (as the value of `"silent"` and `"default"`).
 *
 * @param ctx The loader context.
 * @param path The JSON path of the value.
 * @param value The value.
 * @throws {RulesError} If `value` is not `true`.
 *
 * @example
 * ```ts
 * import { _expectTrue } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * _expectTrue({ file: "r" }, "silent", true);
 * assert.throws(() => _expectTrue({ file: "r" }, "silent", false), { message: "r: silent: must be true, got false" });
 * ```
 */
export function _expectTrue(ctx: _Context, path: string, value: unknown): void {
  if (value !== true) _fail(ctx, path, `must be true, got ${_describe(value)}`);
}

/**
 * @internal Refuses a key whose value, when given, is not a string (as `"comment"`).
 *
 * @param ctx The loader context.
 * @param path The JSON path of the object.
 * @param raw The object.
 * @param key The key.
 * @throws {RulesError} If the key is given with another type.
 *
 * @example
 * ```ts
 * import { _optionalString } from "./validate.ts";
 * import assert from "node:assert/strict";
 *
 * _optionalString({ file: "r" }, "[0]", {}, "comment");
 * assert.throws(() => _optionalString({ file: "r" }, "[0]", { comment: 1 }, "comment"), {
 *   message: "r: [0].comment: must be a string, got 1",
 * });
 * ```
 */
export function _optionalString(ctx: _Context, path: string, raw: _Object, key: string): void {
  const value = _get(raw, key);
  if (value !== undefined && typeof value !== "string") {
    _fail(ctx, _key(path, key), `must be a string, got ${_describe(value)}`);
  }
}
