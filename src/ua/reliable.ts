/**
 * Reliable provisional responses of the server side (RFC 3262): each reliable 18x sent in its
 * turn and retransmitted until its PRACK, the PRACK matched by its RAck and answered (with the
 * SDP answer to an offer in it), and the 2xx held until every reliable provisional is
 * acknowledged. Kept apart from uas.ts, which holds the transactions: this part needs of them
 * only a narrow {@linkcode ReliableHost} (send a response, send a final, open the PRACK's
 * transaction). The state of one INVITE is its `_Reliable` (context.ts). Internal to src/ua.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import { checkAnswer, parseSdp } from "../media/sdp.ts";
import { _isInputError, _phrase } from "./checks.ts";
import type { _Context, _Reply } from "./context.ts";
import { parseRAck } from "./extensions.ts";
import type { Outbox } from "./outbox.ts";
import type { Replies } from "./replies.ts";
import type { Scheduler } from "./scheduler.ts";
import type { SessionAnswers } from "./session.ts";
import type { _EventDetails, PeerEvent, PeerTimers, Remote } from "./types.ts";

/** What {@linkcode ReliableProvisionals} needs of the transaction user (uas.ts). */
export interface ReliableHost {
  timers: PeerTimers;
  jobs: Scheduler;
  outbox: Outbox;
  replies: Replies;
  session: SessionAnswers;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
  /** The current message's source receives what we send. */
  validate(): void;
  /** Sends a response in its transaction. */
  respond(ctx: _Context, reply: _Reply, at: number): void;
  /** Sends the final response of a transaction (a held 2xx, or the 500 when no PRACK came). */
  sendFinal(ctx: _Context, reply: _Reply, at: number): void;
  /** The transaction of a PRACK, added to the table, in the session of its INVITE. */
  newContext(request: SipRequest, key: string, remote: Remote, sessionId: number): _Context;
}

/** The reliable provisional responses of the peer's INVITEs (see the module documentation). */
export class ReliableProvisionals {
  readonly #h: ReliableHost;
  /**
   * The INVITEs with a reliable provisional response still to be acknowledged, by early dialog
   * (Call-ID, our tag, the caller's tag): where a PRACK is matched (RFC 3262 §3). At most one
   * entry per INVITE transaction at work, so bounded by `limits.pending`.
   */
  readonly #early = new Map<string, _Context>();

  constructor(host: ReliableHost) {
    this.#h = host;
  }

  /** Forgets every INVITE (the peer closes). */
  clear(): void {
    this.#early.clear();
  }

  /** The INVITE whose early dialog a PRACK is in, with a reliable provisional out, if any. */
  inviteOf(request: SipRequest): _Context | undefined {
    return this.#early.get(_earlyKey(request.callId, request.to.tag, request.from.tag));
  }

  /** A provisional response of the plan: a reliable one waits its turn (RFC 3262 §3). */
  provisional(ctx: _Context, reply: _Reply, at: number): void {
    const rel = ctx.rel;
    if (reply.rseq === undefined || rel === undefined) return this.#h.respond(ctx, reply, at);
    if (ctx.tx.final) return;
    // §3: a second reliable provisional response waits until the first is acknowledged.
    if (rel.outstanding !== undefined) rel.queue.push(reply);
    else this.#sendReliable(ctx, reply, at);
  }

  /**
   * Whether a final response must wait (RFC 3262 §3): the 2xx waits for the PRACK of every
   * reliable provisional response (a 2xx must when one carried SDP; the peer always does), and
   * is then held. Any other final goes now, and the unacknowledged ones are no longer sent.
   */
  holds(ctx: _Context, final: _Reply): boolean {
    const rel = ctx.rel;
    if (rel === undefined || !rel.waiting) return false;
    if (final.status >= 200 && final.status < 300) {
      rel.held = final;
      return true;
    }
    rel.abandon();
    return false;
  }

  /** A final response went: no reliable provisional is sent again, and PRACKs find nothing. */
  finalSent(ctx: _Context): void {
    if (ctx.rel === undefined) return;
    ctx.rel.abandon();
    this.forget(ctx);
  }

