/**
 * The rule engine: chooses the answer to each SIP request.
 *
 * A rules file is JSON: a list of rules, first match wins. Each rule has an optional `match`
 * (conditions on the request), exactly one action (`respond`, `silent`, `default` or `choose`)
 * and optional modifiers (`provisional`, `retransmit`, `duplicate`). {@linkcode parseRules}
 * and {@linkcode loadRules} validate a rules file into normalised {@linkcode Rule}s,
 * {@linkcode findRule} picks the rule for a request and {@linkcode resolveAction} turns its
 * action into something concrete to send.
 *
 * This module is pure: it imports nothing and touches no runtime API. Randomness is passed in
 * as a function (see {@linkcode createRandom}); the request is seen through the small
 * {@linkcode RuleInput} contract that the SIP layer fills in.
 *
 * @example Choosing the answer to a request
 * ```ts
 * import { findRule, parseRules, resolveAction, createRandom, type RuleInput } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const rules = parseRules(`[{ "match": { "method": "INVITE", "user": "busy" }, "respond": { "status": 486 } }]`);
 * const input: RuleInput = {
 *   method: "INVITE", uriUser: "busy", uriHost: "example.com", header: () => [], body: "",
 *   source: { address: "192.0.2.1", port: 5060 }, transport: "udp",
 * };
 * const rule = findRule(rules, input);
 * assert.ok(rule);
 * const action = resolveAction(rule.action, createRandom(1));
 * assert.equal(action.kind === "respond" && action.response.status, 486);
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

import type { Transport } from "../sip/transport.ts";

export type { Transport };

const _TRANSPORTS: readonly Transport[] = ["udp", "tcp", "tls", "ws", "wss"];

/**
 * What a rule matches against: a view of one SIP request, filled in by the SIP layer.
 *
 * @example A request as the rule engine sees it
 * ```ts
 * import type { RuleInput } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const headers: Record<string, string[]> = { "user-agent": ["Zoiper 5"] };
 * const input: RuleInput = {
 *   method: "INVITE",
 *   uriUser: "slow",
 *   uriHost: "example.com",
 *   header: (name) => headers[name.toLowerCase()] ?? [],
 *   body: "",
 *   source: { address: "2001:db8::1", port: 5060 },
 *   transport: "udp",
 * };
 * assert.deepEqual(input.header("User-Agent"), ["Zoiper 5"]);
 * ```
 */
export interface RuleInput {
  /** The method as on the wire, e.g. `INVITE` (methods are case-sensitive, RFC 3261 §7.1). */
  method: string;
  /** The Request-URI user part, %-unescaped, e.g. `busy`; `undefined` when there is none. */
  uriUser: string | undefined;
  /** The Request-URI host, e.g. `example.com` or `[2001:db8::1]`. */
  uriHost: string;
  /**
   * Every value of a header, looked up by case-insensitive name (the caller resolves compact
   * forms such as `f` for `From`); `[]` if the request has none.
   */
  header(name: string): string[];
  /** The body as UTF-8 text, `""` if none. */
  body: string;
  /** The remote address: IPv4 `192.0.2.1` or IPv6 `2001:db8::1` without brackets, and port. */
  source: { address: string; port: number };
  /** The transport the request arrived over. */
  transport: Transport;
}

/**
 * The names a template may use as `{{name}}`. The caller supplies a value for each when it
 * renders a template with {@linkcode renderTemplate}:
 *
 * | name | value |
 * |---|---|
 * | `call_id` | the Call-ID |
 * | `from_uri`, `from_user`, `from_tag` | the URI in From, its user part, the From tag |
 * | `to_uri`, `to_user` | the URI in To, its user part |
 * | `ruri`, `ruri_user`, `ruri_host` | the Request-URI, its user part, its host |
 * | `ruri_hostport` | the Request-URI host with `:port` when the URI has one |
 * | `method` | the request method |
 * | `cseq` | the CSeq sequence number, e.g. `1` |
 * | `source_address`, `source_port` | where the request came from |
 * | `transport` | `udp`, `tcp`, `tls`, `ws` or `wss` |
 * | `branch` | the branch parameter of the top Via |
 *
 * @example
 * ```ts
 * import { TEMPLATE_VARIABLES } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.ok(TEMPLATE_VARIABLES.includes("call_id"));
 * ```
 */
export const TEMPLATE_VARIABLES: readonly TemplateVariable[] = Object.freeze([
  "call_id",
  "from_uri",
  "from_user",
  "from_tag",
  "to_uri",
  "to_user",
  "ruri",
  "ruri_user",
  "ruri_host",
  "ruri_hostport",
  "method",
  "cseq",
  "source_address",
  "source_port",
  "transport",
  "branch",
]);

/**
 * One of the {@linkcode TEMPLATE_VARIABLES}.
 *
 * @example
 * ```ts
 * import type { TemplateVariable } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const name: TemplateVariable = "from_user";
 * assert.equal(name, "from_user");
 * ```
 */
export type TemplateVariable =
  | "call_id"
  | "from_uri"
  | "from_user"
  | "from_tag"
  | "to_uri"
  | "to_user"
  | "ruri"
  | "ruri_user"
  | "ruri_host"
  | "ruri_hostport"
  | "method"
  | "cseq"
  | "source_address"
  | "source_port"
  | "transport"
  | "branch";

/**
 * A compiled template: literal text and `{{variable}}` references, in order.
 *
 * @example
 * ```ts
 * import { loadRules, type Template } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ respond: { status: 200, body: "hi {{from_user}}" } }]);
 * assert.ok(rule.action.kind === "respond" && rule.action.response.body?.kind === "text");
 * const text: Template = rule.action.response.body.text;
 * assert.deepEqual(text.parts, ["hi ", { variable: "from_user" }]);
 * ```
 */
export interface Template {
  /** The template as written. */
  readonly source: string;
  /** Literal strings and variable references. */
  readonly parts: readonly (string | { readonly variable: TemplateVariable })[];
}

/**
 * The body of a response:
 * - `sdp`: the SDP answer to the offer in the request (RFC 3264), built by the responder;
 * - `echo`: the request body with its Content-Type;
 * - `text`: a template rendered with the request's values, sent with Content-Type `type`.
 *
 * @example
 * ```ts
 * import type { BodySpec } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const body: BodySpec = { kind: "sdp" };
 * assert.equal(body.kind, "sdp");
 * ```
 */
export type BodySpec =
  | { readonly kind: "sdp" }
  | { readonly kind: "echo" }
  | { readonly kind: "text"; readonly type: string; readonly text: Template };

/**
 * A response to send: status, optional reason phrase, when, extra headers and body.
 *
 * `after` counts milliseconds from the arrival of the request. Headers are `[name, value]`
 * pairs in order (a name may repeat); values are templates. Without `reason` the caller uses
 * the standard phrase for the status (RFC 3261 §21).
 *
 * @example
 * ```ts
 * import { loadRules, type ResponseSpec } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ respond: { status: 503, headers: { "Retry-After": "5" } } }]);
 * assert.equal(rule.action.kind, "respond");
 * const response: ResponseSpec = (rule.action as { response: ResponseSpec }).response;
 * assert.equal(response.status, 503);
 * assert.equal(response.after, 0);
 * assert.equal(response.headers[0][0], "Retry-After");
 * ```
 */
