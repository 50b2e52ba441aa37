/**
 * The media flows of a rule: what DTMF keys and key sequences do in the call (`dtmf`), and the
 * announcement a call plays instead of the echo (`play`). Their types, and their loading from a rules file.
 *
 * @module
 */

import { _checkKeys, type _Context, _describe, _fail, _get, _hasControl, _isObject, _key } from "./validate.ts";

/**
 * What a DTMF key, or a sequence of keys, does in a call answered by the rule: `hangup`, the
 * peer ends the call with a BYE (RFC 3261 §15.1.1); `echo`, an announcement in progress stops
 * and the echo resumes; `{ play }`, an announcement in progress stops and this one starts.
 *
 * @example
 * ```ts
 * import type { DtmfAction } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const actions: DtmfAction[] = ["hangup", "echo", { play: { file: "menu.wav", then: "echo" } }];
 * assert.equal(actions.length, 3);
 * ```
 */
export type DtmfAction = "hangup" | "echo" | { readonly play: PlaySpec };

/**
 * What DTMF keys do in a call answered by the rule, by key or sequence of keys: `0`-`9`, `*`,
 * `#`, `A`-`D` (stored upper case), 1 to {@linkcode MAX_DTMF_SEQUENCE} of them. A sequence
 * fires when the keys received in the call end with it.
 *
 * @example
 * ```ts
 * import { type DtmfActions, loadRules, resolveAction } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ default: true, dtmf: { "#": "hangup", "1": { play: "menu.wav" } } }]);
 * const action = resolveAction(rule.action, Math.random);
 * assert.ok(action.kind === "default");
 * const dtmf: DtmfActions | undefined = action.dtmf;
 * assert.deepEqual(dtmf, { "#": "hangup", "1": { play: { file: "menu.wav", then: "hangup" } } });
 * ```
 */
export type DtmfActions = Readonly<Record<string, DtmfAction>>;

/**
 * The longest key sequence a rule's `dtmf` may name, and the number of keys a call keeps to
 * match sequences against (the last ones received).
 *
 * @example
 * ```ts
 * import { MAX_DTMF_SEQUENCE } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_DTMF_SEQUENCE, 32);
 * ```
 */
export const MAX_DTMF_SEQUENCE = 32;

/**
 * An announcement: the call is answered like the built-in INVITE answer, then the WAV file is
 * played to the caller instead of the echo; `then`: after it, the peer hangs up (BYE, the
 * default) or echoes.
 *
 * @example
 * ```ts
 * import { loadRules, type PlaySpec, resolveAction } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ match: { user: "hello" }, play: { file: "hello.wav", then: "echo" } }]);
 * const action = resolveAction(rule.action, Math.random);
 * assert.ok(action.kind === "default");
 * const play: PlaySpec | undefined = action.play;
 * assert.deepEqual(play, { file: "hello.wav", then: "echo" });
 * ```
 */
export interface PlaySpec {
  /** The WAV file: a path, relative to the working directory. */
  readonly file: string;
  /** What follows the announcement: `hangup` (a BYE) or `echo`. */
  readonly then: "hangup" | "echo";
}

/**
 * The media flows of the rule that answered a call, as the peer gives them to its `rtpPort`
 * hook with the call's ports.
 *
 * @example
 * ```ts
 * import type { MediaFlows } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const flows: MediaFlows = { dtmf: { "#": "hangup" }, play: { file: "hello.wav", then: "echo" } };
 * assert.equal(flows.play?.then, "echo");
 * ```
 */
export interface MediaFlows {
  /** What DTMF keys do. */
  readonly dtmf?: DtmfActions;
  /** The announcement. */
  readonly play?: PlaySpec;
}

