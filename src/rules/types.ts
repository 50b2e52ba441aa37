/**
 * The shapes of the rule engine: the request as a rule sees it ({@linkcode RuleInput}), a
 * loaded {@linkcode Rule} with its {@linkcode Match} and {@linkcode Action}, and the
 * {@linkcode ResolvedAction} a caller carries out.
 *
 * @module
 */

import type { Transport } from "../sip/transport.ts";
import type { Cidr } from "./cidr.ts";
import type { Template } from "./template.ts";
import type { AuthSpec } from "./auth_spec.ts";
import type { DtmfActions, PlaySpec } from "./media_flows.ts";
import type { ReferMode, TransferSpec } from "./call_flows.ts";

/**
 * What a rule matches against: a view of one SIP request, filled in by the SIP layer.
 *
 * @example A request as the rule engine sees it
 * ```ts
 * import type { RuleInput } from "@sipecho/sipecho/rules";
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
 * The body of a response:
 * - `sdp`: the SDP answer to the offer in the request (RFC 3264), built by the responder;
 * - `echo`: the request body with its Content-Type;
 * - `text`: a template rendered with the request's values, sent with Content-Type `type`.
 *
 * @example
 * ```ts
 * import type { BodySpec } from "@sipecho/sipecho/rules";
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
 * import { loadRules } from "@sipecho/sipecho";
 * import { type ResponseSpec } from "@sipecho/sipecho/rules";
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
 * import { loadRules, type ProvisionalSpec, resolveAction } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ provisional: [{ status: 180, after: 0 }], respond: { status: 200, after: 1000 } }]);
 * const action = resolveAction(rule.action, Math.random);
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
 * import type { Modifiers } from "@sipecho/sipecho/rules";
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
  /** Whether the 18x responses to an INVITE are sent reliably (RFC 3262); see {@linkcode Reliable}. */
  readonly reliable?: Reliable;
  /** Session timers (RFC 4028) for the INVITE or UPDATE answered 2xx; see {@linkcode SessionTimerSpec}. */
  readonly timer?: SessionTimerSpec;
  /**
   * Digest authentication first (RFC 3261 §22): `{}` (`true` in a file) with the global
   * settings, an `AuthSpec` replacing some of them, `false` for none even where they ask.
   */
  readonly auth?: AuthSpec | false;
  /** What DTMF keys do in the call (media flows); see {@linkcode DtmfActions}. */
  readonly dtmf?: DtmfActions;
  /** What a REFER taken does: call the Refer-To target, or only notify; see {@linkcode ReferMode}. */
  readonly refer?: ReferMode;
  /** The call answered is transferred away by a REFER of sipecho's; see {@linkcode TransferSpec}. */
  readonly transfer?: TransferSpec;
  /** The announcement played instead of the echo (set by the `play` action); see {@linkcode PlaySpec}. */
  readonly play?: PlaySpec;
}

/**
 * When the provisional responses (101..199) to an INVITE are sent reliably (RFC 3262):
 * - `supported` (the default): when the INVITE has `100rel` in Supported or Require;
 * - `require`: always; an INVITE without `100rel` in Supported or Require is answered
 *   421 Extension Required with `Require: 100rel` (RFC 3261 §21.4.15);
 * - `never`: never; an INVITE with `Require: 100rel` is answered 420 Bad Extension with
 *   `Unsupported: 100rel` (RFC 3261 §8.2.2.3).
 *
 * @example
 * ```ts
 * import { loadRules, type Reliable, resolveAction } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ reliable: "require", respond: { status: 200, body: "sdp" } }]);
 * const action = resolveAction(rule.action, Math.random);
 * assert.ok(action.kind === "respond");
 * const reliable: Reliable | undefined = action.reliable;
 * assert.equal(reliable, "require");
 * ```
 */
export type Reliable = "require" | "supported" | "never";

/**
 * Session timers (RFC 4028) of a rule: who refreshes when the caller leaves it open, and the
 * interval sipecho asks for when the request names none.
 *
 * @example
 * ```ts
 * import { loadRules, resolveAction, type SessionTimerSpec } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ timer: { refresher: "uas", expires: 90 }, respond: { status: 200, body: "sdp" } }]);
 * const action = resolveAction(rule.action, Math.random);
 * assert.ok(action.kind === "respond");
 * const timer: SessionTimerSpec | undefined = action.timer;
 * assert.deepEqual(timer, { refresher: "uas", expires: 90 });
 * ```
 */
export interface SessionTimerSpec {
  /**
   * Who refreshes when the request leaves it open (RFC 4028 §9): `uac` (the caller, when it
   * supports `timer`) or `uas` (sipecho, with UPDATE or re-INVITE: `method`). Absent: `uac`.
   */
  readonly refresher?: "uac" | "uas";
  /**
   * The Session-Expires sipecho asks for, seconds, when the request has none (RFC 4028 §9
   * lets the UAS add one); absent: a request without Session-Expires gets no session timer.
   */
  readonly expires?: number;
  /**
   * How sipecho refreshes when it is the refresher (RFC 4028 §7.4, §10): `UPDATE` (the
   * default: without SDP) or `INVITE` (a re-INVITE carrying sipecho's last SDP unchanged, same
   * `o=` version, RFC 3264 §8).
   */
  readonly method?: "UPDATE" | "INVITE";
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
 * import { loadRules } from "@sipecho/sipecho";
 * import { type Action } from "@sipecho/sipecho/rules";
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
 * defaulted (`provisional` sorted by `after`, `retransmit` true, `duplicate` 1; `reliable`,
 * `timer` and `auth` only when given).
 *
 * @example
 * ```ts
 * import { loadRules } from "@sipecho/sipecho";
 * import { resolveAction, type ResolvedAction } from "@sipecho/sipecho/rules";
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
    readonly reliable?: Reliable;
    readonly timer?: SessionTimerSpec;
    readonly auth?: AuthSpec | false;
    readonly dtmf?: DtmfActions;
    readonly play?: PlaySpec;
    readonly refer?: ReferMode;
    readonly transfer?: TransferSpec;
  }
  | {
    readonly kind: "default";
    readonly provisional: readonly ProvisionalSpec[];
    readonly retransmit: boolean;
    readonly duplicate: number;
    readonly reliable?: Reliable;
    readonly timer?: SessionTimerSpec;
    readonly auth?: AuthSpec | false;
    readonly dtmf?: DtmfActions;
    readonly play?: PlaySpec;
    readonly refer?: ReferMode;
    readonly transfer?: TransferSpec;
  }
  | { readonly kind: "silent" };

/**
 * The conditions of a rule, compiled. Every condition given must hold; an absent one holds
 * for every request. Lists mean "any of".
 *
 * @example
 * ```ts
 * import { loadRules } from "@sipecho/sipecho";
 * import { type Match } from "@sipecho/sipecho/rules";
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
