/**
 * Reading rules files as JSON (RFC 8259) with errors located by line and column the same way
 * on every runtime: JS engines word and place their own JSON errors differently (JavaScriptCore
 * names no position), so a small scanner of our own finds the first problem. It also refuses a
 * key repeated within one object, which JSON.parse would silently accept, keeping the last.
 *
 * @module
 */

import { RulesSyntaxError } from "./errors.ts";

/** How deep JSON may nest, so that absurd nesting ends with an error, not a stack overflow. */
const _MAX_JSON_DEPTH = 256;

/** The first problem the scanner found, at an offset into the text. */
interface _JsonProblem {
  readonly kind: "syntax" | "duplicate" | "depth";
  readonly offset: number;
  readonly message: string;
}

/** Thrown inside the scanner to unwind at the first problem. */
class _JsonStop {
  constructor(readonly problem: _JsonProblem) {}
}

/**
 * @internal Parses the JSON text of a rules file. A leading byte order mark is ignored.
 *
 * @param text The text.
 * @param file The name used in error messages, e.g. the file path.
 * @returns The parsed value.
 * @throws {RulesSyntaxError} If `text` is not valid JSON, repeats a key within one object or
 *   nests deeper than 256 levels.
 *
 * @example
 * ```ts
 * import { _parseJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(_parseJson('\ufeff[{ "silent": true }]', "r.json"), [{ silent: true }]);
 * assert.throws(() => _parseJson('{ "a": 1,\n  "a": 2 }', "r.json"), {
 *   name: "RulesSyntaxError",
 *   message: 'r.json:2:3: duplicate key "a"',
 * });
 * ```
 */
export function _parseJson(text: string, file: string): unknown {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  let engineError: unknown;
  try {
    value = JSON.parse(source);
  } catch (e) {
    engineError = e;
  }
  const problem = _scanJson(source);
  if (engineError !== undefined) {
    if (problem !== undefined) {
      throw new RulesSyntaxError(file, problem.message, _position(source, problem.offset));
    }
    // The engine refused what our scanner accepted: fall back on whatever the engine says.
    const message = engineError instanceof Error ? engineError.message : String(engineError);
    const offset = _engineOffset(message, source);
    throw new RulesSyntaxError(
      file,
      offset === undefined ? `invalid JSON (no position known): ${message}` : `invalid JSON: ${message}`,
      offset === undefined ? undefined : _position(source, offset),
    );
  }
  if (problem !== undefined && problem.kind !== "syntax") {
    throw new RulesSyntaxError(file, problem.message, _position(source, problem.offset));
  }
  return value;
}

/**
 * Checks JSON text against the grammar of RFC 8259 and reports the first problem with its
 * offset, the same way on every runtime. Also reports a key repeated within one object.
 */
