/**
 * Session timers of the peer's dialogs (RFC 4028): the interval a 2xx of ours agrees to (§9),
 * the job that then refreshes the session (an UPDATE, or a re-INVITE with our last SDP: §7.4)
 * when we are the refresher, or sends a BYE when the caller is and no refresh came (§10), and
 * the end of our refresh. The checks of a request's Session-Expires and Min-SE (422) are in
 * extensions.ts. Kept apart from dialogs.ts, which holds the table and the client
 * transactions: this part needs of it only a narrow {@linkcode SessionTimerHost}. Internal to
 * src/ua.
 *
 * @module
 */

import { parseMessage } from "../sip/parse.ts";
import type { SipRequest } from "../sip/message.ts";
import { _localUser, type Dialog } from "./dialog.ts";
import { byeAfter, parseSessionExpires, type SessionInterval } from "./extensions.ts";
import type { Replies } from "./replies.ts";
import type { Job, Scheduler } from "./scheduler.ts";
import type { _EventDetails, PeerEvent, PeerRequest, Remote } from "./types.ts";

/** What {@linkcode SessionTimers} needs of the dialogs (dialogs.ts). */
export interface SessionTimerHost {
  jobs: Scheduler;
  replies: Replies;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
  /** A random tag (for a branch). */
  tag(): string;
  /** Whether the dialog is still in the table. */
  alive(dialog: Dialog): boolean;
  /** Ends the dialog with a BYE of ours. */
  bye(dialog: Dialog, at: number): void;
  /** Sends our refresh through its client transaction; its answer comes to `refreshed()`. */
  send(request: PeerRequest, at: number, dialog: Dialog): void;
}

/** Parser options of the peer's own refresh (read back from its bytes). */
const DATAGRAM = { stream: false };
const _encoder = new TextEncoder();

/** The session timers of the peer's dialogs (see the module documentation). */
export class SessionTimers {
  readonly #h: SessionTimerHost;
  /**
   * The session-timer job of each dialog with a session interval (RFC 4028 §10): its refresh
   * when we refresh, its BYE when the caller does. One per dialog at most.
   */
  readonly #jobs = new Map<Dialog, Job>();
  /** The dialogs with a refresh of ours in progress: one at a time each. */
  readonly #refreshing = new Set<Dialog>();

  constructor(host: SessionTimerHost) {
    this.#h = host;
  }

  /** Forgets every timer (the peer closes). */
  clear(): void {
    this.#jobs.clear();
    this.#refreshing.clear();
  }

  /** Forgets the timer and the refresh of a dialog that is gone. */
  forget(dialog: Dialog): void {
    this.#jobs.get(dialog)?.cancel();
    this.#jobs.delete(dialog);
    this.#refreshing.delete(dialog);
  }

