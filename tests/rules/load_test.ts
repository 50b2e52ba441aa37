// loadRules() and parseRules(): what a valid rules file loads into.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadRules, parseRules } from "../../src/rules/load.ts";
import { renderTemplate } from "../../src/rules/template.ts";
import type { Action, Rule } from "../../src/rules/types.ts";
import { BRIEF_EXAMPLE, refuses } from "./_helpers.ts";

test("parseRules() loads the documented example with every feature", () => {
  const rules = parseRules(BRIEF_EXAMPLE, "rules.json");
  assert.equal(rules.length, 5);
  assert.deepEqual(rules.map((r) => r.name), ["busy line", "rules[1]", "rules[2]", "rules[3]", "rules[4]"]);
  assert.deepEqual(rules.map((r) => r.action.kind), ["respond", "respond", "choose", "silent", "respond"]);
  assert.deepEqual(rules.map((r) => r.index), [0, 1, 2, 3, 4]);
  assert.equal(rules[1].file, "rules.json");

  const slow = rules[1].action;
  assert.ok(slow.kind === "respond");
  assert.equal(slow.response.status, 200);
  assert.equal(slow.response.reason, "OK");
  assert.equal(slow.response.after, 3000);
  assert.deepEqual(slow.response.body, { kind: "sdp" });
  assert.equal(slow.response.headers[0][0], "X-Call");
  assert.deepEqual(slow.response.headers[0][1].parts, [{ variable: "call_id" }]);
  assert.deepEqual(slow.modifiers.provisional?.map((p) => [p.status, p.after, p.body]), [
    [180, 0, undefined],
    [183, 500, { kind: "sdp" }],
  ]);

  const dup = rules[4].action;
  assert.ok(dup.kind === "respond");
  assert.deepEqual(dup.modifiers, { duplicate: 2, retransmit: false });
  assert.ok(dup.response.body?.kind === "text");
  assert.equal(dup.response.body.type, "text/plain");
  assert.equal(renderTemplate(dup.response.body.text, { from_user: "bob" }), "hi bob");
});

test("parseRules() accepts a top-level array and names paths from it", () => {
  const rules = parseRules(`[ { "silent": true }, { "default": true } ]`);
  assert.deepEqual(rules.map((r) => [r.name, r.path, r.file]), [["[0]", "[0]", "rules"], ["[1]", "[1]", "rules"]]);
  refuses(
    [{ silent: true }, { respond: { status: 99 } }],
    "rules.json: [1].respond.status: must be an integer 100..699, got 99",
  );
});

test("parseRules() accepts an empty rule list, a byte order mark and comments", () => {
  assert.deepEqual(parseRules(`{ "rules": [] }`), []);
  assert.equal(parseRules(`\uFEFF[{ "silent": true }]`).length, 1);
  const rules = loadRules({
    comment: "top",
    rules: [{ comment: "a rule", choose: [{ weight: 1, comment: "x", silent: true }] }],
  });
  assert.equal(rules.length, 1);
});

test("loadRules() returns frozen rules", () => {
  const [rule] = loadRules([{ match: { user: "a" }, respond: { status: 200, headers: { A: "1" } } }]);
  assert.ok(Object.isFrozen(rule));
  assert.ok(Object.isFrozen(rule.match));
  assert.ok(Object.isFrozen(rule.match.user));
  assert.ok(rule.action.kind === "respond");
  assert.ok(Object.isFrozen(rule.action.response.headers[0]));
  assert.throws(() => {
    (rule as { name: string }).name = "changed";
  }, TypeError);
});

test("loadRules() ignores inherited properties and treats undefined as absent", () => {
  const proto = { respond: { status: 200 } };
  const raw = Object.create(proto) as Record<string, unknown>;
  raw.silent = true;
  assert.equal(loadRules([raw])[0].action.kind, "silent");
  assert.equal(loadRules([{ silent: true, respond: undefined }])[0].action.kind, "silent");
});

test("loadRules() reads response headers as an object or as repeatable pairs", () => {
  const [object, pairs] = loadRules([
    { respond: { status: 200, headers: { "X-A": "1", "X-B": "2" } } },
    { respond: { status: 200, headers: [["Warning", '399 a "x"'], ["Warning", '399 b "y"']] } },
  ]);
  const names = (rule: Rule) => {
    assert.ok(rule.action.kind === "respond");
    return rule.action.response.headers.map(([n, v]) => [n, v.source]);
  };
  assert.deepEqual(names(object), [["X-A", "1"], ["X-B", "2"]]);
  assert.deepEqual(names(pairs), [["Warning", '399 a "x"'], ["Warning", '399 b "y"']]);
});

test("loadRules() reads every form of body", () => {
  const rules = loadRules([
    { respond: { status: 200, body: "sdp" } },
    { respond: { status: 200, body: "echo" } },
    { respond: { status: 200, body: "plain {{method}}" } },
    { respond: { status: 200, body: { type: "application/json; charset=utf-8", text: '{"a": 1}' } } },
    { respond: { status: 200, body: { text: "typeless" } } },
    { respond: { status: 200, body: "" } },
  ]);
  const bodies = rules.map((r) => {
    assert.ok(r.action.kind === "respond");
    const body = r.action.response.body;
    return body?.kind === "text" ? [body.kind, body.type, body.text.source] : [body?.kind];
  });
  assert.deepEqual(bodies, [
    ["sdp"],
    ["echo"],
    ["text", "text/plain", "plain {{method}}"],
    ["text", "application/json; charset=utf-8", '{"a": 1}'],
    ["text", "text/plain", "typeless"],
    ["text", "text/plain", ""],
  ]);
});

// Keep the Action type in use so that its shape is checked by `deno check`.
const _exhaustive = (action: Action): string => {
  switch (action.kind) {
    case "respond":
    case "silent":
    case "default":
    case "choose":
      return action.kind;
  }
};
test("Action kinds are exactly respond, silent, default and choose", () => {
  const rules = loadRules([
    { respond: { status: 200 } },
    { silent: true },
    { default: true },
    { choose: [{ weight: 1, silent: true }] },
  ]);
  assert.deepEqual(rules.map((r) => _exhaustive(r.action)), ["respond", "silent", "default", "choose"]);
});
