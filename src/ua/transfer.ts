/**
 * sipecho as the transferor (RFC 3515, RFC 5589 §6): a call answered by a rule with `transfer`
 * is sent a REFER in its dialog `after` seconds after its 2xx, once that is acknowledged
 * (`Refer-To` the rule's URI, `Referred-By` our URI, RFC 3892), through the dialog's client
 * transaction (client.ts).
 * The caller's NOTIFYs (`Event: refer`, a `message/sipfrag` body, RFC 3420) are answered 200 by
 * the built-in behaviour; this module reads them: a final status 2xx in one ends the call with a
 * BYE (RFC 5589 §6: the transfer succeeded, the transferor hangs up); another final status
 * leaves the call as it is. A REFER answered with anything but a 2xx, or not at all, ends the
 * transfer (the call goes on). Internal to src/ua.
 *
 * @module
 */

import type { TransferSpec } from "../rules/call_flows.ts";
import type { SipRequest } from "../sip/message.ts";
import type { Dialog } from "./dialog.ts";
import type { ReferHost } from "./refer.ts";
import type { Job } from "./scheduler.ts";
import type { _EventDetails, Remote } from "./types.ts";

/** How long a transfer due waits for the ACK of the 2xx, ms (Timer H's 64*T1). */
const WAIT_ACK = 32_000;
/** How long after its 202 a REFER waits for the NOTIFY with a final status (RFC 3515 §2.4.4), ms. */
const WAIT_NOTIFY = 120_000;
/** How often a transfer looks again for the ACK, ms. */
const ACK_POLL = 200;

/** What {@linkcode Transferor} needs of the peer: what the REFER notifier needs, and a hang-up. */
export interface TransferHost extends Pick<ReferHost, "jobs" | "send" | "event"> {
  /** Ends the dialog with a BYE of ours (its request comes out of `takeRequests()`). */
  hangUp(dialog: Dialog, at: number): void;
}

/** One transfer in progress. */
interface _Transfer {
  readonly dialog: Dialog;
  readonly spec: TransferSpec;
  /** `waiting`: the REFER is not sent yet; `referred`: sent, its NOTIFYs awaited. */
  state: "waiting" | "referred";
  job: Job | undefined;
}

/** The transfers of the peer's dialogs (see the module documentation). Internal to src/ua. */
export class Transferor {
  readonly #h: TransferHost;
  /** One transfer per dialog at most; it goes when the transfer ends or the dialog does. */
  #transfers = new Map<Dialog, _Transfer>();

  constructor(host: TransferHost) {
    this.#h = host;
  }

  /** How many transfers are in progress. */
  get size(): number {
    return this.#transfers.size;
  }

  /** A dialog made by a 2xx of a rule with `transfer`: its REFER `after` s later, once acknowledged. */
  start(dialog: Dialog, spec: TransferSpec, at: number): void {
    if (this.#transfers.has(dialog)) return;
    const t: _Transfer = { dialog, spec, state: "waiting", job: undefined };
    this.#transfers.set(dialog, t);
    const due = at + spec.after * 1000;
    t.job = this.#h.jobs.schedule(due, (when) => this.#waitAck(t, when, due + WAIT_ACK));
  }

  /**
   * A NOTIFY in a dialog (answered 200 by the built-in behaviour): when it reports the outcome
   * of our REFER (`Event: refer`, RFC 3515 §2.4.6) with a final status, the transfer ends; a 2xx
   * ends the call too (RFC 5589 §6), with a BYE sent after the 200 to this NOTIFY.
   */
  notify(request: SipRequest, dialog: Dialog | undefined, remote: Remote, at: number): void {
    const t = dialog === undefined ? undefined : this.#transfers.get(dialog);
    if (t === undefined || t.state !== "referred") return;
    const event = (request.headers.get("Event") ?? "").split(";")[0].trim().toLowerCase();
    if (event !== "refer") return;
    const status = _sipfragStatus(request);
    if (status === undefined || status < 200) return;
    this.#forget(t);
    const callId = t.dialog.callId;
    if (status >= 300) {
      this.#h.event("rule", `transfer ${callId} to ${t.spec.to}: failed (${status}); the call goes on`, remote, {
        callId,
      });
      return;
    }
    this.#h.event("rule", `transfer ${callId} to ${t.spec.to}: done (${status}); the peer hangs up`, remote, {
      callId,
    });
    // A job due now: the BYE leaves after the 200 to this NOTIFY (the next tick).
    this.#h.jobs.schedule(at, (when) => this.#h.hangUp(t.dialog, when));
  }

  /** Forgets every transfer (the peer closes). */
  clear(): void {
    for (const t of this.#transfers.values()) t.job?.cancel();
    this.#transfers.clear();
  }

  /** The REFER once the 2xx is acknowledged (RFC 3261 §13.3.1.4: no request of ours before). */
  #waitAck(t: _Transfer, at: number, deadline: number): void {
    t.job = undefined;
    if (t.dialog.acked) return this.#refer(t, at);
    if (at >= deadline) return this.#forget(t);
    t.job = this.#h.jobs.schedule(at + ACK_POLL, (when) => this.#waitAck(t, when, deadline));
  }

  /** RFC 3515 §2.4.1: the REFER, with exactly one Refer-To, in the dialog. */
  #refer(t: _Transfer, at: number): void {
    t.job = undefined;
    const dialog = t.dialog;
    const extra = [`Refer-To: <${t.spec.to}>`, `Referred-By: <${dialog.localUri}>`];
    const sent = this.#h.send(dialog, "REFER", extra, undefined, at, (status, when) => {
      if (this.#transfers.get(dialog) !== t) return;
      if (status >= 200 && status < 300) {
        // RFC 3515 §2.4.4: the NOTIFYs follow the 2xx; without a final one in time, give up.
        t.job = this.#h.jobs.schedule(when + WAIT_NOTIFY, () => this.#forget(t));
        return;
      }
      this.#h.event(
        "rule",
        `transfer ${dialog.callId} to ${t.spec.to}: REFER ${status === 0 ? "not answered" : `answered ${status}`}; ` +
          "the call goes on",
        dialog.source as Remote | undefined,
        { callId: dialog.callId },
      );
      this.#forget(t);
    });
    if (!sent) return this.#forget(t);
    t.state = "referred";
    this.#h.event("rule", `transfer ${dialog.callId}: REFER to ${t.spec.to}`, dialog.source as Remote | undefined, {
      callId: dialog.callId,
    });
  }

  #forget(t: _Transfer): void {
    t.job?.cancel();
    t.job = undefined;
    if (this.#transfers.get(t.dialog) === t) this.#transfers.delete(t.dialog);
  }
}

/** The status code of a `message/sipfrag` body's status line (RFC 3420 §2), if it has one. */
function _sipfragStatus(request: SipRequest): number | undefined {
  const type = request.contentType?.mediaType;
  if (type !== "message/sipfrag") return undefined;
  const match = /^SIP\/2\.0 ([1-6]\d\d)\b/.exec(request.bodyText);
  return match === null ? undefined : Number(match[1]);
}
