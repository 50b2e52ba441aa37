/**
 * The caller's side of a dialog, as the mock's UAC keeps it: what a request resolves with
 * ({@linkcode UacResult}) and the options of the dialog's next steps ({@linkcode AckOptions},
 * {@linkcode DialogRequestOptions}); the dialog state a 2xx to an INVITE makes (RFC 3261
 * §12.1.2), the fields of a request inside it (§12.2.1.1) and the ACK of the 2xx (§13.2.2.4).
 *
 * @module
 */

import type { SipRequest, SipResponse } from "../../sip/message.ts";
import type { SocketAddress } from "../../sip/routing.ts";
import type { ListenTransport } from "../serve.ts";
import { _answerBody, _buildRequest, _identityFields, type HeaderFields } from "./requests.ts";

/**
 * Options of a request in a dialog: `bye()`, `inDialog()`.
 *
 * @example
 * ```ts
 * import { type DialogRequestOptions } from "@sipecho/sipecho/mock";
 * import { MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * const dtmf: DialogRequestOptions = { body: "Signal=5\r\nDuration=160\r\n", contentType: "application/dtmf-relay" };
 * assert.equal((await call.inDialog("INFO", dtmf)).status, 200);
 * assert.equal((await call.bye({ headers: { Reason: 'Q.850;cause=16' } })).status, 200);
 * ```
 */
export interface DialogRequestOptions {
  /** Extra header fields; From, To, Call-ID, CSeq and the rest are set from the dialog. */
  headers?: HeaderFields;
  /** The body: text (UTF-8) or bytes. */
  body?: string | Uint8Array;
  /** Content-Type of the body (default `application/sdp` for a body starting `v=0`, else `text/plain`). */
  contentType?: string;
  /** Give up after this long without a final response, ms (default: the mock peer's `timeout`). */
  timeout?: number;
}

/**
 * Options of {@linkcode UacResult.ack}.
 *
 * @example
 * ```ts
 * import { type AckOptions } from "@sipecho/sipecho/mock";
 * import { MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * const options: AckOptions = { headers: { "X-Test": "ack" } };
 * assert.equal(call.ack(options).headers.get("X-Test"), "ack");
 * await call.bye();
 * ```
 */
export interface AckOptions {
  /** Extra header fields. */
  headers?: HeaderFields;
  /**
   * The body. By default, when the INVITE had no offer and the 2xx carries one, the ACK carries
   * the SDP answer (RFC 3264 §5, RFC 3261 §13.2.1).
   */
  body?: string | Uint8Array;
  /** Content-Type of `body`. */
  contentType?: string;
}

/**
 * The outcome of a request: the request as sent, its final response and the provisional
 * responses before it; for a 2xx to an INVITE, the dialog's next steps.
 *
 * @example
 * ```ts
 * import { MockPeer, type UacResult } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const call: UacResult = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * assert.equal(call.status, 200);
 * assert.deepEqual(call.provisional.map((r) => r.status), [180]);
 * assert.equal(call.ack().method, "ACK");
 * assert.equal((await call.bye()).status, 200);
 * ```
 */
export interface UacResult {
  /** The request as sent (first transmission). */
  readonly request: SipRequest;
  /** The final response. */
  readonly response: SipResponse;
  /** The final response's status code. */
  readonly status: number;
  /** The 1xx responses received before it, in order (retransmissions included). */
  readonly provisional: readonly SipResponse[];
  /**
   * Acknowledges a 2xx to an INVITE (RFC 3261 §13.2.2.4): a new transaction, CSeq of the
   * INVITE, sent to where the INVITE went. Resent on every retransmission of the 2xx. A
   * second call returns the first ACK.
   *
   * @param options Headers and body.
   * @returns The ACK as sent.
   * @throws {TypeError} If the response is not a 2xx to an INVITE (the ACK of a non-2xx is
   *   the transaction's, RFC 3261 §17.1.1.3, and was sent already).
   */
  ack(options?: AckOptions): SipRequest;
  /**
   * Ends the dialog with a BYE (RFC 3261 §15.1.1), after the ACK if `ack()` was not called.
   *
   * @param options Headers, body, timeout.
   * @returns The BYE's outcome.
   * @throws {TypeError} If the response is not a 2xx to an INVITE.
   */
  bye(options?: DialogRequestOptions): Promise<UacResult>;
  /**
   * Sends another request in the dialog (RFC 3261 §12.2.1.1): INFO, UPDATE, a re-INVITE,
   * MESSAGE. Request-URI, To, From, Call-ID, the next CSeq and Route come from the dialog.
   *
   * @param method The method.
   * @param options Headers, body, timeout.
   * @returns The request's outcome.
   * @throws {TypeError} If the response is not a 2xx to an INVITE.
   */
  inDialog(method: string, options?: DialogRequestOptions): Promise<UacResult>;
}

/** The caller's view of a dialog (RFC 3261 §12.1.2). */
export interface _Dialog {
  callId: string;
  from: string;
  to: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  destination: SocketAddress;
  transport: ListenTransport;
}

/** RFC 3261 §12.1.2: the caller's dialog state from the 2xx to its INVITE, sent to `to` over `transport`. */
export function _dialogOf(
  invite: SipRequest,
  response: SipResponse,
  to: SocketAddress,
  transport: ListenTransport,
): _Dialog {
  let remoteTarget = invite.uri;
  try {
    const contact = response.contact;
    if (contact !== "*" && contact.length > 0) remoteTarget = contact[0].uri;
  } catch { /* a malformed Contact: keep the Request-URI */ }
  return {
    callId: invite.callId,
    from: invite.headers.get("From") ?? "",
    to: response.headers.get("To") ?? "",
    remoteTarget,
    // The route set is the Record-Route of the response, in reverse order.
    routeSet: response.headers.getAll("Record-Route").reverse(),
    localSeq: invite.cseq.seq,
    destination: to,
    transport,
  };
}

/**
 * The fields of a request inside dialog `d` (RFC 3261 §12.2.1.1): From, To and Call-ID of the
 * dialog, the CSeq given, Route from the route set.
 */
export function _dialogFields(d: _Dialog, cseq: string): [string, string][] {
  return _identityFields({ from: d.from, to: d.to, callId: d.callId, cseq, routes: d.routeSet });
}

/**
 * RFC 3261 §13.2.2.4: the ACK of a 2xx, a transaction of its own with the CSeq number of the
 * INVITE. When the offer came in the 2xx, the answer goes in the ACK (§13.2.1).
 */
export function _successAckOf(
  invite: SipRequest,
  response: SipResponse,
  d: _Dialog,
  local: SocketAddress,
  options: AckOptions,
): SipRequest {
  let body = options.body;
  let contentType = options.contentType;
  if (body === undefined && invite.body.length === 0 && response.contentType?.mediaType === "application/sdp") {
    // The offer came in the 2xx, so the answer goes in the ACK; none if it is not an offer we can answer.
    const answer = _answerBody(response.bodyText, local.address);
    if (answer !== undefined) {
      body = answer;
      contentType = "application/sdp";
    }
  }
  return _buildRequest({
    method: "ACK",
    uri: d.remoteTarget,
    transport: d.transport,
    local,
    fields: _dialogFields(d, `${invite.cseq.seq} ACK`),
    headers: options.headers,
    body,
    contentType,
  });
}
