/**
 * The built-in rules: test users that answer INVITE with a fixed failure, delay, redirect or
 * digest challenge, each with the one-line description that `--help` and the OPTIONS body show.
 *
 * @module
 */

import { loadRules } from "./load.ts";
import type { Rule } from "./types.ts";

/**
 * The built-in rules as a rules file would write them. Each one's `comment` is its description
 * (the loader accepts and drops `comment`), so a rule and what is said about it stay together.
 */
const _BUILTIN = [
  {
    name: "busy",
    comment: "486 Busy Here",
    match: { method: "INVITE", user: "busy" },
    respond: { status: 486 },
  },
  {
    name: "decline",
    comment: "603 Decline",
    match: { method: "INVITE", user: "decline" },
    respond: { status: 603 },
  },
  {
    name: "unavailable",
    comment: "503 with Retry-After: 30",
    match: { method: "INVITE", user: "unavailable" },
    respond: { status: 503, headers: { "Retry-After": "30" } },
  },
  {
    name: "notfound",
    comment: "404 Not Found",
    match: { method: "INVITE", user: "notfound" },
    respond: { status: 404 },
  },
  {
    name: "slow",
    comment: "180, then 200 OK with SDP after 3 s",
    match: { method: "INVITE", user: "slow" },
    provisional: [{ status: 180, after: 0 }],
    respond: { status: 200, after: 3000, body: "sdp" },
  },
  {
    // A 1xx respond sends no final response: the caller's CANCEL or its timer ends the call.
    name: "noanswer",
    comment: "180 and no final (487 on CANCEL, 408 on timeout)",
    match: { method: "INVITE", user: "noanswer" },
    respond: { status: 180 },
  },
  {
    // RFC 3261 §21.3.3: the Contact says where to try instead.
    name: "redirect",
    comment: "302 to sip:echo@ the same host and port",
    match: { method: "INVITE", user: "redirect" },
    respond: { status: 302, headers: { Contact: "<sip:echo@{{ruri_hostport}}>" } },
  },
  {
    // RFC 3261 §22.2: a digest challenge (realm: the global one, else "sipecho"), then the
    // built-in answer. The descriptions are short: the OPTIONS body that lists them must stay
    // within 3x of sipsak's OPTIONS (the anti-amplification budget, docs/limits.md).
    name: "auth",
    comment: "401 until digest user auth, password auth; then as echo",
    match: { method: "INVITE", user: "auth" },
    auth: { users: { auth: "auth" } },
    default: true,
  },
] as const;

/**
 * One-line descriptions of the {@linkcode DEFAULT_RULES}, by Request-URI user, for `--help`
 * and OPTIONS output. Each is the `comment` of its rule.
 *
 * @example
 * ```ts
 * import { DEFAULT_RULE_DESCRIPTIONS } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_RULE_DESCRIPTIONS.busy, "486 Busy Here");
 * ```
 */
export const DEFAULT_RULE_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(_BUILTIN.map((rule) => [rule.name, rule.comment])),
);

/**
 * The built-in rules, by Request-URI user, for INVITE only (other methods to these users get
 * the built-in behaviour); what each one answers is in {@linkcode DEFAULT_RULE_DESCRIPTIONS}.
 * Each rule is named after its user. A caller consults its configured rules first and these
 * after.
 *
 * @example
 * ```ts
 * import { DEFAULT_RULES } from "@sipecho/sipecho";
 * import { findRule, resolveAction, type RuleInput } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const input: RuleInput = {
 *   method: "INVITE", uriUser: "unavailable", uriHost: "example.com", header: () => [], body: "",
 *   source: { address: "192.0.2.1", port: 5060 }, transport: "udp",
 * };
 * const rule = findRule(DEFAULT_RULES, input);
 * assert.ok(rule);
 * assert.equal(rule.name, "unavailable");
 * const action = resolveAction(rule.action, Math.random);
 * assert.ok(action.kind === "respond");
 * assert.equal(action.response.status, 503);
 * assert.equal(findRule(DEFAULT_RULES, { ...input, method: "OPTIONS" }), undefined);
 * ```
 */
export const DEFAULT_RULES: readonly Rule[] = Object.freeze(loadRules(_BUILTIN, "built-in rules"));
