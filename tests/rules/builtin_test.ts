// DEFAULT_RULES and DEFAULT_RULE_DESCRIPTIONS: the built-in test users.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveAction } from "../../src/rules/action.ts";
import { DEFAULT_RULE_DESCRIPTIONS, DEFAULT_RULES } from "../../src/rules/builtin.ts";
import { findRule } from "../../src/rules/match.ts";
import { renderTemplate } from "../../src/rules/template.ts";
import { input, respondOf } from "./_helpers.ts";

test("DEFAULT_RULES answers INVITE by Request-URI user", () => {
  const answer = (user: string) => {
    const rule = findRule(DEFAULT_RULES, input({ uriUser: user }));
    assert.ok(rule, `no built-in rule for ${user}`);
    assert.equal(rule.name, user);
    return respondOf(resolveAction(rule.action, Math.random));
  };
  assert.equal(answer("busy").response.status, 486);
  assert.equal(answer("decline").response.status, 603);
  assert.equal(answer("notfound").response.status, 404);

  const unavailable = answer("unavailable");
  assert.equal(unavailable.response.status, 503);
  assert.deepEqual(unavailable.response.headers.map(([n, v]) => [n, renderTemplate(v, {})]), [["Retry-After", "30"]]);

  const slow = answer("slow");
  assert.deepEqual(slow.provisional.map((p) => [p.status, p.after]), [[180, 0]]);
  assert.deepEqual([slow.response.status, slow.response.after, slow.response.body], [200, 3000, { kind: "sdp" }]);

  const noanswer = answer("noanswer");
  assert.equal(noanswer.response.status, 180, "a 1xx respond: no final response");
  assert.deepEqual(noanswer.provisional, []);

  const redirect = answer("redirect");
  assert.equal(redirect.response.status, 302);
  const [name, value] = redirect.response.headers[0];
  assert.equal(name, "Contact");
  assert.equal(renderTemplate(value, { ruri_hostport: "example.com:5080" }), "<sip:echo@example.com:5080>");
});

test("DEFAULT_RULES leave other methods and users to the built-in behaviour", () => {
  for (const method of ["OPTIONS", "MESSAGE", "BYE", "REGISTER", "invite"]) {
    assert.equal(findRule(DEFAULT_RULES, input({ method, uriUser: "busy" })), undefined, method);
  }
  for (const user of ["alice", "Busy", "busy2", "slowly", ""]) {
    assert.equal(findRule(DEFAULT_RULES, input({ uriUser: user })), undefined, user);
  }
  assert.equal(findRule(DEFAULT_RULES, input({ uriUser: undefined })), undefined);
  assert.ok(Object.isFrozen(DEFAULT_RULES));
});

test("DEFAULT_RULE_DESCRIPTIONS describes each built-in rule", () => {
  assert.deepEqual(Object.keys(DEFAULT_RULE_DESCRIPTIONS).sort(), DEFAULT_RULES.map((r) => r.name).sort());
  for (const rule of DEFAULT_RULES) {
    const action = resolveAction(rule.action, Math.random);
    // A rule that asks for credentials first is described by its 401 (RFC 3261 §22.2).
    const status = action.kind === "respond"
      ? action.response.status
      : action.kind === "default" && action.auth
      ? 401
      : -1;
    const first = action.kind === "respond" && action.provisional.length > 0 ? action.provisional[0].status : status;
    assert.ok(DEFAULT_RULE_DESCRIPTIONS[rule.name].startsWith(String(first)), rule.name);
    assert.ok(DEFAULT_RULE_DESCRIPTIONS[rule.name].includes(String(status)), rule.name);
  }
});

test("DEFAULT_RULE_DESCRIPTIONS keeps its text, one per built-in rule in the rules' order", () => {
  // The --help text and the OPTIONS body print these; the descriptions are the rules' comments.
  assert.deepEqual(Object.entries(DEFAULT_RULE_DESCRIPTIONS), [
    ["busy", "486 Busy Here"],
    ["decline", "603 Decline"],
    ["unavailable", "503 with Retry-After: 30"],
    ["notfound", "404 Not Found"],
    ["slow", "180, then 200 OK with SDP after 3 s"],
    ["noanswer", "180 and no final (487 on CANCEL, 408 on timeout)"],
    ["redirect", "302 to sip:echo@ the same host and port"],
    ["auth", "401 until digest user auth, password auth; then as echo"],
  ]);
  assert.deepEqual(Object.keys(DEFAULT_RULE_DESCRIPTIONS), DEFAULT_RULES.map((rule) => rule.name));
  assert.ok(Object.isFrozen(DEFAULT_RULE_DESCRIPTIONS));
});

test("DEFAULT_RULES are built-in rules matching INVITE to the user they are named after", () => {
  DEFAULT_RULES.forEach((rule, index) => {
    assert.equal(rule.file, "built-in rules");
    assert.equal(rule.index, index);
    assert.deepEqual(rule.match.method, ["INVITE"]);
    assert.equal(rule.match.user?.length, 1);
    assert.ok(rule.match.user[0].test(rule.name), rule.name);
    assert.ok(Object.isFrozen(rule), rule.name);
  });
});