export interface ResponseSpec {
  /** Status code 100..699 (RFC 3261 §21); a 1xx here means no final response is sent. */
  readonly status: number;
  /** Reason phrase; absent means the standard phrase for the status. */
  readonly reason?: string;
  /** Milliseconds from the arrival of the request until this response is sent. */
  readonly after: number;
  /** Extra header fields, in order; values are templates. */
  readonly headers: readonly (readonly [name: string, value: Template])[];
  /** The body, if any. */
  readonly body?: BodySpec;
}

/**
 * A provisional (1xx) response sent before the final one: same shape as
 * {@linkcode ResponseSpec}, with a status 101..199 (100 Trying is the transaction layer's,
 * RFC 3261 §8.2.6.1). A provisional scheduled after the final response is never sent.
 *
 * @example
 * ```ts
 * import { loadRules, resolveAction, createRandom, type ProvisionalSpec } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ provisional: [{ status: 180, after: 0 }], respond: { status: 200, after: 1000 } }]);
 * const action = resolveAction(rule.action, createRandom(0));
 * assert.ok(action.kind === "respond");
 * const ringing: ProvisionalSpec = action.provisional[0];
 * assert.equal(ringing.status, 180);
 * ```
 */
export type ProvisionalSpec = ResponseSpec;

/**
 * Modifiers that a rule or a `choose` alternative may add to its action. A modifier given on
 * an inner alternative replaces the same modifier of the enclosing rule (a `provisional` list
 * is replaced as a whole, `[]` removes it).
 *
 * @example
 * ```ts
 * import type { Modifiers } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const modifiers: Modifiers = { retransmit: false, duplicate: 2 };
 * assert.equal(modifiers.provisional, undefined);
 * ```
 */
export interface Modifiers {
  /** Provisional responses sent before the final one. */
  readonly provisional?: readonly ProvisionalSpec[];
  /** `false` withholds retransmissions of the final response (RFC 3261 §17.2.1 Timer G). */
  readonly retransmit?: boolean;
  /** Send each response this many times, 1..10. */
  readonly duplicate?: number;
}

/**
 * What a rule does, as loaded (before a `choose` is resolved):
 * - `respond`: send `response` (and the provisionals of the modifiers);
 * - `silent`: send nothing at all, not even 100 Trying;
 * - `default`: let the built-in behaviour answer;
 * - `choose`: pick one of `alternatives` at random, by weight.
 *
 * @example
 * ```ts
 * import { loadRules, type Action } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ choose: [{ weight: 1, silent: true }, { weight: 3, default: true }] }]);
 * const action: Action = rule.action;
 * assert.ok(action.kind === "choose");
 * assert.deepEqual(action.alternatives.map((a) => a.action.kind), ["silent", "default"]);
 * ```
 */
export type Action =
  | { readonly kind: "respond"; readonly response: ResponseSpec; readonly modifiers: Modifiers }
  | { readonly kind: "silent" }
  | { readonly kind: "default"; readonly modifiers: Modifiers }
  | {
    readonly kind: "choose";
    readonly alternatives: readonly { readonly weight: number; readonly action: Action }[];
    readonly modifiers: Modifiers;
  };

/**
 * A concrete action from {@linkcode resolveAction}: no `choose` left, modifiers merged and
 * defaulted (`provisional` sorted by `after`, `retransmit` true, `duplicate` 1).
 *
 * @example
 * ```ts
 * import { loadRules, resolveAction, type ResolvedAction } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ default: true }]);
 * const action: ResolvedAction = resolveAction(rule.action, Math.random);
 * assert.deepEqual(action, { kind: "default", provisional: [], retransmit: true, duplicate: 1 });
 * ```
 */
export type ResolvedAction =
  | {
    readonly kind: "respond";
    readonly response: ResponseSpec;
    readonly provisional: readonly ProvisionalSpec[];
    readonly retransmit: boolean;
    readonly duplicate: number;
  }
  | {
    readonly kind: "default";
    readonly provisional: readonly ProvisionalSpec[];
    readonly retransmit: boolean;
    readonly duplicate: number;
  }
  | { readonly kind: "silent" };

/**
 * An address block (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6) with the host bits cleared.
 * IPv4-mapped IPv6 blocks (`::ffff:192.0.2.0/120`) are stored as IPv4.
 *
 * @example
 * ```ts
 * import { parseCidr, type Cidr } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const cidr: Cidr = parseCidr("192.0.2.77/24");
 * assert.deepEqual(cidr, { family: 4, bytes: [192, 0, 2, 0], prefix: 24 });
 * ```
 */
export interface Cidr {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The network address: 4 or 16 bytes, host bits zero. */
  readonly bytes: readonly number[];
  /** The prefix length: 0..32 or 0..128. */
  readonly prefix: number;
}

/**
 * The conditions of a rule, compiled. Every condition given must hold; an absent one holds
 * for every request. Lists mean "any of".
 *
 * @example
 * ```ts
 * import { loadRules, type Match } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ match: { method: "INVITE", host: "*.example.com" }, default: true }]);
 * const match: Match = rule.match;
 * assert.deepEqual(match.method, ["INVITE"]);
 * assert.ok(match.host?.[0].test("SIP.Example.COM"));
 * ```
 */
export interface Match {
  /** Methods, compared exactly. */
  readonly method?: readonly string[];
  /** Request-URI user globs, case-sensitive, anchored. */
  readonly user?: readonly RegExp[];
  /** Request-URI host globs, case-insensitive, anchored. */
  readonly host?: readonly RegExp[];
  /** Header conditions: some value of header `name` must match `pattern`. */
  readonly headers?: readonly { readonly name: string; readonly pattern: RegExp }[];
  /** A pattern the body text must match. */
  readonly body?: RegExp;
  /** Address blocks the source address must lie in. */
  readonly source?: readonly Cidr[];
  /** Transports. */
  readonly transport?: readonly Transport[];
}

/**
 * One rule, validated and normalised.
 *
 * @example
 * ```ts
 * import { parseRules, type Rule } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const rules: Rule[] = parseRules(`{ "rules": [ { "silent": true }, { "name": "x", "default": true } ] }`, "r.json");
 * assert.equal(rules[0].name, "rules[0]");
 * assert.equal(rules[1].name, "x");
 * assert.equal(rules[1].path, "rules[1]");
 * assert.equal(rules[1].file, "r.json");
 * ```
 */
