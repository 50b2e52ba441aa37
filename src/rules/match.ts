/**
 * Matching a request against rules: globs for users and hosts, every condition of a rule's
 * `match`, and the first rule that matches.
 *
 * @module
 */

import { _contains, _parseSource } from "./cidr.ts";
import type { Rule, RuleInput } from "./types.ts";

/**
 * Compiles a glob into an anchored regular expression: `*` matches any run of characters
 * (also none), `?` exactly one character, `\` makes the next character literal (`\*`); every
 * other character, `[` included, matches itself. A glob without wildcards is an exact match.
 *
 * @param glob The glob, e.g. `*.example.com`.
 * @param options `ignoreCase` compares case-insensitively (as for host names, RFC 3261 §19.1.4).
 * @returns An anchored RegExp.
 *
 * @example
 * ```ts
 * import { globToRegExp } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * assert.ok(globToRegExp("slow*").test("slowly"));
 * assert.ok(!globToRegExp("slow?").test("slow"));
 * assert.ok(globToRegExp("*.example.com", { ignoreCase: true }).test("pbx.EXAMPLE.com"));
 * assert.ok(globToRegExp("a\\*").test("a*") && !globToRegExp("a\\*").test("ab"));
 * ```
 */
export function globToRegExp(glob: string, options: { ignoreCase?: boolean } = {}): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    let c = glob[i];
    if (c === "*") {
      source += "[^]*";
      continue;
    }
    if (c === "?") {
      source += "[^]";
      continue;
    }
    if (c === "\\" && i + 1 < glob.length) c = glob[++i];
    // Keep surrogate pairs together so that "?" counts code points (the "u" flag).
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < glob.length) c += glob[++i];
    source += /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${source}$`, options.ignoreCase ? "iu" : "u");
}

/**
 * Tells whether a request meets every condition of a rule's `match`.
 *
 * @param rule The rule.
 * @param input The request.
 * @returns `true` if all conditions hold (a rule without conditions matches every request).
 *
 * @example
 * ```ts
 * import { loadRules } from "@sipecho/sipecho";
 * import { matchRule, type RuleInput } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ match: { method: ["INVITE", "MESSAGE"], source: "192.0.2.0/24" }, silent: true }]);
 * const input: RuleInput = {
 *   method: "MESSAGE", uriUser: undefined, uriHost: "example.com", header: () => [], body: "",
 *   source: { address: "192.0.2.9", port: 5060 }, transport: "tcp",
 * };
 * assert.ok(matchRule(rule, input));
 * assert.ok(!matchRule(rule, { ...input, method: "INFO" }));
 * ```
 */
export function matchRule(rule: Rule, input: RuleInput): boolean {
  const m = rule.match;
  // Plain loops: this runs for every rule on every new request.
  if (m.method !== undefined && !_includes(m.method, input.method)) return false;
  if (m.transport !== undefined && !_includes(m.transport, input.transport.toLowerCase())) return false;
  if (m.user !== undefined && !_anyMatch(m.user, input.uriUser ?? "")) return false;
  if (m.host !== undefined && !_anyMatch(m.host, input.uriHost)) return false;
  if (m.source !== undefined) {
    const address = _parseSource(input.source.address);
    if (address === undefined || !m.source.some((block) => _contains(block, address))) return false;
  }
  if (m.headers !== undefined) {
    for (const { name, pattern } of m.headers) {
      if (!input.header(name).some((value) => pattern.test(value))) return false;
    }
  }
  if (m.body !== undefined && !m.body.test(input.body)) return false;
  return true;
}

/**
 * Finds the first rule that matches a request (first match wins).
 *
 * @param rules The rules, in order.
 * @param input The request.
 * @returns The first matching rule, or `undefined` if none matches.
 *
 * @example
 * ```ts
 * import { findRule, type RuleInput } from "@sipecho/sipecho/rules";
 * import { loadRules } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const rules = loadRules([
 *   { name: "a", match: { user: "x*" }, silent: true },
 *   { name: "b", match: { user: "xy" }, silent: true },
 * ]);
 * const input: RuleInput = {
 *   method: "INVITE", uriUser: "xy", uriHost: "h", header: () => [], body: "",
 *   source: { address: "192.0.2.1", port: 5060 }, transport: "udp",
 * };
 * assert.equal(findRule(rules, input)?.name, "a");
 * assert.equal(findRule(rules, { ...input, uriUser: "z" }), undefined);
 * ```
 */
export function findRule(rules: readonly Rule[], input: RuleInput): Rule | undefined {
  for (let i = 0; i < rules.length; i++) if (matchRule(rules[i], input)) return rules[i];
  return undefined;
}

function _includes(list: readonly string[], value: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
  return false;
}

function _anyMatch(patterns: readonly RegExp[], text: string): boolean {
  for (let i = 0; i < patterns.length; i++) if (patterns[i].test(text)) return true;
  return false;
}
