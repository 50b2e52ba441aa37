/**
 * Helpers shared by the rule engine tests: a request as a rule sees it, and assertions on what
 * loading refuses.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { RulesError, RulesSyntaxError } from "../../src/rules/errors.ts";
import { loadRules, parseRules } from "../../src/rules/load.ts";
import type { ResolvedAction, Rule, RuleInput } from "../../src/rules/types.ts";

/** What differs from the default request in {@linkcode input}. */
export interface InputOptions {
  method?: string;
  uriUser?: string | undefined;
  uriHost?: string;
  headers?: Record<string, string[]>;
  body?: string;
  address?: string;
  port?: number;
  transport?: RuleInput["transport"];
}

/** A request as the rule engine sees it; headers are looked up case-insensitively. */
export function input(options: InputOptions = {}): RuleInput {
  const headers = new Map<string, string[]>();
  for (const [name, values] of Object.entries(options.headers ?? {})) headers.set(name.toLowerCase(), values);
  return {
    method: options.method ?? "INVITE",
    uriUser: "uriUser" in options ? options.uriUser : "alice",
    uriHost: options.uriHost ?? "example.com",
    header: (name) => headers.get(name.toLowerCase()) ?? [],
    body: options.body ?? "",
    source: { address: options.address ?? "192.0.2.1", port: options.port ?? 5060 },
    transport: options.transport ?? "udp",
  };
}

/** The single rule with `match` and a silent action. */
export function matcher(match: Record<string, unknown>): Rule {
  return loadRules([{ match, silent: true }])[0];
}

/** Asserts that loading `value` fails with exactly `message`. */
export function refuses(value: unknown, message: string): void {
  assert.throws(() => loadRules(value, "rules.json"), (e: unknown) => {
    assert.ok(e instanceof RulesError, `expected a RulesError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

/** Asserts that parsing `text` fails with a syntax error with exactly `message`. */
export function refusesSyntax(text: string, message: string): RulesSyntaxError {
  let error: unknown;
  try {
    parseRules(text, "rules.json");
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof RulesSyntaxError, `expected a RulesSyntaxError, got ${error}`);
  assert.equal(error.message, message);
  return error;
}

/** The action, asserted to be a respond. */
export function respondOf(action: ResolvedAction) {
  assert.equal(action.kind, "respond");
  return action as Extract<ResolvedAction, { kind: "respond" }>;
}

/** The text of a file in examples/. */
export function example(name: string): string {
  return readFileSync(new URL(`../../examples/${name}`, import.meta.url), "utf8");
}

/** The example of the rules format with every feature, as first written down. */
export const BRIEF_EXAMPLE = `{ "rules": [
  { "name": "busy line", "match": { "method": "INVITE", "user": "busy" }, "respond": { "status": 486 } },
  { "match": { "method": ["INVITE", "MESSAGE"], "user": "slow*", "host": "*.example.com",
               "headers": { "User-Agent": "^Zoiper" }, "body": "m=video", "source": "192.0.2.0/24",
               "transport": ["udp", "tcp"] },
    "provisional": [ { "status": 180, "after": 0 }, { "status": 183, "after": 500, "body": "sdp" } ],
    "respond": { "status": 200, "reason": "OK", "after": 3000, "headers": { "X-Call": "{{call_id}}" }, "body": "sdp" } },
  { "match": { "method": "OPTIONS" }, "choose": [
      { "weight": 5, "respond": { "status": 503, "headers": { "Retry-After": "5" } } },
      { "weight": 95, "default": true } ] },
  { "match": { "user": "blackhole" }, "silent": true },
  { "match": { "user": "dup" }, "respond": { "status": 200, "body": { "type": "text/plain", "text": "hi {{from_user}}" } }, "duplicate": 2, "retransmit": false }
] }`;