/** The keys a `dtmf` object may name: sequences of the DTMF events 0-15 (RFC 4733 §3.2). */
const _DTMF_KEYS = /^[0-9*#A-Da-d]+$/;
const _DTMF_ACTION_KEYS = ["play"];
const _PLAY_KEYS = ["file", "then"];

/**
 * Loads the `dtmf` modifier: `{ "<keys>": "hangup" | "echo" | { "play": ... }, ... }`.
 *
 * @param ctx The file being loaded.
 * @param path The JSON path of the value.
 * @param raw The value.
 * @returns The actions, keys upper case.
 * @throws {RulesError} If it is not an object of key sequences and actions.
 */
export function _loadDtmf(ctx: _Context, path: string, raw: unknown): DtmfActions {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object of DTMF keys and actions, got ${_describe(raw)}`);
  const out: Record<string, DtmfAction> = {};
  for (const key of Object.keys(raw)) {
    const at = _key(path, key);
    if (!_DTMF_KEYS.test(key)) _fail(ctx, at, "is not a DTMF key or sequence: keys 0-9, *, #, A-D");
    if (key.length > MAX_DTMF_SEQUENCE) {
      _fail(ctx, at, `is ${key.length} keys long, at most ${MAX_DTMF_SEQUENCE}`);
    }
    const upper = key.toUpperCase();
    if (Object.hasOwn(out, upper)) _fail(ctx, at, `names the keys ${upper} twice (keys are not case sensitive)`);
    out[upper] = _loadDtmfAction(ctx, at, _get(raw, key));
  }
  return out;
}

/** Loads one DTMF action: `"hangup"`, `"echo"` or `{ "play": <play> }`. */
function _loadDtmfAction(ctx: _Context, path: string, raw: unknown): DtmfAction {
  if (raw === "hangup" || raw === "echo") return raw;
  if (!_isObject(raw)) _fail(ctx, path, `must be "hangup", "echo" or { "play": ... }, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _DTMF_ACTION_KEYS);
  const play = _get(raw, "play");
  if (play === undefined) _fail(ctx, path, 'must be "hangup", "echo" or { "play": ... }, got an empty object');
  return { play: _loadPlay(ctx, _key(path, "play"), play) };
}

/**
 * The keys a call keeps after `digit` arrives: the last {@linkcode MAX_DTMF_SEQUENCE}.
 *
 * @param keys The keys kept so far.
 * @param digit The key received.
 * @returns The keys kept now.
 */
export function _pushDtmf(keys: string, digit: string): string {
  const next = keys + digit;
  return next.length > MAX_DTMF_SEQUENCE ? next.slice(next.length - MAX_DTMF_SEQUENCE) : next;
}

/**
 * The sequence of `actions` that the keys received end with; the longest when several do (`99#`
 * before `#`).
 *
 * @param actions The rule's `dtmf`.
 * @param keys The keys received, oldest first.
 * @returns The sequence, or `undefined`.
 */
export function _matchDtmf(actions: DtmfActions, keys: string): string | undefined {
  let found: string | undefined;
  for (const sequence of Object.keys(actions)) {
    if (keys.endsWith(sequence) && (found === undefined || sequence.length > found.length)) found = sequence;
  }
  return found;
}

/**
 * Loads the `play` action: `"file.wav"` or `{ "file": "file.wav", "then": "hangup" | "echo" }`.
 *
 * @param ctx The file being loaded.
 * @param path The JSON path of the value.
 * @param raw The value.
 * @returns The announcement, `then` defaulted to `hangup`.
 * @throws {RulesError} If it is neither form.
 */
export function _loadPlay(ctx: _Context, path: string, raw: unknown): PlaySpec {
  if (typeof raw === "string") raw = { file: raw };
  if (!_isObject(raw)) _fail(ctx, path, `must be a file name or { "file", "then" }, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _PLAY_KEYS);
  const file = _get(raw, "file");
  if (typeof file !== "string" || file === "" || _hasControl(file)) {
    _fail(ctx, _key(path, "file"), `must be a non-empty file name, got ${_describe(file)}`);
  }
  const then = _get(raw, "then") ?? "hangup";
  if (then !== "hangup" && then !== "echo") {
    _fail(ctx, _key(path, "then"), `must be "hangup" or "echo", got ${_describe(then)}`);
  }
  return { file, then };
}
