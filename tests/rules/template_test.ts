// Templates: the variables, their values for a request, rendering.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadRules } from "../../src/rules/load.ts";
import { renderTemplate, TEMPLATE_VARIABLES, templateValues } from "../../src/rules/template.ts";
import type { SipRequest } from "../../src/sip/message.ts";
import { parseMessage } from "../../src/sip/parse.ts";

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

/** A request as the parser gives it, with the fields that feed the template variables. */
function request(o: { ruri?: string; from?: string; to?: string; via?: string; method?: string } = {}): SipRequest {
  const method = o.method ?? "INVITE";
  const via = o.via ?? "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bK-1";
  const wire = `${method} ${o.ruri ?? "sip:bob@example.com"} SIP/2.0\r\nVia: ${via}\r\n` +
    `From: ${o.from ?? '"Alice" <sip:alice@192.0.2.9>;tag=a1'}\r\nTo: ${o.to ?? "<sip:bob@example.com>"}\r\n` +
    `Call-ID: call-1@192.0.2.9\r\nCSeq: 17 ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  return parseMessage(wire) as SipRequest;
}

const UDP = { address: "192.0.2.9", port: 5070, transport: "udp" } as const;

test("templateValues() gives every variable its value from the request and its source", () => {
  assert.deepEqual(templateValues(request(), UDP), {
    call_id: "call-1@192.0.2.9",
    from_uri: "sip:alice@192.0.2.9",
    from_user: "alice",
    from_tag: "a1",
    to_uri: "sip:bob@example.com",
    to_user: "bob",
    ruri: "sip:bob@example.com",
    ruri_user: "bob",
    ruri_host: "example.com",
    ruri_hostport: "example.com",
    method: "INVITE",
    cseq: "17",
    source_address: "192.0.2.9",
    source_port: "5070",
    transport: "udp",
    branch: "z9hG4bK-1",
  });
  assert.deepEqual(Object.keys(templateValues(request(), UDP)), [...TEMPLATE_VARIABLES]);
});

test("templateValues() reads the Request-URI's user, host and port, IPv6 references with brackets", () => {
  const v6 = templateValues(request({ ruri: "sips:slow@[2001:db8::1]:5081;transport=tcp" }), UDP);
  assert.deepEqual([v6.ruri, v6.ruri_user, v6.ruri_host, v6.ruri_hostport], [
    "sips:slow@[2001:db8::1]:5081;transport=tcp",
    "slow",
    "[2001:db8::1]",
    "[2001:db8::1]:5081",
  ]);
  const bare = templateValues(request({ ruri: "sip:192.0.2.1", method: "OPTIONS" }), UDP);
  assert.deepEqual([bare.ruri_user, bare.ruri_host, bare.ruri_hostport, bare.method], [
    "",
    "192.0.2.1",
    "192.0.2.1",
    "OPTIONS",
  ]);
  const escaped = templateValues(request({ ruri: "sip:a%20b@example.com:5060" }), UDP);
  assert.deepEqual([escaped.ruri_user, escaped.ruri_hostport], ["a b", "example.com:5060"]);
});

test("templateValues() leaves user and host empty for a tel: Request-URI", () => {
  const tel = templateValues(request({ ruri: "tel:+1-201-555-0123" }), UDP);
  assert.deepEqual([tel.ruri, tel.ruri_user, tel.ruri_host, tel.ruri_hostport], ["tel:+1-201-555-0123", "", "", ""]);
});

test("templateValues() takes the From and To user from the URI, or else from before an @", () => {
  const user = (from: string, to = "<sip:bob@example.com>") => {
    const values = templateValues(request({ from, to }), UDP);
    return [values.from_user, values.to_user];
  };
  assert.deepEqual(user("<sip:example.com>;tag=1", "sip:[2001:db8::1]"), ["", ""], "no user part");
  assert.deepEqual(user("<tel:+15550100>;tag=1", "<tel:+15550123>"), ["", ""], "tel: has no user");
  assert.deepEqual(user("<mailto:carol@example.com>;tag=1"), ["carol", "bob"], "another scheme: before the @");
  assert.deepEqual(user("<sip:u%20v@example.com>;tag=1"), ["u v", "bob"], "unescaped");
  assert.deepEqual(user("sip:+15550100@gw.example.com;tag=1"), ["+15550100", "bob"], "addr-spec form");
  const values = templateValues(request({ from: "<sip:alice@[2001:db8::9]:5070>;tag=x" }), UDP);
  assert.deepEqual([values.from_uri, values.from_user, values.from_tag], [
    "sip:alice@[2001:db8::9]:5070",
    "alice",
    "x",
  ]);
});

test("templateValues() gives an empty From tag and branch when the request has none", () => {
  const values = templateValues(request({ from: "<sip:alice@192.0.2.9>", via: "SIP/2.0/UDP 192.0.2.9" }), UDP);
  assert.equal(values.from_tag, "");
  assert.equal(values.branch, "");
});

test("templateValues() gives the source as passed: IPv6 without brackets, every transport", () => {
  for (const transport of ["udp", "tcp", "tls", "ws", "wss"] as const) {
    const values = templateValues(request(), { address: "2001:db8::9", port: 65535, transport });
    assert.deepEqual([values.source_address, values.source_port, values.transport], [
      "2001:db8::9",
      "65535",
      transport,
    ]);
  }
});

test("templateValues() fills the templates of a loaded rule", () => {
  const [rule] = loadRules([{
    respond: { status: 302, headers: { Contact: "<sip:{{to_user}}@{{ruri_hostport}}>;x={{cseq}}" } },
  }]);
  assert.ok(rule.action.kind === "respond");
  const vars = templateValues(request({ ruri: "sip:bob@[2001:db8::1]:5080", to: "<sip:carol@example.com>" }), UDP);
  assert.equal(renderTemplate(rule.action.response.headers[0][1], vars), "<sip:carol@[2001:db8::1]:5080>;x=17");
});

test("TEMPLATE_VARIABLES are each documented, in the JSDoc of TEMPLATE_VARIABLES and in docs/rules.md", () => {
  const source = readFileSync(new URL("../../src/rules/template.ts", import.meta.url), "utf8");
  const jsdoc = source.slice(source.indexOf("| name | value |"), source.indexOf("export const TEMPLATE_VARIABLES"));
  const readme = readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8");
  for (const name of TEMPLATE_VARIABLES) {
    assert.ok(jsdoc.includes(`\`${name}\``), `${name} is missing from the JSDoc table of TEMPLATE_VARIABLES`);
    assert.ok(readme.includes(`\`${name}\``), `${name} is missing from docs/rules.md`);
  }
});
