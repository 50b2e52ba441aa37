/**
 * The mock peer as a caller: requests the other side sends in a call the mock's UAC made (a BYE,
 * a REFER that transfers it, the NOTIFYs of a REFER it sent) reach the mock's own SipPeer, which
 * knows only the dialogs it answered and would say 481. Unless a scripted answer or a static rule
 * takes them, they get the answer of a willing caller: 202 Accepted for a REFER (RFC 3515
 * §2.4.2; the NOTIFYs are the test's to send, with `inDialog("NOTIFY")`), 200 OK for the rest.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import { loadRules, type Rule } from "../rules/rules.ts";
import type { TrafficEntry } from "../net/serve_options.ts";

const [_ACCEPTED, _OK] = loadRules([
  { name: "a REFER in a call of the mock's UAC", respond: { status: 202 } },
  { name: "a request in a call of the mock's UAC", respond: { status: 200 } },
], "mock");

/** The methods answered so in a call of the UAC (ACK and CANCEL belong to their INVITE). */
const _METHODS = ["BYE", "REFER", "NOTIFY", "INFO", "UPDATE", "MESSAGE", "OPTIONS"];

/**
 * The rule for a request in a call the mock's UAC made (an INVITE it sent with this Call-ID and
 * a From tag equal to the request's To tag, among `traffic`), or undefined.
 *
 * @param request A request the mock received.
 * @param traffic What the mock sent and received (since its last `clear()`).
 * @returns 202 for a REFER, 200 for the others of {@linkcode _METHODS}.
 */
export function _ownCallRule(request: SipRequest, traffic: readonly TrafficEntry[]): Rule | undefined {
  const tag = request.to.tag;
  if (tag === undefined || !_METHODS.includes(request.method)) return undefined;
  const ours = traffic.some((e) =>
    e.direction === "out" && e.message.type === "request" && e.message.method === "INVITE" &&
    e.message.callId === request.callId && e.message.from.tag === tag
  );
  if (!ours) return undefined;
  return request.method === "REFER" ? _ACCEPTED : _OK;
}
