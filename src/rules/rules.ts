/**
 * The rule engine: chooses the answer to each SIP request.
 *
 * A rules file is JSON: a list of rules, first match wins. Each rule has an optional `match`
 * (conditions on the request), exactly one action (`respond`, `silent`, `default` or `choose`)
 * and optional modifiers (`provisional`, `retransmit`, `duplicate`, `reliable`, `timer`, `auth`).
 * {@linkcode parseRules}
 * and {@linkcode loadRules} validate a rules file into normalised {@linkcode Rule}s,
 * {@linkcode findRule} picks the rule for a request and {@linkcode resolveAction} turns its
 * action into something concrete to send.
 *
 * The rule engine is pure: it touches no runtime API and takes only types from the message
 * core. Randomness is passed in as a function (`() => number`, as `Math.random`); the request is
 * seen through the small {@linkcode RuleInput} contract that the SIP layer fills in.
 *
 * This module re-exports the engine's parts, each in a module of its own: `types.ts` (the
 * shapes), `load.ts` (with `json.ts`, `validate.ts`, `load_match.ts`, `load_response.ts`),
 * `template.ts`, `match.ts` (with `cidr.ts`), `action.ts`, `builtin.ts` and `errors.ts`.
 *
 * @example Choosing the answer to a request
 * ```ts
 * import { findRule, parseRules, resolveAction, type RuleInput } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const rules = parseRules(`[{ "match": { "method": "INVITE", "user": "busy" }, "respond": { "status": 486 } }]`);
 * const input: RuleInput = {
 *   method: "INVITE", uriUser: "busy", uriHost: "example.com", header: () => [], body: "",
 *   source: { address: "192.0.2.1", port: 5060 }, transport: "udp",
 * };
 * const rule = findRule(rules, input);
 * assert.ok(rule);
 * const action = resolveAction(rule.action, Math.random);
 * assert.equal(action.kind === "respond" && action.response.status, 486);
 * ```
 *
 * @module
 */

export type { Transport } from "../sip/transport.ts";
export type { DigestAlgorithm } from "../auth/algorithm.ts";
export { resolveAction } from "./action.ts";
export {
  type AuthConfig,
  type AuthSpec,
  type AuthUser,
  DEFAULT_AUTH_ALGORITHMS,
  DEFAULT_AUTH_METHODS,
  DEFAULT_REALM,
  loadAuthConfig,
  parseAuthConfig,
} from "./auth_spec.ts";
export { DEFAULT_RULE_DESCRIPTIONS, DEFAULT_RULES } from "./builtin.ts";
export { type Cidr, cidrContains, parseCidr } from "./cidr.ts";
export { RulesError, RulesSyntaxError } from "./errors.ts";
export { loadRules, parseRules } from "./load.ts";
export { findRule, globToRegExp, matchRule } from "./match.ts";
export { renderTemplate, type Template, TEMPLATE_VARIABLES, type TemplateVariable } from "./template.ts";
export { type DtmfAction, type DtmfActions, MAX_DTMF_SEQUENCE, type MediaFlows, type PlaySpec } from "./media_flows.ts";
export type { ReferMode, TransferSpec } from "./call_flows.ts";
export type {
  Action,
  BodySpec,
  Match,
  Modifiers,
  ProvisionalSpec,
  Reliable,
  ResolvedAction,
  ResponseSpec,
  Rule,
  RuleInput,
  SessionTimerSpec,
} from "./types.ts";
