// src/rules/rules.ts, the rule engine's public module (`@sipecho/sipecho/rules`): it re-exports the
// public names of the parts, each from its own module. The parts are tested in the files named after
// their modules (load_test.ts, match_test.ts, ...).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as rules from "../../src/rules/rules.ts";
import * as action from "../../src/rules/action.ts";
import * as authSpec from "../../src/rules/auth_spec.ts";
import * as builtin from "../../src/rules/builtin.ts";
import * as cidr from "../../src/rules/cidr.ts";
import * as errors from "../../src/rules/errors.ts";
import * as load from "../../src/rules/load.ts";
import * as match from "../../src/rules/match.ts";
import * as mediaFlows from "../../src/rules/media_flows.ts";
import * as template from "../../src/rules/template.ts";
import type * as types from "../../src/rules/types.ts";
import type { Transport } from "../../src/sip/transport.ts";

test("rules.ts re-exports the public values of the rule engine, the very same objects", () => {
  const parts: Record<string, unknown> = {
    ...action,
    ...authSpec,
    ...builtin,
    ...cidr,
    ...errors,
    ...load,
    ...match,
    ...mediaFlows,
    ...template,
  };
  const values = [
    "DEFAULT_AUTH_ALGORITHMS",
    "DEFAULT_AUTH_METHODS",
    "DEFAULT_REALM",
    "loadAuthConfig",
    "parseAuthConfig",
    "DEFAULT_RULE_DESCRIPTIONS",
    "DEFAULT_RULES",
    "RulesError",
    "RulesSyntaxError",
    "TEMPLATE_VARIABLES",
    "cidrContains",
    "findRule",
    "globToRegExp",
    "loadRules",
    "MAX_DTMF_SEQUENCE",
    "matchRule",
    "parseCidr",
    "parseRules",
    "renderTemplate",
    "resolveAction",
  ];
  assert.deepEqual(Object.keys(rules).sort(), [...values].sort());
  for (const name of values) assert.equal((rules as Record<string, unknown>)[name], parts[name], name);
});

// The types are checked by `deno check`: each must still be exported by rules.ts as the same
// type as in its own module (`true as false` does not compile).
type _Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameTypes: true[] = [
  true as _Same<rules.Action, types.Action>,
  true as _Same<rules.BodySpec, types.BodySpec>,
  true as _Same<rules.Match, types.Match>,
  true as _Same<rules.Modifiers, types.Modifiers>,
  true as _Same<rules.ProvisionalSpec, types.ProvisionalSpec>,
  true as _Same<rules.ResolvedAction, types.ResolvedAction>,
  true as _Same<rules.ResponseSpec, types.ResponseSpec>,
  true as _Same<rules.Rule, types.Rule>,
  true as _Same<rules.RuleInput, types.RuleInput>,
  true as _Same<rules.Transport, Transport>,
  true as _Same<rules.TemplateVariable, template.TemplateVariable>,
  true as _Same<rules.Template, template.Template>,
  true as _Same<rules.Cidr, cidr.Cidr>,
  true as _Same<rules.AuthSpec, authSpec.AuthSpec>,
  true as _Same<rules.AuthConfig, authSpec.AuthConfig>,
  true as _Same<rules.DtmfAction, mediaFlows.DtmfAction>,
  true as _Same<rules.DtmfActions, mediaFlows.DtmfActions>,
];

test("rules.ts re-exports the types, Transport from the message core among them", () => {
  const t: rules.Transport = "wss";
  const core: Transport = t;
  const variable: rules.TemplateVariable = "ruri_hostport";
  const block: rules.Cidr = rules.parseCidr("192.0.2.0/24");
  const compiled: rules.Template = { source: "{{ruri_hostport}}", parts: [{ variable }] };
  assert.equal(core, "wss");
  assert.equal(rules.renderTemplate(compiled, { ruri_hostport: "h:5080" }), "h:5080");
  assert.ok(rules.cidrContains(block, "192.0.2.1"));
  assert.equal(_sameTypes.length, 17);
});

test("rules.ts chooses the answer to a request, from rules file to action", () => {
  const loaded = rules.parseRules(
    `[{ "match": { "method": "INVITE", "user": "busy" }, "respond": { "status": 486 } }]`,
  );
  const input: rules.RuleInput = {
    method: "INVITE",
    uriUser: "busy",
    uriHost: "example.com",
    header: () => [],
    body: "",
    source: { address: "192.0.2.1", port: 5060 },
    transport: "udp",
  };
  const rule = rules.findRule([...loaded, ...rules.DEFAULT_RULES], input);
  assert.ok(rule);
  const chosen = rules.resolveAction(rule.action, () => 0);
  assert.equal(chosen.kind === "respond" && chosen.response.status, 486);
  assert.equal(rules.findRule(rules.DEFAULT_RULES, { ...input, uriUser: "decline" })?.name, "decline");
});