  /**
   * Sets the session interval of a dialog from a 2xx of ours or to our refresh (RFC 4028 §9,
   * §7.4), from `at`: when we refresh, an UPDATE at half of it (§10); when the caller does, a
   * BYE at the interval less min(32 s, a third of it) (§10) unless a refresh comes first.
   * `undefined`: the session has no timer any more.
   */
  set(dialog: Dialog, interval: SessionInterval | undefined, at: number): void {
    this.#jobs.get(dialog)?.cancel();
    this.#jobs.delete(dialog);
    dialog.sessionTimer = interval;
    if (interval === undefined || dialog.state !== "Confirmed") return;
    const remote = dialog.source as Remote | undefined;
    const due = interval.refresher === "uas" ? at + interval.expires * 500 : at + byeAfter(interval.expires);
    this.#jobs.set(
      dialog,
      this.#h.jobs.schedule(due, (when) => {
        this.#jobs.delete(dialog);
        if (!this.#h.alive(dialog)) return;
        if (interval.refresher === "uas") return this.#refresh(dialog, interval, when);
        this.#h.event(
          "timeout",
          `dialog ${dialog.callId}: no session refresh within ${interval.expires} s (RFC 4028 §10): ` +
            "the peer ends it with BYE",
          remote,
        );
        this.#h.bye(dialog, when);
      }),
    );
  }

  /**
   * Our session refresh (RFC 4028 §7.4): an UPDATE without SDP, or with a rule's
   * `timer.method: "INVITE"` a re-INVITE carrying our last SDP unchanged (RFC 3264 §8), through
   * a client transaction.
   */
  #refresh(dialog: Dialog, interval: SessionInterval, at: number): void {
    const remote = dialog.source as Remote | undefined;
    if (remote === undefined || !dialog.acked || this.#refreshing.has(dialog)) {
      // Not confirmed yet, or the last refresh still runs: look again in a while.
      return this.set(dialog, interval, at);
    }
    const branch = `z9hG4bK-sipecho-${this.#h.tag()}${this.#h.tag()}`;
    const user = _localUser(dialog);
    const extra = [
      `Contact: ${this.#h.replies.contactOf(user, remote.transport)}`,
      `Session-Expires: ${interval.expires};refresher=uas`,
      "Supported: timer",
    ];
    const sdp = dialog.refreshSdp;
    const method = sdp === undefined ? "UPDATE" : "INVITE";
    const body: [string, string] | undefined = sdp === undefined ? undefined : ["application/sdp", sdp];
    const text = this.#h.replies.requestText(dialog, method, remote.transport, branch, extra, body);
    const data = _encoder.encode(text);
    const message = parseMessage(data, DATAGRAM) as SipRequest;
    const request = { at, data, message, remote, to: { address: remote.address, port: remote.port }, branch };
    this.#h.event("refresh", `${method} ${dialog.callId}: the peer refreshes the session (RFC 4028 §7.4)`, remote, {
      callId: dialog.callId,
    });
    this.#refreshing.add(dialog);
    this.#h.send(request, at, dialog);
  }

  /**
   * The end of our refresh (RFC 4028 §7.4): a 2xx sets the interval its Session-Expires says
   * (or keeps ours: a caller that does not support timer answers without one); anything else,
   * or no answer, and the session cannot be kept up: the peer ends it with BYE (§10).
   */
  refreshed(dialog: Dialog, status: number, sessionExpires: string | undefined, remote: Remote, at: number): void {
    this.#refreshing.delete(dialog);
    if (!this.#h.alive(dialog)) return;
    if (status >= 200 && status < 300) {
      dialog.lastRequestAt = at;
      let interval = dialog.sessionTimer;
      if (sessionExpires !== undefined) {
        try {
          const se = parseSessionExpires(sessionExpires);
          interval = { expires: se.expires, refresher: se.refresher ?? "uas" };
        } catch {
          // Unreadable: ours stays.
        }
      }
      this.#h.event(
        "refresh",
        `dialog ${dialog.callId}: the session refresh got ${status}: ${interval?.expires ?? "no"} s more`,
        remote,
        { callId: dialog.callId },
      );
      return this.set(dialog, interval, at);
    }
    if (status === 491 && dialog.sessionTimer !== undefined) {
      // RFC 3261 §14.1: our re-INVITE crossed one of the caller's; we do not own the Call-ID, so
      // we try again within 2 s.
      const interval = dialog.sessionTimer;
      this.#jobs.get(dialog)?.cancel();
      this.#jobs.set(
        dialog,
        this.#h.jobs.schedule(at + 2000, (when) => {
          this.#jobs.delete(dialog);
          if (this.#h.alive(dialog)) {
            this.#refresh(dialog, interval, when);
          }
        }),
      );
      return;
    }
    this.#h.event(
      "timeout",
      `dialog ${dialog.callId}: the session refresh got ${
        status === 0 ? "no answer" : status
      }: the peer ends it with BYE`,
      remote,
    );
    this.#h.bye(dialog, at);
  }
}
