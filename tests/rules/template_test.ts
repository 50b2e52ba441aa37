// Templates: the variables, their values for a request, rendering.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadRules } from "../../src/rules/load.ts";
import { renderTemplate, TEMPLATE_VARIABLES } from "../../src/rules/template.ts";

test("TEMPLATE_VARIABLES lists the documented names", () => {
  assert.deepEqual([...TEMPLATE_VARIABLES].sort(), [
    "branch",
    "call_id",
    "cseq",
    "from_tag",
    "from_uri",
    "from_user",
    "method",
    "ruri",
    "ruri_host",
    "ruri_hostport",
    "ruri_user",
    "source_address",
    "source_port",
    "to_uri",
    "to_user",
    "transport",
  ]);
  assert.ok(Object.isFrozen(TEMPLATE_VARIABLES));
  const all = TEMPLATE_VARIABLES.map((name) => `{{${name}}}`).join("|");
  const vars = Object.fromEntries(TEMPLATE_VARIABLES.map((name) => [name, name.toUpperCase()]));
  assert.equal(renderTemplate(all, vars), TEMPLATE_VARIABLES.map((name) => name.toUpperCase()).join("|"));
});

test("renderTemplate() substitutes variables", () => {
  const vars = { call_id: "abc@host", from_user: "bob", cseq: "7" };
  assert.equal(renderTemplate("{{call_id}}", vars), "abc@host");
  assert.equal(renderTemplate("hi {{ from_user }}, call {{call_id}} #{{cseq}}!", vars), "hi bob, call abc@host #7!");
  assert.equal(renderTemplate("{{from_user}}{{from_user}}", vars), "bobbob");
  assert.equal(renderTemplate("no variables", vars), "no variables");
  assert.equal(renderTemplate("", vars), "");
  assert.equal(renderTemplate("a } b }} c {", vars), "a } b }} c {");
  assert.equal(renderTemplate("[{{to_user}}]", vars), "[]", "a missing value renders empty");
  assert.equal(renderTemplate("<{{from_uri}}>", { from_uri: "sip:a\r\nVia: x" }), "<sip:a Via: x>");
  assert.equal(renderTemplate("{{ruri}}", Object.create({ ruri: "inherited" })), "", "own values only");
});

test("renderTemplate() renders the compiled templates of loaded rules", () => {
  const [rule] = loadRules([{
    respond: { status: 302, headers: [["Contact", "<sip:{{to_user}}@{{ruri_hostport}}>"]] },
  }]);
  assert.ok(rule.action.kind === "respond");
  const [name, value] = rule.action.response.headers[0];
  assert.equal(name, "Contact");
  assert.deepEqual(value.source, "<sip:{{to_user}}@{{ruri_hostport}}>");
  assert.equal(renderTemplate(value, { to_user: "carol", ruri_hostport: "h:5080" }), "<sip:carol@h:5080>");
});

test("renderTemplate() refuses unknown variables and an open {{", () => {
  assert.throws(() => renderTemplate("{{callid}}", {}), {
    name: "TypeError",
    message: 'Cannot compile template: unknown template variable "{{callid}}" (did you mean "call_id"?)',
  });
  assert.throws(() => renderTemplate("a {{ b", {}), {
    name: "TypeError",
    message: 'Cannot compile template: unclosed "{{" at character 3',
  });
  assert.throws(() => renderTemplate("{{}}", {}), /unknown template variable "\{\{\}\}" \(known: call_id, from_uri,/);
  assert.throws(() => renderTemplate("{{{call_id}}}", {}), {
    message: 'Cannot compile template: unknown template variable "{{{call_id}}" (did you mean "call_id"?)',
  });
});
