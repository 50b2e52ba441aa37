/**
 * The header fields of the two SIP extensions the peer runs as a UAS: RAck of reliable
 * provisional responses (RFC 3262 §7.2), Session-Expires and Min-SE of session timers
 * (RFC 4028 §4, §5), and the session interval the peer agrees to for an INVITE or UPDATE
 * (RFC 4028 §9). Pure functions, no state.
 *
 * @module
 */

import { HeaderError, parseDeltaSeconds } from "../sip/header_values.ts";
import type { SipRequest } from "../sip/message.ts";
import type { SessionTimerSpec } from "../rules/rules.ts";

/**
 * The session-timer limits of a peer, seconds: `minSE`, the shortest Session-Expires it takes
 * (a shorter one is answered 422 with `Min-SE`, RFC 4028 §9; never under 90, §4), and `maxSE`,
 * the longest (a longer one is lowered to it in the 2xx, as §9 lets a UAS do).
 *
 * @example
 * ```ts
 * import { DEFAULT_SESSION_TIMER, type SessionTimerLimits } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * const limits: SessionTimerLimits = { ...DEFAULT_SESSION_TIMER, minSE: 300 };
 * assert.deepEqual(limits, { minSE: 300, maxSE: 7200 });
 * ```
 */
export interface SessionTimerLimits {
  /** The shortest session interval taken, seconds (default 90; at least 90, RFC 4028 §4). */
  minSE: number;
  /** The longest session interval kept, seconds (default 7200). */
  maxSE: number;
}

/**
 * The session-timer limits by default: 90 s (RFC 4028 §4's floor) to 7200 s (two hours, the
 * peer's idle-dialog timeout).
 *
 * @example
 * ```ts
 * import { DEFAULT_SESSION_TIMER } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(DEFAULT_SESSION_TIMER, { minSE: 90, maxSE: 7200 });
 * ```
 */
export const DEFAULT_SESSION_TIMER: Readonly<SessionTimerLimits> = Object.freeze({ minSE: 90, maxSE: 7200 });

/**
 * A session interval in force (RFC 4028 §3): how long the session lasts without a refresh,
 * seconds, and which side refreshes it.
 *
 * @example
 * ```ts
 * import type { SessionInterval } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * const interval: SessionInterval = { expires: 1800, refresher: "uac" };
 * assert.equal(interval.expires / 2, 900); // the refresher refreshes at half of it (§10)
 * ```
 */
export interface SessionInterval {
  /** Seconds. */
  expires: number;
  /** `uac`: the caller refreshes; `uas`: sipecho does. */
  refresher: "uac" | "uas";
}

/**
 * Reads a Session-Expires value (RFC 4028 §4): `delta-seconds *(;se-params)`, with an
 * optional `refresher=uac|uas` (any other refresher value is an error).
 *
 * @param value The field value.
 * @returns The seconds and the refresher, if given.
 * @throws {HeaderError} If the value cannot be read.
 * @example
 * ```ts
 * import { parseSessionExpires } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseSessionExpires("1800;refresher=uac"), { expires: 1800, refresher: "uac" });
 * assert.deepEqual(parseSessionExpires("90"), { expires: 90 });
 * assert.throws(() => parseSessionExpires("90;refresher=both"), { name: "HeaderError" });
 * ```
 */
export function parseSessionExpires(value: string): { expires: number; refresher?: "uac" | "uas" } {
  const [first, ...params] = value.split(";");
  const expires = parseDeltaSeconds(first, "Session-Expires");
  for (const param of params) {
    const [name, raw] = param.split("=");
    if (name.trim().toLowerCase() !== "refresher") continue;
    const refresher = (raw ?? "").trim().toLowerCase();
    if (refresher !== "uac" && refresher !== "uas") {
      throw new HeaderError("Session-Expires", `refresher must be uac or uas, got "${_short(refresher)}"`);
    }
    return { expires, refresher };
  }
  return { expires };
}

/**
 * Reads a RAck value (RFC 3262 §7.2): `response-num CSeq-num Method`.
 *
 * @param value The field value.
 * @returns The RSeq it acknowledges, and the CSeq number and method of the request.
 * @throws {HeaderError} If the value cannot be read.
 * @example
 * ```ts
 * import { parseRAck } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseRAck("776656 1 INVITE"), { rseq: 776656, cseq: 1, method: "INVITE" });
 * assert.throws(() => parseRAck("776656 INVITE"), { name: "HeaderError" });
 * ```
 */
