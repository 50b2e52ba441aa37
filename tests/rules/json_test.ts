// parseRules() on text that is not JSON: the problem, its line and column.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRandom } from "../../src/rules/action.ts";
import { RulesError, RulesSyntaxError } from "../../src/rules/errors.ts";
import { parseRules } from "../../src/rules/load.ts";
import { example, refusesSyntax } from "./_helpers.ts";

test("parseRules() reports JSON syntax errors with line and column", () => {
  const error = refusesSyntax(
    '{ "rules": [\n  { "match": { "user": "busy" },\n    "respond": { "status": 486, } }\n] }',
    "rules.json:3:31: trailing commas are not allowed in JSON",
  );
  assert.ok(error instanceof SyntaxError);
  assert.equal(error.name, "RulesSyntaxError");
  assert.deepEqual([error.file, error.line, error.column, error.offset], ["rules.json", 3, 31, 76]);
  assert.equal(error.problem, "trailing commas are not allowed in JSON");

  refusesSyntax('{ "rules": [\n  { "silent": tru }\n] }', 'rules.json:2:15: unexpected token "tru" (expected a value)');
  refusesSyntax(
    '[\n  { "silent": true }\n  { "silent": true }\n]',
    'rules.json:3:3: unexpected token "{" (expected "," or "]" after the array element)',
  );
  refusesSyntax(
    '[{ "silent" true }]',
    'rules.json:1:13: unexpected token "true" (expected ":" after the property name)',
  );
  refusesSyntax(
    "[{ silent: true }]",
    'rules.json:1:4: unexpected token "silent" (expected a property name in double quotes)',
  );
  refusesSyntax("[{ 'silent': true }]", "rules.json:1:4: strings must be in double quotes in JSON");
  refusesSyntax('[\n  // the rules\n  { "silent": true }\n]', "rules.json:2:3: comments are not allowed in JSON");
  refusesSyntax('[{ "silent": true }] /* end */', "rules.json:1:22: comments are not allowed in JSON");
  refusesSyntax('[{ "silent": true }]]', 'rules.json:1:21: unexpected token "]" after the end of the JSON value');
  refusesSyntax(
    '[{ "silent": true }',
    'rules.json:1:20: unexpected end of input (expected "," or "]" after the array element)',
  );
  refusesSyntax("", "rules.json:1:1: unexpected end of input (expected a value)");
  refusesSyntax("  \n ", "rules.json:2:2: unexpected end of input (expected a value)");
  refusesSyntax('[{ "name": "abc }]', "rules.json:1:12: unterminated string");
  refusesSyntax('[{ "name": "a\nb" }]', "rules.json:1:12: unterminated string");
  refusesSyntax('[{ "name": "a\tb" }]', "rules.json:1:14: control character U+0009 in string (write it as an escape)");
  refusesSyntax('[{ "name": "a\\xb" }]', 'rules.json:1:14: invalid escape "\\\\x" in string');
  refusesSyntax('[{ "name": "\\u12G4" }]', "rules.json:1:13: invalid \\u escape in string");
  refusesSyntax('[{ "respond": { "status": 0486 } }]', 'rules.json:1:27: invalid number "0486"');
  refusesSyntax('[{ "respond": { "status": 4.86e } }]', 'rules.json:1:27: invalid number "4.86e"');
  refusesSyntax('[{ "respond": { "status": -x } }]', 'rules.json:1:27: invalid number "-x"');
  refusesSyntax('[{ "respond": { "status": +1 } }]', 'rules.json:1:27: unexpected token "+1" (expected a value)');
  refusesSyntax('[{ "a": 1, }]', "rules.json:1:10: trailing commas are not allowed in JSON");
  refusesSyntax("[1,]", "rules.json:1:3: trailing commas are not allowed in JSON");
  refusesSyntax("[,1]", 'rules.json:1:2: unexpected token "," (expected a value)');
  refusesSyntax('{"rules": NaN}', 'rules.json:1:11: unexpected token "NaN" (expected a value)');
  refusesSyntax('{"rules": nulll}', 'rules.json:1:11: unexpected token "nulll" (expected a value)');
  refusesSyntax("[\u00e9]", 'rules.json:1:2: unexpected token "\u00e9" (expected a value)');
});

test("parseRules() counts lines across CRLF, lone CR and a byte order mark", () => {
  refusesSyntax("[\r\n\r\n  x]", 'rules.json:3:3: unexpected token "x" (expected a value)');
  refusesSyntax("[\r\r  x]", 'rules.json:3:3: unexpected token "x" (expected a value)');
  refusesSyntax("\uFEFF[ x]", 'rules.json:1:3: unexpected token "x" (expected a value)');
});

test("parseRules() refuses a key repeated within one object", () => {
  refusesSyntax(
    '[\n  { "respond": { "status": 200 },\n    "respond": { "status": 486 } }\n]',
    'rules.json:3:5: duplicate key "respond"',
  );
  refusesSyntax('[{ "match": { "user": "a", "user": "b" }, "silent": true }]', 'rules.json:1:28: duplicate key "user"');
  refusesSyntax('[{ "silent": true, "sil\\u0065nt": true }]', 'rules.json:1:20: duplicate key "silent"');
  // The same key in different objects is fine.
  assert.equal(parseRules('[{ "silent": true }, { "silent": true }]').length, 2);
});

test("parseRules() refuses absurd nesting without overflowing the stack", () => {
  const deep = "[".repeat(100000);
  const error = refusesSyntax(deep, "rules.json:1:257: nested deeper than 256 levels");
  assert.equal(error.offset, 256);
});

test("parseRules() agrees with JSON.parse on which texts are JSON", () => {
  const base = example("busy-and-fault-injection.json");
  const random = createRandom(99);
  const alphabet = "{}[],:\"\\ \n\t0123456789-.eEtrufalsn/'x";
  let invalid = 0;
  for (let i = 0; i < 3000; i++) {
    const at = Math.floor(random() * base.length);
    const op = Math.floor(random() * 3);
    const ch = alphabet[Math.floor(random() * alphabet.length)];
    const text = op === 0
      ? base.slice(0, at) + base.slice(at + 1)
      : op === 1
      ? base.slice(0, at) + ch + base.slice(at)
      : base.slice(0, at) + ch + base.slice(at + 1);
    let engineAccepts = true;
    try {
      JSON.parse(text);
    } catch {
      engineAccepts = false;
    }
    try {
      parseRules(text, "fuzz.json");
    } catch (e) {
      if (e instanceof RulesSyntaxError) {
        if (engineAccepts) {
          assert.match(e.message, /duplicate key/, `JSON.parse accepts what parseRules calls ${e.message}:\n${text}`);
        } else {
          assert.ok(e.line !== undefined, `no position for ${e.message}`);
          assert.ok(!e.problem.startsWith("invalid JSON"), `the scanner missed an error: ${e.message}\n${text}`);
          invalid++;
        }
        continue;
      }
      assert.ok(e instanceof RulesError, String(e));
    }
    assert.ok(engineAccepts, `parseRules accepted what JSON.parse refuses:\n${text}`);
  }
  assert.ok(invalid > 500, `only ${invalid} of 3000 mutations were invalid JSON`);
});
