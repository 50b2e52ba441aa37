/**
 * The built-in rules: test users that answer INVITE with a fixed failure, delay or redirect,
 * and the one-line descriptions that `--help` and the OPTIONS body show.
 *
 * @module
 */

import { loadRules } from "./load.ts";
import type { Rule } from "./types.ts";

/**
 * One-line descriptions of the {@linkcode DEFAULT_RULES}, by Request-URI user, for `--help`
 * and OPTIONS output.
 *
 * @example
 * ```ts
 * import { DEFAULT_RULE_DESCRIPTIONS } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_RULE_DESCRIPTIONS.busy, "486 Busy Here");
 * ```
 */
export const DEFAULT_RULE_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  busy: "486 Busy Here",
  decline: "603 Decline",
  unavailable: "503 Service Unavailable with Retry-After: 30",
  notfound: "404 Not Found",
  slow: "180 Ringing at once, then 200 OK with SDP after 3 s",
  noanswer: "180 Ringing and no final response (487 on CANCEL, 408 on timeout)",
  redirect: "302 Moved Temporarily to sip:echo@ the same host and port",
});

/**
 * The built-in rules, by Request-URI user, for INVITE only (other methods to these users get
 * the built-in behaviour): `busy` 486, `decline` 603, `unavailable` 503 with Retry-After: 30,
 * `notfound` 404, `slow` 180 at once and 200 with SDP after 3000 ms, `noanswer` 180 and no
 * final response (the caller ends it with 487 on CANCEL or 408 on timeout), `redirect` 302
 * with `Contact: <sip:echo@{{ruri_hostport}}>` (RFC 3261 §21.3.3). Each rule is named after
 * its user. A caller consults its configured rules first and these after.
 *
 * @example
 * ```ts
 * import { DEFAULT_RULES, findRule, resolveAction, type RuleInput } from "@sipecho/sipecho";
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
export const DEFAULT_RULES: readonly Rule[] = Object.freeze(loadRules([
  { name: "busy", match: { method: "INVITE", user: "busy" }, respond: { status: 486 } },
  { name: "decline", match: { method: "INVITE", user: "decline" }, respond: { status: 603 } },
  {
    name: "unavailable",
    match: { method: "INVITE", user: "unavailable" },
    respond: { status: 503, headers: { "Retry-After": "30" } },
  },
  { name: "notfound", match: { method: "INVITE", user: "notfound" }, respond: { status: 404 } },
  {
    name: "slow",
    match: { method: "INVITE", user: "slow" },
    provisional: [{ status: 180, after: 0 }],
    respond: { status: 200, after: 3000, body: "sdp" },
  },
  { name: "noanswer", match: { method: "INVITE", user: "noanswer" }, respond: { status: 180 } },
  {
    name: "redirect",
    match: { method: "INVITE", user: "redirect" },
    respond: { status: 302, headers: { Contact: "<sip:echo@{{ruri_hostport}}>" } },
  },
], "built-in rules"));
