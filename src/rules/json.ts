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
  readonly problem: _JsonProblem;
  // Fields set in the body, not parameter properties: Node strips types but does not compile them.
  constructor(problem: _JsonProblem) {
    this.problem = problem;
  }
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
  try {
    new _Scanner(text).document();
    return undefined;
  } catch (e) {
    if (e instanceof _JsonStop) return e.problem;
    throw e;
  }
}

/** A recursive-descent reader of RFC 8259 §2-§7 that only checks, and stops at the first problem. */
class _Scanner {
  pos = 0;
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  /** JSON-text = ws value ws (RFC 8259 §2). */
  document(): void {
    this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) {
      if (this.text.startsWith("//", this.pos) || this.text.startsWith("/*", this.pos)) {
        this.stop("comments are not allowed in JSON");
      }
      this.stop(`unexpected token ${this.tokenAt(this.pos)} after the end of the JSON value`);
    }
  }

  stop(message: string, at = this.pos, kind: _JsonProblem["kind"] = "syntax"): never {
    throw new _JsonStop({ kind, offset: at, message });
  }

  /** ws: space, horizontal tab, line feed, carriage return (RFC 8259 §2). */
  skipSpace(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  /** The word (or else the character) at an offset, quoted, to name it in a message. */
  tokenAt(at: number): string {
    const word = /[A-Za-z0-9_$.+-]+/y;
    word.lastIndex = at;
    const m = word.exec(this.text);
    return JSON.stringify(m ? m[0] : String.fromCodePoint(this.text.codePointAt(at)!));
  }

  /** Stops at what is here, naming the common slips (comments, single quotes) by name. */
  unexpected(expected: string): never {
    const text = this.text;
    const pos = this.pos;
    if (pos >= text.length) return this.stop(`unexpected end of input (expected ${expected})`);
    if (text.startsWith("//", pos) || text.startsWith("/*", pos)) return this.stop("comments are not allowed in JSON");
    if (text[pos] === "'") return this.stop("strings must be in double quotes in JSON");
    return this.stop(`unexpected token ${this.tokenAt(pos)} (expected ${expected})`);
  }

  /** value (RFC 8259 §3); `depth` counts the objects and arrays it is inside. */
  value(depth: number): void {
    this.skipSpace();
    const text = this.text;
    const c = text[this.pos];
    if (c === "{" || c === "[") {
      if (depth >= _MAX_JSON_DEPTH) this.stop(`nested deeper than ${_MAX_JSON_DEPTH} levels`, this.pos, "depth");
      if (c === "{") this.object(depth + 1);
      else this.array(depth + 1);
    } else if (c === '"') {
      this.string();
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      this.number();
    } else if (
      text.startsWith("true", this.pos) || text.startsWith("false", this.pos) || text.startsWith("null", this.pos)
    ) {
      const word = /[A-Za-z0-9_$]+/y;
      word.lastIndex = this.pos;
      const w = word.exec(text)![0];
      if (w !== "true" && w !== "false" && w !== "null") this.unexpected("a value");
      this.pos += w.length;
    } else {
      this.unexpected("a value");
    }
  }

  /** object (RFC 8259 §4), refusing a name repeated within it. */
  object(depth: number): void {
    const text = this.text;
    this.pos++;
    this.skipSpace();
    if (text[this.pos] === "}") {
      this.pos++;
      return;
    }
    const keys = new Set<string>();
    for (;;) {
      this.skipSpace();
      if (text[this.pos] !== '"') this.unexpected("a property name in double quotes");
      const keyStart = this.pos;
      this.string();
      const key = JSON.parse(text.slice(keyStart, this.pos)) as string;
      if (keys.has(key)) this.stop(`duplicate key ${JSON.stringify(key)}`, keyStart, "duplicate");
      keys.add(key);
      this.skipSpace();
      if (text[this.pos] !== ":") this.unexpected('":" after the property name');
      this.pos++;
      this.value(depth);
      this.skipSpace();
      if (text[this.pos] === "}") {
        this.pos++;
        return;
      }
      if (text[this.pos] !== ",") this.unexpected('"," or "}" after the property value');
      const comma = this.pos++;
      this.skipSpace();
      if (text[this.pos] === "}") this.stop("trailing commas are not allowed in JSON", comma);
    }
  }

  /** array (RFC 8259 §5). */
  array(depth: number): void {
    const text = this.text;
    this.pos++;
    this.skipSpace();
    if (text[this.pos] === "]") {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth);
      this.skipSpace();
      if (text[this.pos] === "]") {
        this.pos++;
        return;
      }
      if (text[this.pos] !== ",") this.unexpected('"," or "]" after the array element');
      const comma = this.pos++;
      this.skipSpace();
      if (text[this.pos] === "]") this.stop("trailing commas are not allowed in JSON", comma);
    }
  }

  /** number (RFC 8259 §6), refusing one that runs on into letters or digits (`01`, `1.`, `0x1`). */
  number(): void {
    const start = this.pos;
    const grammar = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    grammar.lastIndex = start;
    const m = grammar.exec(this.text);
    if (m === null || /[0-9A-Za-z_.+-]/.test(this.text[start + m[0].length] ?? "")) {
      return this.stop(`invalid number ${this.tokenAt(start)}`, start);
    }
    this.pos += m[0].length;
  }

  /** string (RFC 8259 §7): escapes checked, raw control characters and line breaks refused. */
  string(): void {
    const text = this.text;
    const start = this.pos++;
    for (;;) {
      if (this.pos >= text.length) this.stop("unterminated string", start);
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c === 0x5c) {
        const e = text[this.pos + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(this.pos + 2, this.pos + 6))) {
            this.stop("invalid \\u escape in string");
          }
          this.pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          this.pos += 2;
        } else {
          this.stop(`invalid escape ${JSON.stringify("\\" + (e ?? ""))} in string`);
        }
      } else if (c === 0x0a || c === 0x0d) {
        this.stop("unterminated string", start);
      } else if (c < 0x20) {
        const code = c.toString(16).toUpperCase().padStart(4, "0");
        this.stop(`control character U+${code} in string (write it as an escape)`);
      } else {
        this.pos++;
      }
    }
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
