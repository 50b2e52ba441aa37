/**
 * The character classes of RFC 3261 §25.1, built once: {@linkcode CHAR_CLASS} holds, for every
 * octet, one bit per class it is in, so that a scanner that checks several classes reads one
 * table; {@linkcode charTable} gives a single class as a table of 0 and 1 for the loops that
 * check one. Octets over 127 are in no class.
 *
 * The parser's hot loops index these tables by octet; the predicates below read one character
 * code (of a string, so possibly over 255) without a table.
 *
 * @module
 */

/**
 * The classes, one bit each, as they are marked in {@linkcode CHAR_CLASS}.
 *
 * @example
 * ```ts
 * import { CHAR_CLASS, CharClass } from "./chars.ts";
 * import assert from "node:assert/strict";
 * const has = (c: string, bit: number) => (CHAR_CLASS[c.charCodeAt(0)] & bit) !== 0;
 * assert.ok(has("~", CharClass.TOKEN) && !has("/", CharClass.TOKEN));
 * assert.ok(has("/", CharClass.PARAM) && !has(";", CharClass.PARAM));
 * ```
 */
export const CharClass: {
  /** token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
  readonly TOKEN: number;
  /** hostname characters: alphanum / "-" / "." */
  readonly HOST: number;
  /** user: unreserved / user-unreserved (the "%" of an escape is not in it) */
  readonly USER: number;
  /** password: unreserved / "&" / "=" / "+" / "$" / "," */
  readonly PASSWORD: number;
  /** paramchar: param-unreserved / unreserved */
  readonly PARAM: number;
  /** gen-value written as a token or a host: token / "[" / "]" / ":" */
  readonly VALUE: number;
  /** word (Call-ID) */
  readonly WORD: number;
  /** IPv6reference characters: HEXDIG / ":" / "." */
  readonly HEX6: number;
  /** hname / hvalue: hnv-unreserved / unreserved */
  readonly HCHAR: number;
  /** user of an addr-spec outside `<>` (RFC 3261 §20.10): user without ";" "?" "," */
  readonly PLAIN_USER: number;
  /** password of an addr-spec outside `<>`: password without "," */
  readonly PLAIN_PASSWORD: number;
  /** alphanum = ALPHA / DIGIT */
  readonly ALPHANUM: number;
  /** HEXDIG = DIGIT / "A".."F", either case */
  readonly HEX: number;
} = Object.freeze({
  TOKEN: 1,
  HOST: 2,
  USER: 4,
  PASSWORD: 8,
  PARAM: 16,
  VALUE: 32,
  WORD: 64,
  HEX6: 128,
  HCHAR: 256,
  PLAIN_USER: 512,
  PLAIN_PASSWORD: 1024,
  ALPHANUM: 2048,
  HEX: 4096,
});

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const MARK = "-_.!~*'()"; // mark; unreserved = alphanum / mark

/**
 * For every octet, the bits of the {@linkcode CharClass} classes it is in. 256 entries, so
 * that any octet indexes it.
 *
 * @example
 * ```ts
 * import { CHAR_CLASS, CharClass } from "./chars.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("INVITE sip:");
 * let i = 0;
 * while ((CHAR_CLASS[b[i]] & CharClass.TOKEN) !== 0) i++;
 * assert.equal(i, 6);
 * assert.equal(CHAR_CLASS[0xe9], 0);
 * ```
 */
export const CHAR_CLASS: Uint16Array = new Uint16Array(256);

function _mark(chars: string, bits: number): void {
  for (let i = 0; i < chars.length; i++) CHAR_CLASS[chars.charCodeAt(i)] |= bits;
}
_mark(ALPHANUM, CharClass.ALPHANUM);
_mark("0123456789ABCDEFabcdef", CharClass.HEX);
_mark(ALPHANUM + "-.!%*_+`'~", CharClass.TOKEN | CharClass.VALUE);
_mark("[]:", CharClass.VALUE);
_mark(ALPHANUM + "-.", CharClass.HOST);
_mark(ALPHANUM + MARK + "&=+$,;?/", CharClass.USER);
_mark(ALPHANUM + MARK + "&=+$/", CharClass.PLAIN_USER);
_mark(ALPHANUM + MARK + "&=+$,", CharClass.PASSWORD);
_mark(ALPHANUM + MARK + "&=+$", CharClass.PLAIN_PASSWORD);
_mark(ALPHANUM + MARK + "[]/:&+$", CharClass.PARAM);
_mark(ALPHANUM + MARK + "[]/?:+$", CharClass.HCHAR);
_mark(ALPHANUM + "-.!%*_+`'~()<>:\\\"/[]?{}", CharClass.WORD);
_mark("0123456789ABCDEFabcdef:.", CharClass.HEX6);

/**
 * The octets in any of `classes` as a table of 1 (in) and 0 (out), 256 entries: for a loop
 * that checks one class with `table[b[i]] === 1`.
 *
 * @param classes One {@linkcode CharClass} bit, or several or-ed together.
 * @returns A new table.
 * @example
 * ```ts
 * import { CharClass, charTable } from "./chars.ts";
 * import assert from "node:assert/strict";
 * const user = charTable(CharClass.USER);
 * assert.equal(user.length, 256);
 * assert.equal(user[";".charCodeAt(0)], 1);
 * assert.equal(user["@".charCodeAt(0)], 0);
 * ```
 */
export function charTable(classes: number): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) if ((CHAR_CLASS[c] & classes) !== 0) table[c] = 1;
  return table;
}

/**
 * The token characters (RFC 3261 §25.1) as a table of 1 and 0: `charTable(CharClass.TOKEN)`,
 * made once, for the loops that read method names, header names and parameter names.
 *
 * @example
 * ```ts
 * import { TOKEN_CHAR } from "./chars.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("Call-ID: a");
 * let i = 0;
 * while (TOKEN_CHAR[b[i]] === 1) i++;
 * assert.equal(i, 7);
 * ```
 */
export const TOKEN_CHAR: Uint8Array = charTable(CharClass.TOKEN);

/**
 * Whether a string is a token (RFC 3261 §25.1): one or more token characters.
 *
 * @param text The text.
 * @returns True for a non-empty token.
 * @example
 * ```ts
 * import { isToken } from "./chars.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isToken("INVITE") && isToken("z9hG4bK-1.x~"));
 * assert.ok(!isToken("") && !isToken("a b") && !isToken("é"));
 * ```
 */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}

/**
 * Whether a character code is a DIGIT (`0`-`9`).
 *
 * @param c A character code or octet (any number: NaN, past the end of a string, is no digit).
 * @returns True for a digit.
 * @example
 * ```ts
 * import { isDigit } from "./chars.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isDigit(0x37) && !isDigit(0x41) && !isDigit(NaN));
 * ```
 */
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Whether a character code is a HEXDIG, in either case (RFC 3261 §25.1 takes "a"-"f" too in
 * escapes, as RFC 2396 does).
 *
 * @param c A character code or octet.
 * @returns True for a hex digit.
 * @example
 * ```ts
 * import { isHexDigit } from "./chars.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isHexDigit(0x39) && isHexDigit(0x66) && isHexDigit(0x46) && !isHexDigit(0x67));
 * ```
 */
export function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * Whether a character code is alphanum (RFC 3261 §25.1): an ASCII letter or digit.
 *
 * @param c A character code or octet.
 * @returns True for a letter or digit.
 * @example
 * ```ts
 * import { isAlphanum } from "./chars.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isAlphanum(0x61) && isAlphanum(0x5a) && isAlphanum(0x30) && !isAlphanum(0x2d));
 * ```
 */
export function isAlphanum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}
