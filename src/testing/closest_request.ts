/**
 * What a wait that found nothing says about what did come: the requests received that came
 * closest to the match, each with the conditions it failed (what was expected, what came), and
 * the closest one whole; for a call, the matching INVITE whose BYE never came.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import type { TrafficEntry } from "../net/serve.ts";
import { _hostPort } from "../net/uac/addresses.ts";
import { _firstLine, _messageText } from "./ladder.ts";
import { type _CompiledMatch, type _Condition, _misses, type RequestSource } from "./request_match.ts";

/** How many near misses are listed. */
const _SHOWN = 3;

/** A request received, as a wait sees it. */
interface _Received {
  entry: TrafficEntry;
  request: SipRequest;
  source: RequestSource;
}

function _received(entries: readonly TrafficEntry[]): _Received[] {
  const out: _Received[] = [];
  for (const entry of entries) {
    if (entry.direction !== "in" || entry.message.type !== "request") continue;
    out.push({ entry, request: entry.message, source: { ...entry.remote, transport: entry.transport } });
  }
  return out;
}

/** Seconds since `start`, as in the ladder. */
function _at(entry: TrafficEntry, start: number): string {
  return ((entry.time - start) / 1000).toFixed(3);
}

/**
 * The requests received closest to `compiled`: fewest conditions failed first, then those of
 * the right method, then the latest; each with what it lacked, and the closest whole.
 */
export function _closestReport(compiled: _CompiledMatch, entries: readonly TrafficEntry[], start: number): string {
  const received = _received(entries);
  if (received.length === 0) return "No request was received.";
  const method = compiled.conditions.find((c) => c.label === "method");
  const ranked = received.map((r, index) => ({
    ...r,
    index,
    misses: _misses(compiled, r.request, r.source),
    methodOk: method === undefined || _holds(method, r),
  })).sort((a, b) => a.misses.length - b.misses.length || Number(b.methodOk) - Number(a.methodOk) || b.index - a.index);
  const n = received.length;
  const lines = [`Closest of ${n} request${n === 1 ? "" : "s"} received:`];
  for (const r of ranked.slice(0, _SHOWN)) {
    const from = `${_hostPort(r.source.address, r.source.port)} ${r.source.transport}`;
    lines.push(`  ${_at(r.entry, start).padStart(7)}  ${_firstLine(r.request)}  from ${from}`);
    for (const miss of r.misses) lines.push(`             ${miss}`);
  }
  if (n > _SHOWN) lines.push(`  (and ${n - _SHOWN} more, in the traffic below)`);
  lines.push("The closest in full:", _messageText(ranked[0].request, "    "));
  return lines.join("\n");
}

/** A condition of `waitForDialog()`: an INVITE that begins a call (no To tag, RFC 3261 §12.1). */
export const _NEW_INVITE: _Condition = {
  label: "method",
  expected: "INVITE outside a dialog",
  test: (request) => request.method === "INVITE" && !_hasToTag(request),
  got: (request) => request.method === "INVITE" ? "an INVITE with a To tag (in a dialog)" : request.method,
};

/**
 * Why no call ended: the matching INVITEs whose BYE never came, or else the requests closest to
 * a matching INVITE.
 */
export function _callReport(compiled: _CompiledMatch, entries: readonly TrafficEntry[], start: number): string {
  const received = _received(entries);
  const calls = received.filter((r) => _holds(_NEW_INVITE, r) && _holds(compiled, r));
  if (calls.length === 0) {
    return _closestReport({ ...compiled, conditions: [_NEW_INVITE, ...compiled.conditions] }, entries, start);
  }
  return calls.map((call) => {
    const callId = call.request.headers.get("Call-ID");
    const later = received.filter((r) => r.entry.time >= call.entry.time && r !== call)
      .filter((r) => r.request.headers.get("Call-ID") === callId).map((r) => r.request.method);
    const then = later.length === 0 ? "" : `, then ${later.join(", ")}`;
    return `A matching INVITE came (Call-ID ${callId}, at ${_at(call.entry, start)})${then}; no BYE with its Call-ID.`;
  }).join("\n");
}

function _holds(test: { test: _Condition["test"] }, r: _Received): boolean {
  try {
    return test.test(r.request, r.source);
  } catch {
    return false;
  }
}

function _hasToTag(request: SipRequest): boolean {
  return /;\s*tag=/i.test(request.headers.get("To") ?? "");
}
