/**
 * The media flows of a rule: what DTMF keys do in the call (`dtmf`), and the announcement a
 * call plays instead of the echo (`play`). Their types, and their loading from a rules file.
 *
 * @module
 */

import { _checkKeys, type _Context, _describe, _fail, _get, _hasControl, _isObject, _key } from "./validate.ts";

/**
 * What a DTMF key does in a call answered by the rule: `hangup`, the peer ends the call with a
 * BYE (RFC 3261 §15.1.1). Keys `0`-`9`, `*`, `#`, `A`-`D` (stored upper case).
 *
 * @example
 * ```ts
 * import { type DtmfActions, loadRules, resolveAction } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ default: true, dtmf: { "#": "hangup" } }]);
 * const action = resolveAction(rule.action, Math.random);
 * assert.ok(action.kind === "default");
 * const dtmf: DtmfActions | undefined = action.dtmf;
 * assert.deepEqual(dtmf, { "#": "hangup" });
 * ```
 */
export type DtmfActions = Readonly<Record<string, "hangup">>;

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

/** The keys a `dtmf` object may name: the DTMF events 0-15 (RFC 4733 §3.2). */
const _DTMF_KEY = /^[0-9*#A-Da-d]$/;
const _DTMF_ACTIONS = ["hangup"];
const _PLAY_KEYS = ["file", "then"];

/**
 * Loads the `dtmf` modifier: `{ "<key>": "hangup", ... }`.
 *
 * @param ctx The file being loaded.
 * @param path The JSON path of the value.
 * @param raw The value.
 * @returns The actions, keys upper case.
 * @throws {RulesError} If it is not an object of keys and `"hangup"`.
 */
export function _loadDtmf(ctx: _Context, path: string, raw: unknown): DtmfActions {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object of DTMF keys and actions, got ${_describe(raw)}`);
  const out: Record<string, "hangup"> = {};
  for (const key of Object.keys(raw)) {
    if (!_DTMF_KEY.test(key)) _fail(ctx, _key(path, key), "is not a DTMF key: one of 0-9, *, #, A-D");
    const value = _get(raw, key);
    if (!_DTMF_ACTIONS.includes(value as string)) {
      _fail(ctx, _key(path, key), `must be "hangup", got ${_describe(value)}`);
    }
    out[key.toUpperCase()] = "hangup";
  }
  return out;
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
