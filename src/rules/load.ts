/**
 * Loading rules: {@linkcode parseRules} reads a rules file (JSON text), {@linkcode loadRules}
 * validates parsed rules into frozen, normalised {@linkcode Rule}s. A problem is reported with
 * the file and its JSON path, so that a typo never passes silently.
 *
 * A rules file is a list of rules, first match wins. Each rule has an optional `match`
 * (conditions on the request), exactly one action (`respond`, `silent`, `default` or `choose`)
 * and optional modifiers (`provisional`, `retransmit`, `duplicate`, `reliable`, `timer`, `auth`).
 * An object file may have a top-level `auth` (the global digest settings, see auth_spec.ts).
 *
 * @module
 */

import { _parseJson } from "./json.ts";
import { _loadAuthConfig, _loadAuthModifier } from "./auth_spec.ts";
import { _loadMatch } from "./load_match.ts";
import { _loadResponse } from "./load_response.ts";
import { _loadDtmf, _loadPlay } from "./media_flows.ts";
import { _loadRefer, _loadTransfer } from "./call_flows.ts";
import type { Action, Modifiers, ProvisionalSpec, ResponseSpec, Rule, SessionTimerSpec } from "./types.ts";
import {
  _checkKeys,
  type _Context,
  _describe,
  _expectTrue,
  _fail,
  _get,
  _isObject,
  _key,
  type _Object,
  _optionalString,
} from "./validate.ts";

const _ACTION_KEYS = ["respond", "silent", "default", "choose", "play"] as const;

const _MODIFIER_KEYS = [
  "provisional",
  "retransmit",
  "duplicate",
  "reliable",
  "timer",
  "auth",
  "dtmf",
  "refer",
  "transfer",
] as const;

const _RELIABLE = ["require", "supported", "never"] as const;

const _TIMER_KEYS = ["refresher", "expires", "method"];

/** RFC 4028 §4: a Session-Expires is never under 90 s; sipecho takes at most 7200 s (its own limit). */
const _MIN_EXPIRES = 90;
const _MAX_EXPIRES = 7200;

const _RULE_KEYS = ["name", "comment", "match", ..._ACTION_KEYS, ..._MODIFIER_KEYS];

const _ALTERNATIVE_KEYS = ["weight", "comment", ..._ACTION_KEYS, ..._MODIFIER_KEYS];

/** How deep `choose` may nest, so that cycles and abuse end. */
const _MAX_DEPTH = 32;

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
    _checkKeys(ctx, "", value, ["rules", "comment", "auth"]);
    _optionalString(ctx, "", value, "comment");
    // The global digest settings are read by loadAuthConfig(); checked here all the same.
    const auth = _get(value, "auth");
    if (auth !== undefined) _loadAuthConfig(ctx, "auth", auth);
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
  return loadRules(_parseJson(text, file), file);
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
    _fail(ctx, path, 'needs an action: one of "respond", "silent", "default", "choose" or "play"');
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
    case "play":
      // An announcement answers as the built-in answer does; the media flows play the file.
      return {
        kind: "default",
        modifiers: { ...modifiers, play: _loadPlay(ctx, _key(path, "play"), _get(raw, "play")) },
      };
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
  const reliable = _get(raw, "reliable");
  if (reliable !== undefined) {
    if (!_RELIABLE.includes(reliable as typeof _RELIABLE[number])) {
      _fail(ctx, _key(path, "reliable"), `must be "require", "supported" or "never", got ${_describe(reliable)}`);
    }
    modifiers.reliable = reliable as typeof _RELIABLE[number];
  }
  const timer = _get(raw, "timer");
  if (timer !== undefined) modifiers.timer = _loadTimer(ctx, _key(path, "timer"), timer);
  const auth = _get(raw, "auth");
  if (auth !== undefined) modifiers.auth = _loadAuthModifier(ctx, _key(path, "auth"), auth);
  const dtmf = _get(raw, "dtmf");
  if (dtmf !== undefined) modifiers.dtmf = _loadDtmf(ctx, _key(path, "dtmf"), dtmf);
  const refer = _get(raw, "refer");
  if (refer !== undefined) modifiers.refer = _loadRefer(ctx, _key(path, "refer"), refer);
  const transfer = _get(raw, "transfer");
  if (transfer !== undefined) modifiers.transfer = _loadTransfer(ctx, _key(path, "transfer"), transfer);
  return modifiers;
}

/** The `timer` modifier: `{ "refresher"?: "uac" | "uas", "expires"?: 90..7200, "method"?: "UPDATE" | "INVITE" }`. */
function _loadTimer(ctx: _Context, path: string, raw: unknown): SessionTimerSpec {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _TIMER_KEYS);
  const timer: { -readonly [K in keyof SessionTimerSpec]: SessionTimerSpec[K] } = {};
  const refresher = _get(raw, "refresher");
  if (refresher !== undefined) {
    if (refresher !== "uac" && refresher !== "uas") {
      _fail(ctx, _key(path, "refresher"), `must be "uac" or "uas", got ${_describe(refresher)}`);
    }
    timer.refresher = refresher;
  }
  const expires = _get(raw, "expires");
  if (expires !== undefined) {
    if (!Number.isInteger(expires) || (expires as number) < _MIN_EXPIRES || (expires as number) > _MAX_EXPIRES) {
      _fail(
        ctx,
        _key(path, "expires"),
        `must be an integer ${_MIN_EXPIRES}..${_MAX_EXPIRES} (seconds), got ${_describe(expires)}`,
      );
    }
    timer.expires = expires as number;
  }
  const method = _get(raw, "method");
  if (method !== undefined) {
    if (method !== "UPDATE" && method !== "INVITE") {
      _fail(ctx, _key(path, "method"), `must be "UPDATE" or "INVITE", got ${_describe(method)}`);
    }
    timer.method = method;
  }
  return timer;
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

/** Freezes a loaded rule and everything in it, RegExps aside (a frozen RegExp has a read-only `lastIndex`). */
function _deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !(value instanceof RegExp) && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) _deepFreeze((value as _Object)[key]);
    Object.freeze(value);
  }
  return value;
}