export interface Rule {
  /** The `name` given in the file, or else the rule's path, e.g. `rules[2]`. */
  readonly name: string;
  /** The position of the rule in its file, from 0. */
  readonly index: number;
  /** The file the rule came from, as named to the loader. */
  readonly file: string;
  /** The JSON path of the rule in its file, e.g. `rules[2]` (or `[2]` for a top-level array). */
  readonly path: string;
  /** The conditions. */
  readonly match: Match;
  /** The action, with the rule's modifiers on it. */
  readonly action: Action;
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * A rules file that is valid JSON but not a valid rules file. The message names the file,
 * the JSON path and the problem:
 * `rules.json: rules[2].respond.status: must be an integer 100..699, got 99`.
 *
 * @example
 * ```ts
 * import { loadRules, RulesError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => loadRules([{ respond: { status: 99 } }], "rules.json"), (e) => {
 *   assert.ok(e instanceof RulesError);
 *   assert.equal(e.message, "rules.json: [0].respond.status: must be an integer 100..699, got 99");
 *   assert.equal(e.file, "rules.json");
 *   assert.equal(e.path, "[0].respond.status");
 *   assert.equal(e.problem, "must be an integer 100..699, got 99");
 *   return true;
 * });
 * ```
 */
export class RulesError extends TypeError {
  /** The file, as named to the loader. */
  readonly file: string;
  /** The JSON path of the offending value, e.g. `rules[2].respond.status`; `""` for the top. */
  readonly path: string;
  /** The problem alone, without file and path. */
  readonly problem: string;

  /**
   * Creates the error; the message is built from the parts.
   *
   * @param file The file, as named to the loader.
   * @param path The JSON path of the offending value (`""` for the top level).
   * @param problem What is wrong, e.g. `must be an integer 100..699, got 99`.
   */
  constructor(file: string, path: string, problem: string) {
    super(path === "" ? `${file}: ${problem}` : `${file}: ${path}: ${problem}`);
    this.name = "RulesError";
    this.file = file;
    this.path = path;
    this.problem = problem;
  }
}

/**
 * A rules file that is not valid JSON (or repeats a key in an object, which JSON.parse would
 * silently accept). The message reads `rules.json:3:14: problem`, or `rules.json: problem`
 * when no position is known. Line and column count from 1; the column counts UTF-16 units.
 *
 * @example
 * ```ts
 * import { parseRules, RulesSyntaxError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseRules('[\n  { "silent": tru }\n]', "rules.json"), (e) => {
 *   assert.ok(e instanceof RulesSyntaxError);
 *   assert.equal(e.message, 'rules.json:2:15: unexpected token "tru" (expected a value)');
 *   assert.equal(e.line, 2);
 *   assert.equal(e.column, 15);
 *   return true;
 * });
 * ```
 */
export class RulesSyntaxError extends SyntaxError {
  /** The file, as named to the loader. */
  readonly file: string;
  /** The problem alone, without file and position. */
  readonly problem: string;
  /** Offset in the text (UTF-16 units, after a leading byte order mark), if known. */
  readonly offset: number | undefined;
  /** Line from 1, if known. */
  readonly line: number | undefined;
  /** Column from 1, if known. */
  readonly column: number | undefined;

