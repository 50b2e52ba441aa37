// src/sip/chars.ts holds the RFC 3261 §25.1 character classes for the whole message core; each
// class is checked here, octet by octet, against the ABNF written out as a regular expression.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CHAR_CLASS,
  CharClass,
  charTable,
  isAlphanum,
  isDigit,
  isHexDigit,
  isToken,
  TOKEN_CHAR,
} from "../../src/sip/chars.ts";

// unreserved = alphanum / mark, mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
const UNRESERVED = "A-Za-z0-9\\-_.!~*'()";
const REFERENCE: Record<keyof typeof CharClass, RegExp> = {
  TOKEN: /^[A-Za-z0-9\-.!%*_+`'~]$/,
  HOST: /^[A-Za-z0-9\-.]$/,
  USER: new RegExp(`^[${UNRESERVED}&=+$,;?/]$`),
  PASSWORD: new RegExp(`^[${UNRESERVED}&=+$,]$`),
  PARAM: new RegExp(`^[${UNRESERVED}\\[\\]/:&+$]$`),
  VALUE: /^[A-Za-z0-9\-.!%*_+`'~[\]:]$/,
  WORD: /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]$/,
  HEX6: /^[0-9A-Fa-f:.]$/,
  HCHAR: new RegExp(`^[${UNRESERVED}\\[\\]/?:+$]$`),
  PLAIN_USER: new RegExp(`^[${UNRESERVED}&=+$/]$`),
  PLAIN_PASSWORD: new RegExp(`^[${UNRESERVED}&=+$]$`),
  ALPHANUM: /^[A-Za-z0-9]$/,
  HEX: /^[0-9A-Fa-f]$/,
};

describe("CHAR_CLASS", () => {
  for (const [name, bit] of Object.entries(CharClass)) {
    test(`CHAR_CLASS marks exactly the ${name} characters of RFC 3261 §25.1`, () => {
      const reference = REFERENCE[name as keyof typeof CharClass];
      for (let c = 0; c < 256; c++) {
        const expected = reference.test(String.fromCharCode(c));
        assert.equal((CHAR_CLASS[c] & bit) !== 0, expected, `${name}: octet 0x${c.toString(16)}`);
      }
    });
  }

  test("CharClass gives every class its own bit", () => {
    const bits = Object.values(CharClass);
    assert.equal(bits.reduce((all, bit) => all | bit, 0), 2 ** bits.length - 1);
  });
});

describe("charTable()", () => {
  test("charTable() is 1 exactly where CHAR_CLASS has one of the bits", () => {
    const table = charTable(CharClass.USER | CharClass.HEX6);
    for (let c = 0; c < 256; c++) {
      assert.equal(table[c], (CHAR_CLASS[c] & (CharClass.USER | CharClass.HEX6)) !== 0 ? 1 : 0);
    }
    assert.deepEqual(TOKEN_CHAR, charTable(CharClass.TOKEN));
  });
});

describe("predicates", () => {
  test("isDigit(), isHexDigit() and isAlphanum() agree with their classes and refuse codes over 255", () => {
    for (let c = -1; c < 0x10000; c++) {
      const inByte = c >= 0 && c < 256;
      assert.equal(isDigit(c), inByte && /^[0-9]$/.test(String.fromCharCode(c)), `isDigit(${c})`);
      assert.equal(isHexDigit(c), inByte && (CHAR_CLASS[c] & CharClass.HEX) !== 0, `isHexDigit(${c})`);
      assert.equal(isAlphanum(c), inByte && (CHAR_CLASS[c] & CharClass.ALPHANUM) !== 0, `isAlphanum(${c})`);
    }
    assert.equal(isDigit(NaN) || isHexDigit(NaN) || isAlphanum(NaN), false);
  });

  test("isToken() accepts one or more token characters and nothing else", () => {
    assert.ok(isToken("INVITE") && isToken("x-Custom_1.2!%*+`'~"));
    for (const text of ["", "a b", "a:b", "a\u00e9", "a;b", "a,b", "<a>", '"a"', "a/b", "a\u0100"]) {
      assert.equal(isToken(text), false, JSON.stringify(text));
    }
  });
});