export function parseRAck(value: string): { rseq: number; cseq: number; method: string } {
  const m = /^\s*([0-9]{1,10})\s+([0-9]{1,10})\s+([!%'*+.^_`|~0-9A-Za-z-]+)\s*$/.exec(value);
  if (m === null) throw new HeaderError("RAck", `"${_short(value)}" is not "RSeq CSeq Method"`);
  return { rseq: Number(m[1]), cseq: Number(m[2]), method: m[3] };
}

/**
 * What the peer answers about session timers to an INVITE or UPDATE it answers 2xx
 * (RFC 4028 §9): nothing (`none`, no session timer), a rejection (422 with Min-SE, or 400),
 * or the interval and the header fields its 2xx carries.
 */
export type _TimerAnswer =
  | { readonly kind: "none" }
  | { readonly kind: "reject"; readonly status: number; readonly reason?: string; readonly headers: [string, string][] }
  | { readonly kind: "timer"; readonly interval: SessionInterval; readonly headers: [string, string][] };

/**
 * RFC 4028 §9, the UAS: the session interval for a request, from its Session-Expires and
 * Min-SE, the peer's limits and the rule's `timer` (if any).
 *
 * @param request The INVITE or UPDATE.
 * @param limits The peer's limits.
 * @param spec The rule's `timer`, if any.
 * @returns What to answer (see {@linkcode _TimerAnswer}).
 * @throws {HeaderError} If Session-Expires, Min-SE, Supported or Require cannot be read.
 */
export function _negotiateTimer(
  request: SipRequest,
  limits: SessionTimerLimits,
  spec: SessionTimerSpec | undefined,
): _TimerAnswer {
  const seField = request.headers.get("Session-Expires");
  if (seField === undefined && spec?.expires === undefined) return NONE;
  const minField = request.headers.get("Min-SE");
  const theirMin = minField === undefined ? 0 : parseDeltaSeconds(minField.split(";")[0], "Min-SE");
  const supports = request.supported.includes("timer") || request.require.includes("timer");
  let expires: number;
  let refresher: "uac" | "uas" | undefined;
  if (seField !== undefined) {
    const asked = parseSessionExpires(seField);
    // §9: a session interval under our minimum is refused, with the minimum we take.
    if (asked.expires < limits.minSE) {
      return { kind: "reject", status: 422, headers: [["Min-SE", String(limits.minSE)]] };
    }
    // §9: the UAS may lower it, never under the request's Min-SE.
    expires = Math.min(asked.expires, limits.maxSE);
    if (expires < theirMin) {
      return {
        kind: "reject",
        status: 400,
        reason: `Bad Request: Min-SE ${theirMin} is over the longest session interval taken (${limits.maxSE} s)`,
        headers: [],
      };
    }
    refresher = asked.refresher;
  } else {
    // §9: the UAS may ask for a session timer the request did not.
    expires = Math.min(Math.max(spec!.expires!, theirMin, limits.minSE), limits.maxSE);
  }
  // §9: a refresher the request names is kept; one left open is ours to choose when the caller
  // supports timer; a caller that does not support it cannot refresh, so we do.
  refresher ??= supports ? spec?.refresher ?? "uac" : "uas";
  const headers: [string, string][] = [["Session-Expires", `${expires};refresher=${refresher}`]];
  if (supports) headers.push(["Require", "timer"]);
  return { kind: "timer", interval: { expires, refresher }, headers };
}

/**
 * RFC 4028 §10: when the side that does not refresh ends a session that got no refresh, ms
 * after the last one: the interval less the smaller of 32 s and a third of it.
 *
 * @param expires The session interval, seconds.
 * @returns Milliseconds.
 * @example
 * ```ts
 * import { byeAfter } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(byeAfter(90), 60_000); // 90 - 30
 * assert.equal(byeAfter(1800), 1_768_000); // 1800 - 32
 * ```
 */
export function byeAfter(expires: number): number {
  return Math.round((expires - Math.min(32, expires / 3)) * 1000);
}

const NONE: _TimerAnswer = Object.freeze({ kind: "none" });

function _short(text: string): string {
  return text.length > 40 ? text.slice(0, 37) + "..." : text;
}