function _scanJson(text: string): _JsonProblem | undefined {
  let pos = 0;
  const stop = (message: string, at = pos, kind: _JsonProblem["kind"] = "syntax"): never => {
    throw new _JsonStop({ kind, offset: at, message });
  };
  const skipSpace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const tokenAt = (at: number): string => {
    const word = /[A-Za-z0-9_$.+-]+/y;
    word.lastIndex = at;
    const m = word.exec(text);
    return JSON.stringify(m ? m[0] : String.fromCodePoint(text.codePointAt(at)!));
  };
  const unexpected = (expected: string): never => {
    if (pos >= text.length) return stop(`unexpected end of input (expected ${expected})`);
    if (text.startsWith("//", pos) || text.startsWith("/*", pos)) return stop("comments are not allowed in JSON");
    if (text[pos] === "'") return stop("strings must be in double quotes in JSON");
    return stop(`unexpected token ${tokenAt(pos)} (expected ${expected})`);
  };
  const string = () => {
    const start = pos++;
    for (;;) {
      if (pos >= text.length) stop("unterminated string", start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        return;
      }
      if (c === 0x5c) {
        const e = text[pos + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) stop("invalid \\u escape in string");
          pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          pos += 2;
        } else {
          stop(`invalid escape ${JSON.stringify("\\" + (e ?? ""))} in string`);
        }
      } else if (c === 0x0a || c === 0x0d) {
        stop("unterminated string", start);
      } else if (c < 0x20) {
        const code = c.toString(16).toUpperCase().padStart(4, "0");
        stop(`control character U+${code} in string (write it as an escape)`);
      } else {
        pos++;
      }
    }
  };
  const number = () => {
    const start = pos;
    const grammar = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    grammar.lastIndex = pos;
    const m = grammar.exec(text);
    if (m === null || /[0-9A-Za-z_.+-]/.test(text[start + m[0].length] ?? "")) {
      return stop(`invalid number ${tokenAt(start)}`, start);
    }
    pos += m[0].length;
  };
  const value = (depth: number): void => {
    skipSpace();
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= _MAX_JSON_DEPTH) stop(`nested deeper than ${_MAX_JSON_DEPTH} levels`, pos, "depth");
      if (c === "{") object(depth + 1);
      else array(depth + 1);
    } else if (c === '"') {
      string();
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      number();
    } else if (text.startsWith("true", pos) || text.startsWith("false", pos) || text.startsWith("null", pos)) {
      const word = /[A-Za-z0-9_$]+/y;
      word.lastIndex = pos;
      const w = word.exec(text)![0];
      if (w !== "true" && w !== "false" && w !== "null") unexpected("a value");
      pos += w.length;
    } else {
      unexpected("a value");
    }
  };
  const object = (depth: number) => {
    pos++;
    skipSpace();
    if (text[pos] === "}") {
      pos++;
      return;
    }
    const keys = new Set<string>();
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') unexpected("a property name in double quotes");
      const keyStart = pos;
      string();
      const key = JSON.parse(text.slice(keyStart, pos)) as string;
      if (keys.has(key)) stop(`duplicate key ${JSON.stringify(key)}`, keyStart, "duplicate");
      keys.add(key);
      skipSpace();
      if (text[pos] !== ":") unexpected('":" after the property name');
      pos++;
      value(depth);
      skipSpace();
      if (text[pos] === "}") {
        pos++;
        return;
      }
      if (text[pos] !== ",") unexpected('"," or "}" after the property value');
      const comma = pos++;
      skipSpace();
      if (text[pos] === "}") stop("trailing commas are not allowed in JSON", comma);
    }
  };
  const array = (depth: number) => {
    pos++;
    skipSpace();
    if (text[pos] === "]") {
      pos++;
      return;
    }
    for (;;) {
      value(depth);
      skipSpace();
      if (text[pos] === "]") {
        pos++;
        return;
      }
      if (text[pos] !== ",") unexpected('"," or "]" after the array element');
      const comma = pos++;
      skipSpace();
      if (text[pos] === "]") stop("trailing commas are not allowed in JSON", comma);
    }
  };
  try {
    value(0);
    skipSpace();
    if (pos < text.length) {
      if (text.startsWith("//", pos) || text.startsWith("/*", pos)) stop("comments are not allowed in JSON");
      stop(`unexpected token ${tokenAt(pos)} after the end of the JSON value`);
    }
    return undefined;
  } catch (e) {
    if (e instanceof _JsonStop) return e.problem;
    throw e;
  }
}

/** Line and column (from 1) of an offset; a line ends at LF, CRLF or a lone CR. */
function _position(text: string, offset: number): { offset: number; line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

/** The offset an engine's JSON.parse error names, if it names one (V8 does, JavaScriptCore not). */
function _engineOffset(message: string, text: string): number | undefined {
  const at = /\bposition (\d+)/.exec(message);
  if (at !== null) return Math.min(Number(at[1]), text.length);
  const lineColumn = /\bline (\d+) column (\d+)/.exec(message);
  if (lineColumn === null) return undefined;
  let offset = 0;
  for (let line = 1; line < Number(lineColumn[1]); line++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return undefined;
    offset = next + 1;
  }
  return Math.min(offset + Number(lineColumn[2]) - 1, text.length);
}