  /** An INVITE has no reliable provisional response waiting any more: PRACKs no longer find it. */
  forget(ctx: _Context): void {
    const key = _earlyKey(ctx.request.callId, ctx.toTag, ctx.request.from.tag);
    if (this.#early.get(key) === ctx) this.#early.delete(key);
  }

  /**
   * Sends a reliable provisional response and retransmits it until its PRACK (RFC 3262 §3):
   * from T1, doubling, on every transport; after 64*T1 without a PRACK, the INVITE is answered
   * 500.
   */
  #sendReliable(ctx: _Context, reply: _Reply, at: number): void {
    const rel = ctx.rel!;
    this.#h.respond(ctx, reply, at);
    rel.outstanding = reply;
    rel.firstSent = at;
    this.#early.set(_earlyKey(ctx.request.callId, ctx.toTag, ctx.request.from.tag), ctx);
    const T1 = this.#h.timers.T1;
    const giveUp = at + 64 * T1;
    let interval = T1;
    const again = (when: number) => {
      rel.job = undefined;
      if (rel.outstanding !== reply || ctx.tx.final) return;
      if (when >= giveUp) {
        this.#h.event(
          "timeout",
          `INVITE ${ctx.request.callId}: no PRACK for the reliable ${reply.status} (RSeq ${reply.rseq}) in ` +
            `${64 * T1} ms: 500`,
          ctx.remote,
        );
        rel.abandon();
        this.#h.sendFinal(ctx, this.#h.replies.build(ctx, 500, "Server Internal Error: no PRACK came"), when);
        return;
      }
      this.#h.outbox.emit(reply, ctx.remote, ctx.head.route, when, ctx.duplicate, ctx.source);
      interval *= 2;
      rel.job = this.#h.jobs.schedule(Math.min(when + interval, giveUp), again);
    };
    rel.job = this.#h.jobs.schedule(at + T1, again);
  }

  /**
   * A PRACK in the early dialog of an INVITE with a reliable provisional response out (RFC 3262
   * §3): matched by its RAck (RSeq, CSeq number and method), answered 200, and the next reliable
   * provisional or the held 2xx goes; one that matches nothing is answered 481. An SDP offer in
   * it is answered in its 200, and an SDP answer to our offer is checked (§5).
   */
  prack(invite: _Context, request: SipRequest, key: string, remote: Remote, at: number): void {
    this.#h.validate();
    // A RAck that cannot be read is answered 400 by the UAS, before any transaction is made.
    const rack = parseRAck(request.headers.get("RAck") ?? "");
    const ctx = this.#h.newContext(request, key, remote, invite.sessionId);
    const rel = invite.rel!;
    const sent = rel.outstanding;
    if (
      sent === undefined || rack.rseq !== sent.rseq || rack.method !== "INVITE" ||
      rack.cseq !== invite.request.cseq.seq
    ) {
      return this.#h.respond(
        ctx,
        this.#h.replies.build(ctx, 481, "Call/Transaction Does Not Exist: the RAck matches no response awaiting PRACK"),
        at,
      );
    }
    rel.job?.cancel();
    rel.job = undefined;
    rel.outstanding = undefined;
    let answer: _Reply;
    try {
      answer = this.#prackAnswer(invite, ctx, request, remote);
    } catch (e) {
      if (!_isInputError(e)) throw e;
      answer = this.#h.replies.build(ctx, 400, _phrase(e.message));
    }
    this.#h.respond(ctx, answer, at);
    const next = rel.queue.shift();
    if (next !== undefined) return this.#sendReliable(invite, next, at);
    const held = rel.held;
    if (held !== undefined) {
      rel.held = undefined;
      this.#h.sendFinal(invite, held, at);
    }
  }

  /** The 200 to a PRACK, with the SDP answer when it carries an offer (RFC 3262 §5). */
  #prackAnswer(invite: _Context, ctx: _Context, request: SipRequest, remote: Remote): _Reply {
    if (request.body.length === 0) return this.#h.replies.build(ctx, 200);
    const rel = invite.rel!;
    if (request.contentType?.mediaType !== "application/sdp") {
      return this.#h.replies.build(ctx, 415, undefined, [["Accept", "application/sdp"]]);
    }
    const sdp = parseSdp(request.bodyText);
    const ours = invite.ourOffer;
    if (ours !== undefined && rel.sdp) {
      // Our offer went in the reliable provisional: this is its answer (RFC 3264 §6), checked.
      const problem = checkAnswer(ours, sdp);
      invite.ourOffer = undefined;
      this.#h.event("answer", `PRACK ${request.callId}: ${problem ?? "SDP answer accepted"}`, remote);
      return this.#h.replies.build(ctx, 200);
    }
    if (!rel.sdp) {
      // No offer/answer has completed yet: an offer now would cross the pending one (RFC 3264 §4).
      return this.#h.replies.build(ctx, 491);
    }
    // A new offer after the answer in the reliable provisional: answered here, one version on.
    ctx.offer = sdp;
    ctx.sessionVersion = invite.sessionVersion;
    const answer = this.#h.session.answer(ctx, invite.sessionVersion);
    if (typeof answer !== "string") return this.#h.replies.build(ctx, answer.status, answer.reason, answer.headers);
    invite.sessionVersion = ctx.sessionVersion;
    return this.#h.replies.build(ctx, 200, undefined, [], ["application/sdp", answer]);
  }
}

/** The key of an early dialog: Call-ID, our tag, the caller's tag. */
function _earlyKey(callId: string, localTag: string | undefined, remoteTag: string | undefined): string {
  return `${callId}|${localTag ?? ""}|${remoteTag ?? ""}`;
}
