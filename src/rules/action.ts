/**
 * Carrying out a rule: following `choose` to a concrete action with merged modifiers, and the
 * seeded random numbers that make fault injection reproducible.
 *
 * @module
 */

import type { DtmfActions, PlaySpec } from "./media_flows.ts";
import type { ReferMode, TransferSpec } from "./call_flows.ts";
import type { Action, ProvisionalSpec, Reliable, ResolvedAction, SessionTimerSpec } from "./types.ts";
import type { AuthSpec } from "./auth_spec.ts";

/**
 * Follows `choose` down to a concrete action. At each `choose`, one alternative is picked
 * with probability weight / total weight, from one call of `random`. Modifiers are merged
 * from the outside in (an inner one replaces an outer one) and defaulted.
 *
 * @param action The action of a rule.
 * @param random Returns numbers in [0, 1), e.g. `Math.random`.
 * @returns The concrete action.
 * @throws {RangeError} If `random` returns a number outside [0, 1).
 *
 * @example
 * ```ts
 * import { loadRules, resolveAction } from "@sipecho/sipecho/rules";
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
  let reliable: Reliable | undefined;
  let timer: SessionTimerSpec | undefined;
  let auth: AuthSpec | false | undefined;
  let dtmf: DtmfActions | undefined;
  let play: PlaySpec | undefined;
  let refer: ReferMode | undefined;
  let transfer: TransferSpec | undefined;
  let current = action;
  for (;;) {
    if (current.kind === "silent") return { kind: "silent" };
    const m = current.modifiers;
    if (m.provisional !== undefined) provisional = m.provisional;
    if (m.retransmit !== undefined) retransmit = m.retransmit;
    if (m.duplicate !== undefined) duplicate = m.duplicate;
    if (m.reliable !== undefined) reliable = m.reliable;
    if (m.timer !== undefined) timer = m.timer;
    if (m.auth !== undefined) auth = m.auth;
    if (m.dtmf !== undefined) dtmf = m.dtmf;
    if (m.play !== undefined) play = m.play;
    if (m.refer !== undefined) refer = m.refer;
    if (m.transfer !== undefined) transfer = m.transfer;
    if (current.kind !== "choose") break;
    current = _pick(current.alternatives, random);
  }
  const sorted = [...provisional].sort((a, b) => a.after - b.after);
  // `reliable`, `timer` and `auth` appear only when given, so that a plain action stays as it was.
  const extensions = {
    ...(reliable === undefined ? {} : { reliable }),
    ...(timer === undefined ? {} : { timer }),
    ...(auth === undefined ? {} : { auth }),
    ...(dtmf === undefined ? {} : { dtmf }),
    ...(play === undefined ? {} : { play }),
    ...(refer === undefined ? {} : { refer }),
    ...(transfer === undefined ? {} : { transfer }),
  };
  return current.kind === "respond"
    ? { kind: "respond", response: current.response, provisional: sorted, retransmit, duplicate, ...extensions }
    : { kind: "default", provisional: sorted, retransmit, duplicate, ...extensions };
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
 * import { createRandom } from "./action.ts";
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