  /**
   * Creates the error; the message is built from the parts.
   *
   * @param file The file, as named to the loader.
   * @param problem What is wrong.
   * @param position Where, if known.
   */
  constructor(
    file: string,
    problem: string,
    position?: { offset: number; line: number; column: number },
  ) {
    super(
      position === undefined ? `${file}: ${problem}` : `${file}:${position.line}:${position.column}: ${problem}`,
    );
    this.name = "RulesSyntaxError";
    this.file = file;
    this.problem = problem;
    this.offset = position?.offset;
    this.line = position?.line;
    this.column = position?.column;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

const _ACTION_KEYS = ["respond", "silent", "default", "choose"] as const;
const _MODIFIER_KEYS = ["provisional", "retransmit", "duplicate"] as const;
const _RULE_KEYS = ["name", "comment", "match", ..._ACTION_KEYS, ..._MODIFIER_KEYS];
const _ALTERNATIVE_KEYS = ["weight", "comment", ..._ACTION_KEYS, ..._MODIFIER_KEYS];
const _MATCH_KEYS = ["method", "user", "host", "headers", "body", "source", "transport"];
const _RESPONSE_KEYS = ["status", "reason", "after", "headers", "body"];
const _BODY_KEYS = ["type", "text"];

/** The longest delay a JS timer honours (2^31 - 1 ms); longer ones fire at once. */
const _MAX_AFTER = 2147483647;
/** How deep `choose` may nest (and JSON may nest), so that cycles and abuse end. */
const _MAX_DEPTH = 32;
const _MAX_JSON_DEPTH = 256;

/** RFC 3261 §25.1 token, used by method and header names. */
const _TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** RFC 2045 §5.1 type/subtype, optionally followed by parameters. */
const _MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/s;

/**
 * Header fields the responder itself writes (RFC 3261 §8.2.6.2 copies Via, From, To, Call-ID
 * and CSeq; Content-Length and Content-Type follow the body), by lower-case full and compact
 * name (§7.3.3), with the reason a rule may not set them.
 */
const _RESERVED_HEADERS: Readonly<Record<string, string>> = {
  "via": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "v": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "from": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "f": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "to": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "t": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "call-id": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "i": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "cseq": "is copied from the request by the responder (RFC 3261 §8.2.6.2)",
  "content-length": "is computed from the body by the responder",
  "l": "is computed from the body by the responder",
  "content-type": 'follows the body; use "body": { "type": ..., "text": ... }',
  "c": 'follows the body; use "body": { "type": ..., "text": ... }',
};

type _Object = Record<string, unknown>;

/** Context passed down the loader: the file name for error messages. */
interface _Context {
  readonly file: string;
}

/** Provisionals inherited from an enclosing rule or alternative, with where they were given. */
interface _Inherited {
  readonly provisional?: readonly ProvisionalSpec[];
  readonly provisionalPath?: string;
}

/**
 * Validates already-parsed rules (a list of rules, or an object `{ "rules": [...] }`) and
 * returns them normalised. Unknown keys, wrong types and out-of-range values are refused with
 * their JSON path, so that a typo never passes silently.
 *
 * @param value The rules: an array, or an object with a `rules` array.
 * @param file The name used in error messages, e.g. the file path.
 * @returns The rules in order, each one frozen.
 * @throws {RulesError} If anything in `value` is not a valid rule.
 *
 * @example
 * ```ts
 * import { loadRules, RulesError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const rules = loadRules({ rules: [{ match: { user: "busy" }, respond: { status: 486 } }] });
 * assert.equal(rules.length, 1);
 * assert.throws(
 *   () => loadRules({ rules: [{ mtach: {}, silent: true }] }, "my.json"),
 *   new RulesError("my.json", "rules[0]", 'unknown key "mtach" (did you mean "match"?)'),
 * );
 * ```
 */
export function loadRules(value: unknown, file = "rules"): Rule[] {
  const ctx: _Context = { file };
  let list: unknown[];
  let base: string;
  if (Array.isArray(value)) {
    list = value;
    base = "";
  } else if (_isObject(value)) {
    _checkKeys(ctx, "", value, ["rules", "comment"]);
    _optionalString(ctx, "", value, "comment");
    const rules = _get(value, "rules");
    if (rules === undefined) _fail(ctx, "", 'missing key "rules"');
    if (!Array.isArray(rules)) _fail(ctx, "rules", `must be an array of rules, got ${_describe(rules)}`);
    list = rules;
    base = "rules";
  } else {
    _fail(ctx, "", `must be an array of rules or an object with a "rules" array, got ${_describe(value)}`);
  }
  return list.map((raw, index) => _deepFreeze(_loadRule(ctx, `${base}[${index}]`, raw, index)));
}

/**
 * Parses and validates a rules file written in JSON (RFC 8259): a list of rules, or an object
 * `{ "rules": [...] }`. A leading byte order mark is ignored. Syntax errors are located by
 * line and column the same way on every runtime (JS engines word and place their own JSON
 * errors differently); a key repeated within one object is refused too, since JSON.parse would
 * silently keep only the last one.
 *
 * @param text The content of the rules file.
 * @param file The name used in error messages, e.g. the file path.
 * @returns The rules in order, each one frozen.
 * @throws {RulesSyntaxError} If `text` is not valid JSON or repeats a key.
 * @throws {RulesError} If the JSON is not a valid rules file.
 *
 * @example
 * ```ts
 * import { parseRules } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const rules = parseRules('{ "rules": [ { "match": { "method": "OPTIONS" }, "respond": { "status": 200 } } ] }');
 * assert.deepEqual(rules[0].match.method, ["OPTIONS"]);
 * assert.throws(() => parseRules('{ "rules": [ ], }', "rules.json"), {
 *   name: "RulesSyntaxError",
 *   message: "rules.json:1:15: trailing commas are not allowed in JSON",
 * });
 * ```
 */
export function parseRules(text: string, file = "rules"): Rule[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  let engineError: unknown;
  try {
    value = JSON.parse(source);
  } catch (e) {
    engineError = e;
  }
  const problem = _scanJson(source);
  if (engineError !== undefined) {
    if (problem !== undefined) {
      throw new RulesSyntaxError(file, problem.message, _position(source, problem.offset));
    }
    // The engine refused what our scanner accepted: fall back on whatever the engine says.
    const message = engineError instanceof Error ? engineError.message : String(engineError);
    const offset = _engineOffset(message, source);
    throw new RulesSyntaxError(
      file,
      offset === undefined ? `invalid JSON (no position known): ${message}` : `invalid JSON: ${message}`,
      offset === undefined ? undefined : _position(source, offset),
    );
  }
  if (problem !== undefined && problem.kind !== "syntax") {
    throw new RulesSyntaxError(file, problem.message, _position(source, problem.offset));
  }
  return loadRules(value, file);
}

function _loadRule(ctx: _Context, path: string, raw: unknown, index: number): Rule {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _RULE_KEYS);
  _optionalString(ctx, path, raw, "comment");
  const name = _get(raw, "name");
  if (name !== undefined && (typeof name !== "string" || name === "")) {
    _fail(ctx, _key(path, "name"), `must be a non-empty string, got ${_describe(name)}`);
  }
  const match = _loadMatch(ctx, _key(path, "match"), _get(raw, "match"));
  const action = _loadAction(ctx, path, raw, 0, {});
  return { name: (name as string | undefined) ?? path, index, file: ctx.file, path, match, action };
}

function _loadAction(
  ctx: _Context,
  path: string,
  raw: _Object,
  depth: number,
  inherited: _Inherited,
): Action {
  const present = _ACTION_KEYS.filter((k) => _get(raw, k) !== undefined);
  if (present.length === 0) {
    _fail(ctx, path, 'needs an action: one of "respond", "silent", "default" or "choose"');
  }
  if (present.length > 1) {
    const names = present.map((k) => `"${k}"`).join(" and ");
    _fail(ctx, path, `has ${names}; give exactly one action`);
  }
  const kind = present[0];
  const modifiers = _loadModifiers(ctx, path, raw);
  const effective: _Inherited = modifiers.provisional !== undefined
    ? { provisional: modifiers.provisional, provisionalPath: _key(path, "provisional") }
    : inherited;
  switch (kind) {
    case "silent": {
      _expectTrue(ctx, _key(path, "silent"), _get(raw, "silent"));
      const given = _MODIFIER_KEYS.find((k) => _get(raw, k) !== undefined);
      if (given !== undefined) {
        _fail(ctx, _key(path, given), 'has no effect with "silent" (nothing is sent)');
      }
      return { kind: "silent" };
    }
    case "default":
      _expectTrue(ctx, _key(path, "default"), _get(raw, "default"));
      return { kind: "default", modifiers };
    case "respond": {
      const respondPath = _key(path, "respond");
      const response = _loadResponse(ctx, respondPath, _get(raw, "respond"), false);
      _checkTiming(ctx, effective, response, respondPath);
      return { kind: "respond", response, modifiers };
    }
    case "choose": {
      const choosePath = _key(path, "choose");
      const list = _get(raw, "choose");
      if (!Array.isArray(list) || list.length === 0) {
        _fail(ctx, choosePath, `must be a non-empty array of alternatives, got ${_describe(list)}`);
      }
      if (depth >= _MAX_DEPTH) _fail(ctx, choosePath, `nested deeper than ${_MAX_DEPTH} levels`);
      const alternatives = list.map((alt, i) => {
        const altPath = `${choosePath}[${i}]`;
        if (!_isObject(alt)) _fail(ctx, altPath, `must be an object, got ${_describe(alt)}`);
        _checkKeys(ctx, altPath, alt, _ALTERNATIVE_KEYS);
        _optionalString(ctx, altPath, alt, "comment");
        const weight = _get(alt, "weight");
        if (weight === undefined) _fail(ctx, altPath, 'missing key "weight"');
        if (typeof weight !== "number" || !Number.isFinite(weight) || weight <= 0) {
          _fail(ctx, _key(altPath, "weight"), `must be a positive number, got ${_describe(weight)}`);
        }
        return { weight, action: _loadAction(ctx, altPath, alt, depth + 1, effective) };
      });
      return { kind: "choose", alternatives, modifiers };
    }
  }
}

function _loadModifiers(ctx: _Context, path: string, raw: _Object): Modifiers {
  const modifiers: { -readonly [K in keyof Modifiers]: Modifiers[K] } = {};
  const provisional = _get(raw, "provisional");
  if (provisional !== undefined) {
    const p = _key(path, "provisional");
    if (!Array.isArray(provisional)) _fail(ctx, p, `must be an array, got ${_describe(provisional)}`);
    modifiers.provisional = provisional.map((item, i) => _loadResponse(ctx, `${p}[${i}]`, item, true));
  }
  const retransmit = _get(raw, "retransmit");
  if (retransmit !== undefined) {
    if (typeof retransmit !== "boolean") {
      _fail(ctx, _key(path, "retransmit"), `must be true or false, got ${_describe(retransmit)}`);
    }
    modifiers.retransmit = retransmit;
  }
  const duplicate = _get(raw, "duplicate");
  if (duplicate !== undefined) {
    if (!Number.isInteger(duplicate) || (duplicate as number) < 1 || (duplicate as number) > 10) {
      _fail(ctx, _key(path, "duplicate"), `must be an integer 1..10, got ${_describe(duplicate)}`);
    }
    modifiers.duplicate = duplicate as number;
  }
  return modifiers;
}

/** Refuses provisionals that could never be sent because the final response goes first. */
function _checkTiming(ctx: _Context, inherited: _Inherited, response: ResponseSpec, respondPath: string) {
  if (response.status < 200 || inherited.provisional === undefined) return;
  inherited.provisional.forEach((p, i) => {
    if (p.after > response.after) {
      _fail(
        ctx,
        `${inherited.provisionalPath}[${i}].after`,
        `${p.after} ms is later than the final response (${respondPath}.after: ${response.after} ms), ` +
          "so it would never be sent",
      );
    }
  });
}

function _loadResponse(ctx: _Context, path: string, raw: unknown, provisional: boolean): ResponseSpec {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _RESPONSE_KEYS);
  const status = _get(raw, "status");
  if (status === undefined) _fail(ctx, path, 'missing key "status"');
  const [low, high] = provisional ? [101, 199] : [100, 699];
  if (!Number.isInteger(status) || (status as number) < low || (status as number) > high) {
    _fail(ctx, _key(path, "status"), `must be an integer ${low}..${high}, got ${_describe(status)}`);
  }
  const response: { -readonly [K in keyof ResponseSpec]: ResponseSpec[K] } = {
    status: status as number,
    after: 0,
    headers: [],
  };
  const reason = _get(raw, "reason");
  if (reason !== undefined) {
    if (typeof reason !== "string" || _hasControl(reason)) {
      _fail(ctx, _key(path, "reason"), `must be a string without line breaks, got ${_describe(reason)}`);
    }
    response.reason = reason;
  }
  const after = _get(raw, "after");
  if (after !== undefined) {
    if (typeof after !== "number" || !Number.isFinite(after) || after < 0) {
      _fail(ctx, _key(path, "after"), `must be a number of milliseconds >= 0, got ${_describe(after)}`);
    }
    if (after > _MAX_AFTER) {
      _fail(ctx, _key(path, "after"), `must be at most ${_MAX_AFTER} ms (about 24.8 days), got ${after}`);
    }
    response.after = after;
  }
  const headers = _get(raw, "headers");
  if (headers !== undefined) response.headers = _loadHeaders(ctx, _key(path, "headers"), headers);
  const body = _get(raw, "body");
  if (body !== undefined) response.body = _loadBody(ctx, _key(path, "body"), body);
  return response;
}

function _loadHeaders(ctx: _Context, path: string, raw: unknown): [string, Template][] {
  let pairs: [name: unknown, value: unknown, namePath: string, valuePath: string][];
  if (Array.isArray(raw)) {
    pairs = raw.map((pair, i) => {
      const p = `${path}[${i}]`;
      if (!Array.isArray(pair) || pair.length !== 2) {
        _fail(ctx, p, `must be a [name, value] pair, got ${_describe(pair)}`);
      }
      return [pair[0], pair[1], `${p}[0]`, `${p}[1]`];
    });
  } else if (_isObject(raw)) {
    pairs = Object.keys(raw).map((name) => [name, raw[name], _key(path, name), _key(path, name)]);
  } else {
    _fail(ctx, path, `must be an object or an array of [name, value] pairs, got ${_describe(raw)}`);
  }
  return pairs.map(([name, value, namePath, valuePath]) => {
    if (typeof name !== "string" || !_TOKEN.test(name)) {
      _fail(ctx, namePath, `header name must be a token (RFC 3261 §25.1), got ${_describe(name)}`);
    }
    const reserved = _RESERVED_HEADERS[name.toLowerCase()];
    if (reserved !== undefined) _fail(ctx, namePath, `"${name}" ${reserved}`);
    if (typeof value !== "string" || _hasControl(value)) {
      _fail(ctx, valuePath, `must be a string without line breaks, got ${_describe(value)}`);
    }
    return [name, _template(ctx, valuePath, value)];
  });
}

function _loadBody(ctx: _Context, path: string, raw: unknown): BodySpec {
  if (raw === "sdp") return { kind: "sdp" };
  if (raw === "echo") return { kind: "echo" };
  if (typeof raw === "string") return { kind: "text", type: "text/plain", text: _template(ctx, path, raw) };
  if (!_isObject(raw)) {
    _fail(ctx, path, `must be "sdp", "echo", a string or { "type", "text" }, got ${_describe(raw)}`);
  }
  _checkKeys(ctx, path, raw, _BODY_KEYS);
  const type = _get(raw, "type") ?? "text/plain";
  if (typeof type !== "string" || !_MEDIA_TYPE.test(type) || _hasControl(type)) {
    _fail(ctx, _key(path, "type"), `must be a media type such as "text/plain", got ${_describe(type)}`);
  }
  const text = _get(raw, "text");
  if (text === undefined) _fail(ctx, path, 'missing key "text"');
  if (typeof text !== "string") _fail(ctx, _key(path, "text"), `must be a string, got ${_describe(text)}`);
  return { kind: "text", type, text: _template(ctx, _key(path, "text"), text) };
}

function _loadMatch(ctx: _Context, path: string, raw: unknown): Match {
  if (raw === undefined) return {};
  if (!_isObject(raw)) _fail(ctx, path, `must be an object, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _MATCH_KEYS);
  const match: { -readonly [K in keyof Match]: Match[K] } = {};

  const method = _get(raw, "method");
  if (method !== undefined) {
    match.method = _stringList(ctx, _key(path, "method"), method).map(([m, p]) => {
      if (!_TOKEN.test(m)) _fail(ctx, p, `must be a SIP method token (RFC 3261 §25.1), got ${_describe(m)}`);
      return m;
    });
  }
  const user = _get(raw, "user");
  if (user !== undefined) {
    match.user = _stringList(ctx, _key(path, "user"), user).map(([g]) => globToRegExp(g));
  }
  const host = _get(raw, "host");
  if (host !== undefined) {
    match.host = _stringList(ctx, _key(path, "host"), host).map(([g]) => globToRegExp(g, { ignoreCase: true }));
  }
  const headers = _get(raw, "headers");
  if (headers !== undefined) {
    const p = _key(path, "headers");
    if (!_isObject(headers)) _fail(ctx, p, `must be an object of header name to pattern, got ${_describe(headers)}`);
    match.headers = Object.keys(headers).map((name) => {
      const hp = _key(p, name);
      if (!_TOKEN.test(name)) _fail(ctx, hp, `header name must be a token (RFC 3261 §25.1)`);
      return { name, pattern: _regExp(ctx, hp, headers[name]) };
    });
  }
  const body = _get(raw, "body");
  if (body !== undefined) match.body = _regExp(ctx, _key(path, "body"), body);
  const source = _get(raw, "source");
  if (source !== undefined) {
    match.source = _stringList(ctx, _key(path, "source"), source).map(([text, p]) => {
      const cidr = _parseCidr(text);
      if (typeof cidr === "string") _fail(ctx, p, `not a valid CIDR ${JSON.stringify(text)}: ${cidr}`);
      return cidr;
    });
  }
  const transport = _get(raw, "transport");
  if (transport !== undefined) {
    match.transport = _stringList(ctx, _key(path, "transport"), transport).map(([t, p]) => {
      const lower = t.toLowerCase() as Transport;
      if (!_TRANSPORTS.includes(lower)) {
        _fail(ctx, p, `must be one of ${_TRANSPORTS.join(", ")}, got ${_describe(t)}`);
      }
      return lower;
    });
  }
  return match;
}

/** A string or a non-empty array of strings, as [value, path] pairs. */
function _stringList(ctx: _Context, path: string, raw: unknown): [string, string][] {
  if (typeof raw === "string") return [[raw, path]];
  if (!Array.isArray(raw)) _fail(ctx, path, `must be a string or an array of strings, got ${_describe(raw)}`);
  if (raw.length === 0) _fail(ctx, path, "must not be an empty array");
  return raw.map((item, i) => {
    if (typeof item !== "string") _fail(ctx, `${path}[${i}]`, `must be a string, got ${_describe(item)}`);
    return [item, `${path}[${i}]`];
  });
}

function _regExp(ctx: _Context, path: string, raw: unknown): RegExp {
  if (typeof raw !== "string") {
    _fail(ctx, path, `must be a regular expression in a string, got ${_describe(raw)}`);
  }
  try {
    return new RegExp(raw);
  } catch (e) {
    // V8 says "Invalid regular expression: /(/: Unterminated group", JavaScriptCore
    // "Invalid regular expression: missing )": keep only the detail.
    const detail = (e instanceof Error ? e.message : String(e))
      .replace(/^Invalid regular expression:\s*/i, "")
      .replace(/^\/.*\/[a-z]*:\s*/s, "");
    _fail(ctx, path, `not a valid regular expression ${JSON.stringify(raw)}: ${detail}`);
  }
}

function _template(ctx: _Context, path: string, text: string): Template {
  const template = _compileTemplate(text);
  if (typeof template === "string") _fail(ctx, path, template);
  return template;
}

function _expectTrue(ctx: _Context, path: string, value: unknown): void {
  if (value !== true) _fail(ctx, path, `must be true, got ${_describe(value)}`);
}

function _optionalString(ctx: _Context, path: string, raw: _Object, key: string): void {
  const value = _get(raw, key);
  if (value !== undefined && typeof value !== "string") {
    _fail(ctx, _key(path, key), `must be a string, got ${_describe(value)}`);
  }
}

function _checkKeys(ctx: _Context, path: string, raw: _Object, allowed: readonly string[]): void {
  for (const key of Object.keys(raw)) {
    if (allowed.includes(key)) continue;
    const guess = _closest(key, allowed);
    const hint = guess === undefined ? `expected one of: ${allowed.join(", ")}` : `did you mean "${guess}"?`;
    _fail(ctx, path, `unknown key ${JSON.stringify(key)} (${hint})`);
  }
}

/** The allowed key nearest to a misspelt one, if it is near enough to be a likely typo. */
function _closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = _editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours. */
function _editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        d[0].push(j);
        continue;
      }
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2][j - 2] + 1);
      d[i].push(best);
    }
  }
  return d[a.length][b.length];
}

function _fail(ctx: _Context, path: string, problem: string): never {
  throw new RulesError(ctx.file, path, problem);
}

function _isObject(value: unknown): value is _Object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An own property only, so that `constructor` and friends never count as given. */
function _get(raw: _Object, key: string): unknown {
  return Object.hasOwn(raw, key) ? raw[key] : undefined;
}

/** A JSON path step: `.key` for identifiers, `["key"]` otherwise. */
function _key(path: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** A value as it appears after "got" in an error message. */
function _describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** True if `text` has a control character other than HTAB (CR and LF would split a header). */
function _hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

function _deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !(value instanceof RegExp) && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) _deepFreeze((value as _Object)[key]);
    Object.freeze(value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// JSON syntax errors
// ---------------------------------------------------------------------------------------------

interface _JsonProblem {
  readonly kind: "syntax" | "duplicate" | "depth";
  readonly offset: number;
  readonly message: string;
}

class _JsonStop {
  constructor(readonly problem: _JsonProblem) {}
}

/**
 * Checks JSON text against the grammar of RFC 8259 and reports the first problem with its
 * offset, the same way on every runtime. Also reports a key repeated within one object.
 */
function _scanJson(text: string): _JsonProblem | undefined {
  let pos = 0;
  const stop = (message: string, at = pos, kind: _JsonProblem["kind"] = "syntax"): never => {
    throw new _JsonStop({ kind, offset: at, message });
  };
  const skipSpace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const tokenAt = (at: number): string => {
    const word = /[A-Za-z0-9_$.+-]+/y;
    word.lastIndex = at;
    const m = word.exec(text);
    return JSON.stringify(m ? m[0] : String.fromCodePoint(text.codePointAt(at)!));
  };
  const unexpected = (expected: string): never => {
    if (pos >= text.length) return stop(`unexpected end of input (expected ${expected})`);
    if (text.startsWith("//", pos) || text.startsWith("/*", pos)) return stop("comments are not allowed in JSON");
    if (text[pos] === "'") return stop("strings must be in double quotes in JSON");
    return stop(`unexpected token ${tokenAt(pos)} (expected ${expected})`);
  };
  const string = () => {
    const start = pos++;
    for (;;) {
      if (pos >= text.length) stop("unterminated string", start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        return;
      }
      if (c === 0x5c) {
        const e = text[pos + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) stop("invalid \\u escape in string");
          pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          pos += 2;
        } else {
          stop(`invalid escape ${JSON.stringify("\\" + (e ?? ""))} in string`);
        }
      } else if (c === 0x0a || c === 0x0d) {
        stop("unterminated string", start);
      } else if (c < 0x20) {
        const code = c.toString(16).toUpperCase().padStart(4, "0");
        stop(`control character U+${code} in string (write it as an escape)`);
      } else {
        pos++;
      }
    }
  };
  const number = () => {
    const start = pos;
    const grammar = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    grammar.lastIndex = pos;
    const m = grammar.exec(text);
    if (m === null || /[0-9A-Za-z_.+-]/.test(text[start + m[0].length] ?? "")) {
      return stop(`invalid number ${tokenAt(start)}`, start);
    }
    pos += m[0].length;
  };
  const value = (depth: number): void => {
    skipSpace();
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= _MAX_JSON_DEPTH) stop(`nested deeper than ${_MAX_JSON_DEPTH} levels`, pos, "depth");
      if (c === "{") object(depth + 1);
      else array(depth + 1);
    } else if (c === '"') {
      string();
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      number();
    } else if (text.startsWith("true", pos) || text.startsWith("false", pos) || text.startsWith("null", pos)) {
      const word = /[A-Za-z0-9_$]+/y;
      word.lastIndex = pos;
      const w = word.exec(text)![0];
      if (w !== "true" && w !== "false" && w !== "null") unexpected("a value");
      pos += w.length;
    } else {
      unexpected("a value");
    }
  };
  const object = (depth: number) => {
    pos++;
    skipSpace();
    if (text[pos] === "}") {
      pos++;
      return;
    }
    const keys = new Set<string>();
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') unexpected("a property name in double quotes");
      const keyStart = pos;
      string();
      const key = JSON.parse(text.slice(keyStart, pos)) as string;
      if (keys.has(key)) stop(`duplicate key ${JSON.stringify(key)}`, keyStart, "duplicate");
      keys.add(key);
      skipSpace();
      if (text[pos] !== ":") unexpected('":" after the property name');
      pos++;
      value(depth);
      skipSpace();
      if (text[pos] === "}") {
        pos++;
        return;
      }
      if (text[pos] !== ",") unexpected('"," or "}" after the property value');
      const comma = pos++;
      skipSpace();
      if (text[pos] === "}") stop("trailing commas are not allowed in JSON", comma);
    }
  };
  const array = (depth: number) => {
    pos++;
    skipSpace();
    if (text[pos] === "]") {
      pos++;
      return;
    }
    for (;;) {
      value(depth);
      skipSpace();
      if (text[pos] === "]") {
        pos++;
        return;
      }
      if (text[pos] !== ",") unexpected('"," or "]" after the array element');
      const comma = pos++;
      skipSpace();
      if (text[pos] === "]") stop("trailing commas are not allowed in JSON", comma);
    }
  };
  try {
    value(0);
    skipSpace();
    if (pos < text.length) {
      if (text.startsWith("//", pos) || text.startsWith("/*", pos)) stop("comments are not allowed in JSON");
      stop(`unexpected token ${tokenAt(pos)} after the end of the JSON value`);
    }
    return undefined;
  } catch (e) {
    if (e instanceof _JsonStop) return e.problem;
    throw e;
  }
}

/** Line and column (from 1) of an offset; a line ends at LF, CRLF or a lone CR. */
function _position(text: string, offset: number): { offset: number; line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

/** The offset an engine's JSON.parse error names, if it names one (V8 does, JavaScriptCore not). */
function _engineOffset(message: string, text: string): number | undefined {
  const at = /\bposition (\d+)/.exec(message);
  if (at !== null) return Math.min(Number(at[1]), text.length);
  const lineColumn = /\bline (\d+) column (\d+)/.exec(message);
  if (lineColumn === null) return undefined;
  let offset = 0;
  for (let line = 1; line < Number(lineColumn[1]); line++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return undefined;
    offset = next + 1;
  }
  return Math.min(offset + Number(lineColumn[2]) - 1, text.length);
}

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

/** Compiles a template, or returns the problem. */
function _compileTemplate(text: string): Template | string {
  const parts: (string | { variable: TemplateVariable })[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{{", i);
    if (open < 0) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, open);
    const close = text.indexOf("}}", open + 2);
    if (close < 0) return `unclosed "{{" at character ${open + 1}`;
    const name = text.slice(open + 2, close).trim();
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      const guess = _closest(name, TEMPLATE_VARIABLES);
      const hint = guess === undefined ? `known: ${TEMPLATE_VARIABLES.join(", ")}` : `did you mean "${guess}"?`;
      return `unknown template variable "{{${name}}}" (${hint})`;
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    parts.push({ variable: name as TemplateVariable });
    i = close + 2;
  }
  if (literal !== "") parts.push(literal);
  return { source: text, parts };
}

/**
 * Renders a template: each `{{name}}` (spaces inside the braces allowed) becomes `vars[name]`.
 * A variable missing from `vars` renders as the empty string; line breaks inside a value
 * become spaces, so that a value can never start a new header line. There is no escape for a
 * literal `{{`.
 *
 * @param template A compiled template (from a loaded rule) or template text.
 * @param vars A value for each of the {@linkcode TEMPLATE_VARIABLES}.
 * @returns The rendered text.
 * @throws {TypeError} If `template` is text that names an unknown variable or leaves `{{` open.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.equal(renderTemplate("<sip:echo@{{ ruri_host }}>", { ruri_host: "example.com" }), "<sip:echo@example.com>");
 * assert.throws(() => renderTemplate("{{nope}}", {}), TypeError);
 * ```
 */
export function renderTemplate(template: Template | string, vars: Readonly<Record<string, string>>): string {
  let compiled: Template;
  if (typeof template === "string") {
    const result = _compileTemplate(template);
    if (typeof result === "string") throw new TypeError(`Cannot compile template: ${result}`);
    compiled = result;
  } else {
    compiled = template;
  }
  let out = "";
  for (const part of compiled.parts) {
    if (typeof part === "string") {
      out += part;
    } else if (Object.hasOwn(vars, part.variable)) {
      out += String(vars[part.variable]).replace(/[\r\n]+/g, " ");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Globs
// ---------------------------------------------------------------------------------------------

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
 * import { globToRegExp } from "@sipecho/sipecho";
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

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

function _parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes.push(Number(part));
  }
  return bytes;
}

/** RFC 4291 §2.2 text forms: eight groups, one "::" for a run of zeros, a trailing IPv4. */
function _parseIpv6(text: string): number[] | undefined {
  const gap = text.indexOf("::");
  if (gap !== text.lastIndexOf("::")) return undefined;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const head = gap < 0 ? split(text) : split(text.slice(0, gap));
  const tail = gap < 0 ? [] : split(text.slice(gap + 2));
  const last = gap < 0 ? head : tail;
  if (last.length > 0 && last[last.length - 1].includes(".")) {
    const v4 = _parseIpv4(last.pop()!);
    if (v4 === undefined) return undefined;
    last.push(((v4[0] << 8) | v4[1]).toString(16), ((v4[2] << 8) | v4[3]).toString(16));
  }
  const groups = head.length + tail.length;
  if (gap < 0 ? groups !== 8 : groups > 7) return undefined;
  const words: number[] = [];
  for (const group of [...head, ...Array(8 - groups).fill("0"), ...tail]) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return undefined;
    words.push(parseInt(group, 16));
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** An address as family and bytes, with IPv4-mapped IPv6 (RFC 4291 §2.5.5.2) made IPv4. */
function _parseAddress(text: string): { family: 4 | 6; bytes: number[] } | undefined {
  if (!text.includes(":")) {
    const v4 = _parseIpv4(text);
    return v4 && { family: 4, bytes: v4 };
  }
  const v6 = _parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (_isMapped(v6)) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

function _isMapped(bytes: readonly number[]): boolean {
  return bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
}

/** Parses a CIDR block, or returns the problem. */
function _parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const v6 = addressText.includes(":");
  let bytes = v6 ? _parseIpv6(addressText) : _parseIpv4(addressText);
  if (bytes === undefined) return `not an ${v6 ? "IPv6" : "IPv4"} address`;
  const max = bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      return `prefix length must be an integer 0..${max}`;
    }
    prefix = Number(prefixText);
  }
  let family: 4 | 6 = v6 ? 6 : 4;
  if (family === 6 && prefix >= 96 && _isMapped(bytes)) {
    family = 4;
    bytes = bytes.slice(12);
    prefix -= 96;
  }
  return { family, bytes: bytes.map((b, i) => b & _maskByte(prefix, i)), prefix };
}

/** The mask for byte `i` of a prefix of length `prefix`. */
function _maskByte(prefix: number, i: number): number {
  const bits = Math.min(8, Math.max(0, prefix - i * 8));
  return (0xff << (8 - bits)) & 0xff;
}

/**
 * Parses a CIDR block (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6): `192.0.2.0/24`,
 * `2001:db8::/32`; a bare address means /32 or /128. Host bits are cleared
 * (`192.0.2.7/24` is `192.0.2.0/24`). IPv4-mapped blocks (`::ffff:192.0.2.0/120`) become
 * IPv4 blocks. IPv4 parts with leading zeros are refused.
 *
 * @param text The block.
 * @returns The block, normalised.
 * @throws {SyntaxError} If `text` is not a CIDR block.
 *
 * @example
 * ```ts
 * import { parseCidr } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseCidr("2001:db8::1").prefix, 128);
 * assert.deepEqual(parseCidr("::ffff:10.1.2.3/104"), { family: 4, bytes: [10, 0, 0, 0], prefix: 8 });
 * assert.throws(() => parseCidr("10.0.0.0/33"), SyntaxError);
 * ```
 */
export function parseCidr(text: string): Cidr {
  const cidr = _parseCidr(text);
  if (typeof cidr === "string") throw new SyntaxError(`Cannot parse CIDR ${JSON.stringify(text)}: ${cidr}`);
  return cidr;
}

/**
 * Tells whether an address lies in a CIDR block. The address may be IPv4 or IPv6, with or
 * without brackets and zone (`fe80::1%eth0`); an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`,
 * as dual-stack sockets report IPv4 peers) is compared as IPv4. An address that cannot be
 * parsed lies in no block.
 *
 * @param cidr A block from {@linkcode parseCidr}, or its text.
 * @param address The address to test.
 * @returns `true` if the address lies in the block.
 * @throws {SyntaxError} If `cidr` is text that is not a CIDR block.
 *
 * @example
 * ```ts
 * import { cidrContains } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.ok(cidrContains("192.0.2.0/24", "192.0.2.200"));
 * assert.ok(cidrContains("192.0.2.0/24", "::ffff:192.0.2.1"));
 * assert.ok(!cidrContains("2001:db8::/32", "2001:db9::1"));
 * ```
 */
export function cidrContains(cidr: Cidr | string, address: string): boolean {
  const block = typeof cidr === "string" ? parseCidr(cidr) : cidr;
  const parsed = _parseSource(address);
  return parsed !== undefined && _contains(block, parsed);
}

function _parseSource(address: string): { family: 4 | 6; bytes: number[] } | undefined {
  let text = address;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0 && text.includes(":")) text = text.slice(0, zone);
  return _parseAddress(text);
}

function _contains(block: Cidr, address: { family: 4 | 6; bytes: readonly number[] }): boolean {
  if (block.family !== address.family) return false;
  for (let i = 0; i * 8 < block.prefix; i++) {
    if ((address.bytes[i] & _maskByte(block.prefix, i)) !== block.bytes[i]) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Matching and choosing
// ---------------------------------------------------------------------------------------------

/**
 * Tells whether a request meets every condition of a rule's `match`.
 *
 * @param rule The rule.
 * @param input The request.
 * @returns `true` if all conditions hold (a rule without conditions matches every request).
 *
 * @example
 * ```ts
 * import { loadRules, matchRule, type RuleInput } from "@sipecho/sipecho";
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
 * import { findRule, loadRules, type RuleInput } from "@sipecho/sipecho";
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

/**
 * Follows `choose` down to a concrete action. At each `choose`, one alternative is picked
 * with probability weight / total weight, from one call of `random`. Modifiers are merged
 * from the outside in (an inner one replaces an outer one) and defaulted.
 *
 * @param action The action of a rule.
 * @param random Returns numbers in [0, 1), e.g. from {@linkcode createRandom} or `Math.random`.
 * @returns The concrete action.
 * @throws {RangeError} If `random` returns a number outside [0, 1).
 *
 * @example
 * ```ts
 * import { createRandom, loadRules, resolveAction } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{
 *   duplicate: 2,
 *   choose: [
 *     { weight: 1, respond: { status: 503 }, retransmit: false },
 *     { weight: 1, default: true, duplicate: 3 },
 *   ],
 * }]);
 * assert.deepEqual(resolveAction(rule.action, () => 0.25), {
 *   kind: "respond", response: { status: 503, after: 0, headers: [] },
 *   provisional: [], retransmit: false, duplicate: 2,
 * });
 * assert.deepEqual(resolveAction(rule.action, () => 0.75),
 *   { kind: "default", provisional: [], retransmit: true, duplicate: 3 });
 * ```
 */
export function resolveAction(action: Action, random: () => number): ResolvedAction {
  let provisional: readonly ProvisionalSpec[] = [];
  let retransmit = true;
  let duplicate = 1;
  let current = action;
  for (;;) {
    if (current.kind === "silent") return { kind: "silent" };
    const m = current.modifiers;
    if (m.provisional !== undefined) provisional = m.provisional;
    if (m.retransmit !== undefined) retransmit = m.retransmit;
    if (m.duplicate !== undefined) duplicate = m.duplicate;
    if (current.kind !== "choose") break;
    current = _pick(current.alternatives, random);
  }
  const sorted = [...provisional].sort((a, b) => a.after - b.after);
  return current.kind === "respond"
    ? { kind: "respond", response: current.response, provisional: sorted, retransmit, duplicate }
    : { kind: "default", provisional: sorted, retransmit, duplicate };
}

function _pick(alternatives: readonly { weight: number; action: Action }[], random: () => number): Action {
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${r}`);
  let total = 0;
  for (const alt of alternatives) total += alt.weight;
  let x = r * total;
  for (const alt of alternatives) {
    if (x < alt.weight) return alt.action;
    x -= alt.weight;
  }
  // Rounding can leave x just above the last weight.
  return alternatives[alternatives.length - 1].action;
}

/**
 * Creates a deterministic pseudo-random generator (mulberry32: a 32-bit state advanced by a
 * Weyl sequence, then mixed), for reproducible fault injection. Not for cryptography.
 *
 * @param seed Any finite number; it is reduced to 32 bits (`seed >>> 0` of its integer part).
 * @returns A function returning numbers in [0, 1), the same sequence for the same seed.
 * @throws {RangeError} If `seed` is not finite.
 *
 * @example
 * ```ts
 * import { createRandom } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const a = createRandom(42);
 * const b = createRandom(42);
 * const x = a();
 * assert.ok(x >= 0 && x < 1);
 * assert.equal(b(), x);
 * ```
 */
export function createRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = Math.imul(state ^ (state >>> 15), state | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 0x100000000;
  };
}

// ---------------------------------------------------------------------------------------------
// Built-in rules
// ---------------------------------------------------------------------------------------------

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
