/**
 * The server side of the peer (RFC 3261 §17.2, §8.2): each request's transaction, from its
 * arrival to its tombstone; retransmissions absorbed or answered again; the plan of responses
 * run on the peer's clock; ACK and CANCEL; the shares and limits a new transaction needs.
 * Internal to src/ua. One class, because its methods share the transaction table and each
 * transaction's context. What needs only a narrow part of them lives next to it: reliable
 * provisional responses and PRACK (RFC 3262) in reliable.ts, the dialog a 2xx makes in
 * dialogs.ts and its session timer (RFC 4028) in session_timer.ts, the checks of a request in
 * checks.ts.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import { type ParseOptions } from "../sip/parse.ts";
import { ResponseHead } from "../sip/response.ts";
import { statelessHash, statelessTag } from "../sip/stateless_tag.ts";
import type { ResolvedAction } from "../rules/rules.ts";
import { _isInputError, _phrase } from "./checks.ts";
import { _Context, type _Plan, _Reply, type _Tomb } from "./context.ts";
import { _Tombstones } from "./tombstones.ts";
import type { Dialog } from "./dialog.ts";
import type { Dialogs } from "./dialogs.ts";
import type { SourceGuard, SourceRecord } from "./guard.ts";
import type { Outbox } from "./outbox.ts";
import { ReliableProvisionals } from "./reliable.ts";
import type { StatelessReplies } from "./stateless.ts";
import { _RuleInput, type Planner } from "./plan.ts";
import type { Replies } from "./replies.ts";
import type { Job, Scheduler } from "./scheduler.ts";
import { ackAnswerProblem, type SessionAnswers } from "./session.ts";
import {
  ServerTransaction,
  type TransactionEvent,
  type TransactionInfo,
  transactionKey,
  TransactionTable,
} from "./transaction.ts";
import type { _EventDetails, PeerEvent, PeerLimits, PeerTimers, Remote } from "./types.ts";

/** What the {@linkcode TransactionUser} needs of the peer. */
export interface UasHost {
  timers: PeerTimers;
  limits: PeerLimits;
  /** Retry-After of a 503, seconds. */
  retryAfter: number;
  /** A stateless UAS (RFC 3261 §8.2.7). */
  stateless: boolean;
  /** Mixed into the To tags of a stateless peer. */
  tagSalt: number;
  server: string;
  guard: SourceGuard | undefined;
  jobs: Scheduler;
  outbox: Outbox;
  replies: Replies;
  /** Responses without a transaction (RFC 3261 §8.2.7). */
  statelessReplies: StatelessReplies;
  planner: Planner;
  session: SessionAnswers;
  dialogs: Dialogs;
  /** The time, ms. */
  now(): number;
  /** The record of the current message's source (with a guard). */
  source(): SourceRecord | undefined;
  /** The current message's source receives what we send. */
  validate(): void;
  eventsWanted: boolean;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
  /** A random tag (To tags). */
  tag(): string;
  tagRandom(): number;
  /** Parser options for a message from `remote`. */
  parseOptions(remote: Remote): ParseOptions;
}

/** The peer's server transactions and what it does with each request (see the module documentation). */
export class TransactionUser {
  readonly #h: UasHost;
  /** The transactions at work; `#tombs` holds the finished ones, and the limit counts both. */
  readonly #transactions: TransactionTable<_Context>;
  /** How many transactions are at work (not tombstones). */
  #pending = 0;
  /** Tombstones until Timer J or L (64*T1), and until Timer I (T4). */
  readonly #tombs = new _Tombstones();
  /** The reliable provisional responses of the INVITEs and their PRACKs (RFC 3262, reliable.ts). */
  readonly #reliable: ReliableProvisionals;

  constructor(host: UasHost) {
    this.#h = host;
    this.#transactions = new TransactionTable(host.limits.transactions);
    this.#reliable = new ReliableProvisionals({
      timers: host.timers,
      jobs: host.jobs,
      outbox: host.outbox,
      replies: host.replies,
      session: host.session,
      event: (kind, message, remote, details) => host.event(kind, message, remote, details),
      validate: () => host.validate(),
      respond: (ctx, reply, at) => this.#respond(ctx, reply, at),
      sendFinal: (ctx, reply, at) => this.#sendFinal(ctx, reply, at),
      newContext: (request, key, remote, sessionId) => this.#newContext(request, key, remote, undefined, sessionId),
    });
  }

  /** The transactions at work and the tombstones, oldest first. */
  values(): TransactionInfo[] {
    return [...this.#tombs.values(), ...this.#transactions.values().map((ctx) => ctx.tx)];
  }

  /**
   * Whether an INVITE with this Call-ID and tags is at work, not yet finally answered: an early
   * dialog whose UAS we are (RFC 3891 §3). A walk over the transactions, for a Replaces only.
   */
  early(callId: string, localTag: string, remoteTag: string): boolean {
    for (const ctx of this.#transactions.values()) {
      const request = ctx.request;
      if (
        request.method === "INVITE" && ctx.toTag === localTag && request.callId === callId &&
        request.from.tag === remoteTag && request.to.tag === undefined
      ) return true;
    }
    return false;
  }

  /** How many transactions the table holds, tombstones included. */
  get size(): number {
    return this.#transactions.size + this.#tombs.size;
  }

  /** The transaction at work or the tombstone a key finds. */
  #entry(key: string): _Context | _Tomb | undefined {
    return this.#transactions.get(key) ?? this.#tombs.get(key);
  }

  /** How many transactions are at work (not tombstones). */
  get pending(): number {
    return this.#pending;
  }

  /** The earliest tombstone expiry, ms; -1 when there is none. */
  get nextExpiry(): number {
    return this.#tombs.nextExpiry;
  }

  /** Forgets the tombstone that expires at `at` (the earliest), and gives its entry back to its source. */
  expire(at: number): void {
    const source = this.#tombs.expire(at);
    if (source) this.#h.guard!.release(source, "transactions");
  }

  /** Forgets every transaction (the peer closes). */
  clear(): void {
    for (const ctx of this.#transactions.values()) ctx.tx.terminate();
    this.#transactions.clear();
    this.#tombs.clear();
    this.#reliable.clear();
    this.#pending = 0;
  }

  /** A job of the transaction user, cancelled with the transaction when `ctx` is given. */
  #schedule(at: number, run: (at: number) => void, ctx?: _Context): Job {
    const job = this.#h.jobs.schedule(at, run);
    if (ctx !== undefined) (ctx.jobs ??= []).push(job);
    return job;
  }

  request(request: SipRequest, remote: Remote, at: number): void {
    try {
      let key: string;
      try {
        // The views a transaction needs; the parser checked them, a hand-built message may not be right.
        key = transactionKey(request);
        void request.from;
        void request.to;
      } catch (e) {
        if (request.method !== "ACK") {
          this.#h.statelessReplies.reply(request, 400, _phrase(String((e as Error).message)), [], remote, at);
        } else this.#h.event("dropped", `ACK: ${(e as Error).message}`, remote);
        return;
      }
      if (this.#h.stateless) {
        // A To tag of ours (made from the Call-ID and From tag) shows the source got our response.
        if (
          this.#h.guard !== undefined && request.to.tag !== undefined &&
          request.to.tag === statelessTag(request.callId, request.from.tag ?? "", this.#h.tagSalt)
        ) {
          this.#h.validate();
        }
        // RFC 3261 §8.2.7: a stateless UAS ignores ACK and CANCEL.
        if (request.method !== "ACK" && request.method !== "CANCEL") this.#answerStateless(request, key, remote, at);
        return;
      }
      if (request.method === "ACK") return this.#ack(request, key, remote, at);
      // RFC 3261 §17.2.3: a retransmission goes to its transaction, without running the rules.
      const existing = this.#entry(key);
      if (existing !== undefined) return this.#retransmission(existing, request, remote, at);
      if (request.via[0].branch === "z9hG4bK") {
        const reason = "Bad Request: Via branch is only the magic cookie";
        return this.#h.statelessReplies.reply(request, 400, reason, [], remote, at);
      }
      const busy = this.#transactionRoom(request, remote);
      if (busy !== undefined) return this.#unavailable(request, busy, remote, at);
      if (this.size >= this.#transactions.limit) {
        this.#h.event("dropped", "transaction table full: 503", remote);
        return this.#unavailable(request, "Service Unavailable: too many transactions", remote, at);
      }
      if (request.method === "CANCEL") return this.#cancel(request, key, remote, at);
      if (request.method === "PRACK") {
        const invite = this.#reliable.inviteOf(request);
        if (invite !== undefined) return this.#reliable.prack(invite, request, key, remote, at);
      }
      this.#newRequest(request, key, remote, at);
    } catch (e) {
      if (!_isInputError(e)) throw e;
      if (request.method !== "ACK") this.#h.statelessReplies.reply(request, 400, _phrase(e.message), [], remote, at);
    }
  }

  /** A 503 without a transaction, with its Retry-After (RFC 3261 §21.5.4). */
  #unavailable(request: SipRequest, reason: string, remote: Remote, at: number): void {
    this.#h.statelessReplies.reply(request, 503, reason, [["Retry-After", String(this.#h.retryAfter)]], remote, at);
  }

  /** A request that matched a transaction (RFC 3261 §17.2.1, §17.2.2). */
  #retransmission(entry: _Context | _Tomb, request: SipRequest, remote: Remote, at: number): void {
    const counters = this.#h.outbox.counters;
    counters.retransmissionsAbsorbed++;
    if (entry instanceof _Context) {
      // The last response again; nothing while Trying, nothing from a silent one.
      const again = entry.silent ? undefined : entry.tx.resend();
      if (again !== undefined) {
        counters.retransmissionsSent += entry.duplicate;
        this.#h.outbox.emit(again, entry.remote, entry.head.route, at, entry.duplicate, entry.source);
      }
    } else if (entry.state === "Completed") {
      // RFC 3261 §17.2.2: in Completed, the final response again, to where the retransmission
      // came from; a plain one is made again from the request, the same bytes.
      const head = new ResponseHead(request, remote);
      const data = entry.data ?? head.format(entry.status, undefined, { toTag: entry.toTag, server: this.#h.server });
      counters.retransmissionsSent += entry.duplicate;
      this.#h.outbox.emit(new _Reply(entry.status, data), remote, head.route, at, entry.duplicate, this.#h.source());
    }
    // An INVITE tombstone absorbs it: Confirmed (RFC 3261 §17.2.1), Accepted (RFC 6026 §7.1).
  }

  /**
   * Why a new transaction cannot be taken (the reason phrase of a 503), or undefined: its
   * source holds its share, or too many are at work.
   */
  #transactionRoom(request: SipRequest, remote: Remote): string | undefined {
    const src = this.#h.source();
    const guard = this.#h.guard;
    const full = (src !== undefined &&
      (guard!.full(src, "transactions", this.#transactions.limit) ||
        guard!.full(src, "pending", this.#h.limits.pending))) ||
      this.#pending >= this.#h.limits.pending;
    // A request that ends what holds the share is never refused for it: a CANCEL of an INVITE
    // still at work, or a request in one of our dialogs (a BYE, say).
    if (!full || this.#endsWork(request)) return undefined;
    if (src !== undefined && guard!.full(src, "transactions", this.#transactions.limit)) {
      this.#h.event("limit", `share: ${src.key} holds its share of the transactions: 503`, remote);
      return "Service Unavailable: too many transactions from this source";
    }
    if (src !== undefined && guard!.full(src, "pending", this.#h.limits.pending)) {
      this.#h.event("limit", `share: ${src.key} holds its share of the transactions at work: 503`, remote);
      return "Service Unavailable: too many transactions in progress from this source";
    }
    if (this.#pending >= this.#h.limits.pending) {
      this.#h.event("dropped", `${this.#pending} transactions at work (limits.pending): 503`, remote);
      return "Service Unavailable: too many transactions in progress";
    }
    return undefined;
  }

  /**
   * Whether a request ends work the peer holds: a CANCEL matching an INVITE transaction that
   * has not sent its final response (RFC 3261 §9.2), or a request inside one of our dialogs.
   */
  #endsWork(request: SipRequest): boolean {
    if (request.method === "CANCEL") {
      const invite = this.#transactions.get(transactionKey(request, "INVITE"));
      return invite instanceof _Context && invite.invite && !invite.tx.final;
    }
    if (request.method === "PRACK" && this.#reliable.inviteOf(request) !== undefined) return true;
    return request.to.tag !== undefined && this.#h.dialogs.of(request) !== undefined;
  }

  #newContext(
    request: SipRequest,
    key: string,
    remote: Remote,
    action: ResolvedAction | undefined,
    sessionId?: number,
  ): _Context {
    const ctx = this.#context(request, key, remote, action, sessionId);
    this.#addTransaction(ctx);
    return ctx;
  }

  #addTransaction(ctx: _Context): void {
    if (!this.#transactions.add(ctx)) return;
    this.#pending++;
    if (ctx.source !== undefined) {
      this.#h.guard!.hold(ctx.source, "transactions");
      this.#h.guard!.hold(ctx.source, "pending");
    }
  }

  /** Forgets a transaction at work, and gives its entry back to its source. */
  #deleteTransaction(entry: _Context): void {
    if (!this.#transactions.delete(entry)) return;
    this.#settled(entry);
    if (entry.rel !== undefined) this.#reliable.forget(entry);
    if (entry.source !== undefined) this.#h.guard!.release(entry.source, "transactions");
  }

  /** A transaction at work is done with (a tombstone now, or gone). */
  #settled(ctx: _Context): void {
    this.#pending--;
    if (ctx.source !== undefined) this.#h.guard!.release(ctx.source, "pending");
  }

  /** The TU's state for a request, not (yet) in the transaction table. */
  #context(
    request: SipRequest,
    key: string,
    remote: Remote,
    action: ResolvedAction | undefined,
    session?: number,
  ): _Context {
    const silent = action?.kind === "silent";
    const tx = new ServerTransaction<_Reply>({
      request,
      transport: remote.transport,
      timers: this.#h.timers,
      key,
      retransmit: silent ? true : action?.retransmit ?? true,
    });
    let toTag = request.to.tag;
    let sessionId: number;
    if (this.#h.stateless) {
      // RFC 3261 §8.2.7: the same tag for the same request, every time it comes.
      const hash = statelessHash(request.callId, request.from.tag ?? "", this.#h.tagSalt);
      toTag ??= hash.toString(16).padStart(8, "0");
      sessionId = hash & 0x7fffffff;
    } else {
      toTag ??= this.#h.tag();
      sessionId = session ?? Math.floor(this.#h.tagRandom() * 0x7fffffff);
    }
    const ctx = new _Context(tx, remote, toTag, silent ? 1 : action?.duplicate ?? 1, silent, sessionId);
    ctx.source = this.#h.source();
    return ctx;
  }

  #newRequest(request: SipRequest, key: string, remote: Remote, at: number): void {
    const input = new _RuleInput(request, remote);
    const action = this.#h.planner.choose(request, remote, input);
    const ctx = this.#newContext(request, key, remote, action);
    ctx.arrivedAt = at;
    try {
      if (action?.kind === "silent") {
        // Nothing is sent; the transaction absorbs retransmissions until the client gives up
        // (its Timer B or F: 64*T1).
        this.#schedule(at + 64 * this.#h.timers.T1, () => this.#finish(ctx), ctx);
        ctx.compact();
        return;
      }
      this.#execute(ctx, this.#h.planner.plan(ctx, input, action), at);
      // A transaction whose answer is held back waits: it keeps only what it still needs.
      if (!ctx.tx.final && this.#transactions.get(key) === ctx) ctx.compact();
    } catch (e) {
      if (!_isInputError(e)) throw e;
      // A header read late (Require, Expires, ...) is malformed: 400 naming it.
      if (!ctx.tx.final) this.#sendFinal(ctx, this.#h.replies.build(ctx, 400, _phrase(e.message)), at);
    }
  }

  /**
   * A request answered as a stateless UAS (RFC 3261 §8.2.7): its final response only, at once,
   * and nothing kept of it (no transaction, no dialog, no timer).
   */
  #answerStateless(request: SipRequest, key: string, remote: Remote, at: number): void {
    const input = new _RuleInput(request, remote);
    const action = this.#h.planner.choose(request, remote, input);
    if (action?.kind === "silent") return;
    const ctx = this.#context(request, key, remote, action);
    // §8.2.7: no provisional responses. A final held back (`after`) goes now; an answer of
    // provisionals only sends nothing. (A header that does not parse when read here is
    // answered 400 by #request, as any request's.)
    let reply = this.#h.planner.plan(ctx, input, action).final?.reply;
    if (reply !== undefined && !this.#h.outbox.fits(ctx, reply.data.length, at)) reply = this.tooLarge(ctx, reply);
    if (reply !== undefined && this.#h.outbox.emit(reply, remote, ctx.head.route, at, ctx.duplicate, ctx.source)) {
      this.#h.outbox.counters.answered(0);
    }
  }

  /**
   * The 503 that replaces a final response too large for the anti-amplification limit of a
   * source not validated yet (RFC 9000 §8.1): short, and it says when to try again. By then
   * the source's budget has grown by the request it sends again.
   */
  tooLarge(ctx: _Context, instead: _Reply): _Reply {
    if (this.#h.guard!.firstRefusal(ctx.source!)) {
      this.#h.event(
        "limit",
        `amplification: ${ctx.source!.key} is not validated: a ${instead.status} of ${instead.data.length} bytes ` +
          "replaced by a 503",
        ctx.remote,
      );
    }
    return this.#h.replies.build(ctx, 503, "Service Unavailable: answer too large for an unverified address", [
      ["Retry-After", String(this.#h.retryAfter)],
    ]);
  }

  // ---------------------------------------------------------------------------------------------
  // Running a plan

  #execute(ctx: _Context, plan: _Plan, at: number): void {
    const final = plan.final;
    // To a source not validated yet, provisionals go only when they leave room for a final sent
    // at once (RFC 9000 §8.1 budget): the final matters, a 1xx does not.
    const reserve = final !== undefined && final.after <= 0 ? final.reply.data.length : 0;
    // RFC 3261 §17.2.1: the INVITE server transaction sends 100 Trying unless it knows the TU
    // answers within 200 ms; then the 100 would only cost a datagram (the default answer, 180
    // and 200 at once, goes without one).
    if (ctx.tx.invite && !_answersSoon(plan)) {
      const trying = new _Reply(100, ctx.head.format(100, undefined, { server: this.#h.server }));
      if (this.#h.outbox.fits(ctx, trying.data.length + reserve, at)) this.#respond(ctx, trying, at);
    }
    for (const p of plan.provisional) {
      if (p.after > 0) this.#schedule(at + p.after, (when) => this.#reliable.provisional(ctx, p.reply, when), ctx);
      else if (this.#h.outbox.fits(ctx, p.reply.data.length + reserve, at)) {
        this.#reliable.provisional(ctx, p.reply, at);
      }
    }
    if (final !== undefined) {
      if (final.after <= 0) this.#sendFinal(ctx, final.reply, at);
      else this.#schedule(at + final.after, (when) => this.#sendFinal(ctx, final.reply, when), ctx);
    } else if (plan.noFinal) {
      this.#schedule(at + this.#h.timers.C, (when) => {
        this.#h.event(
          "timeout",
          `${ctx.request.method} ${ctx.request.callId}: no final response after ${this.#h.timers.C} ms: 408`,
          ctx.remote,
        );
        this.#respond(ctx, this.#h.replies.build(ctx, 408), when);
      }, ctx);
    }
  }

  #sendFinal(ctx: _Context, final: _Reply, at: number): void {
    // RFC 3262 §3: a 2xx waits for the PRACK of every reliable provisional response (reliable.ts).
    if (ctx.tx.final || this.#reliable.holds(ctx, final)) return;
    let reply = final;
    if (!ctx.silent && !this.#h.outbox.fits(ctx, reply.data.length, at)) reply = this.tooLarge(ctx, reply);
    if (reply.status >= 200 && reply.status < 300) {
      // The dialog the 2xx makes, updates or ends, and its session timer (dialogs.ts, session_timer.ts).
      const refused = this.#h.dialogs.answered(ctx, at);
      if (refused !== undefined) {
        return this.#respond(
          ctx,
          this.#h.replies.build(ctx, 503, refused, [["Retry-After", String(this.#h.retryAfter)]]),
          at,
        );
      }
    }
    this.#respond(ctx, reply, at);
  }

  #respond(ctx: _Context, reply: _Reply, at: number): void {
    if (ctx.silent || !ctx.tx.accept(reply, at)) return;
    this.#h.outbox.emit(reply, ctx.remote, ctx.head.route, at, ctx.duplicate, ctx.source);
    if (reply.status >= 200) this.#reliable.finalSent(ctx);
    // The transaction accepts one final response: its time from the request's arrival.
    if (reply.status >= 200) this.#h.outbox.counters.answered(at - ctx.arrivedAt);
    if (ctx.media && reply.status >= 200) {
      // A final response that made no dialog: the request's RTP ports go back (a 2xx to an
      // INVITE handed them to its dialog in #sendFinal).
      ctx.media = false;
      const status = reply.status;
      this.#h.session.release(
        ctx.request.callId,
        status === 487 ? "cancelled" : status === 408 ? "timeout" : "rejected",
      );
    }
    this.#settle(ctx, at);
  }

  /**
   * After the transaction moved: a transaction left only to absorb or answer retransmissions
   * becomes a tombstone; otherwise its next timer is armed.
   */
  #settle(ctx: _Context, at: number): void {
    const tx = ctx.tx;
    const state = tx.state;
    if (state === "Completed" && !tx.invite) {
      // RFC 3261 §17.2.2: Completed answers retransmissions with the final until Timer J.
      this.#bury(ctx, "Completed", tx.timer("J") ?? at, tx.lastResponse, at);
    } else if (state === "Confirmed") {
      // RFC 3261 §17.2.1: Confirmed absorbs ACKs until Timer I.
      this.#bury(ctx, "Confirmed", tx.timer("I") ?? at, undefined, at);
    } else if (state === "Accepted" && tx.acked) {
      // RFC 6026 §7.1: Accepted absorbs retransmitted INVITEs until Timer L; the ACK ended the 2xx resends.
      this.#bury(ctx, "Accepted", tx.timer("L") ?? at, undefined, at);
    } else {
      this.#arm(ctx);
    }
  }

  /** Swaps a transaction for its tombstone until `expires` (or forgets it when that is now). */
  #bury(ctx: _Context, state: _Tomb["state"], expires: number, final: _Reply | undefined, at: number): void {
    if (expires <= at) return this.#finish(ctx);
    this.#cancelJobs(ctx);
    const ours = ctx.request.to.tag === undefined ? ctx.toTag : undefined;
    // The tombstone takes the transaction's place (and its entry in the source's share).
    if (!this.#transactions.delete(ctx)) return;
    this.#tombs.add(ctx.tx.key, state, expires, ours, ctx.duplicate, final, ctx.source, state === "Confirmed");
    this.#settled(ctx);
  }

  #handle(ctx: _Context, events: TransactionEvent<_Reply>[], at: number): void {
    for (const event of events) {
      if (event.kind === "send") {
        // A retransmission: the answer was not acknowledged at once, so the transaction waits
        // and keeps only what it still needs.
        ctx.compact();
        if (!ctx.silent) this.#h.outbox.counters.retransmissionsSent += ctx.duplicate;
        if (!ctx.silent) this.#h.outbox.emit(event.response, ctx.remote, ctx.head.route, at, ctx.duplicate, ctx.source);
      } else if (event.kind === "timeout") {
        if (event.timer === "L") {
          // RFC 3261 §13.3.1.4: the 2xx was never acknowledged; the dialog is dropped.
          const dialog = ctx.dialog;
          if (dialog !== undefined && !dialog.acked && dialog.inviteKey === ctx.tx.key) {
            this.#h.dialogs.delete(dialog);
            if (dialog.media) {
              dialog.media = false;
              this.#h.session.release(dialog.callId, "no-ack");
            }
          }
          this.#h.event(
            "timeout",
            `INVITE ${ctx.request.callId}: no ACK for the 2xx (Timer L); dialog dropped`,
            ctx.remote,
          );
        } else {
          this.#h.event("timeout", `INVITE ${ctx.request.callId}: no ACK for the final response (Timer H)`, ctx.remote);
        }
      } else {
        this.#finish(ctx);
        return;
      }
    }
    this.#arm(ctx);
  }

  /** Makes sure a job runs when the transaction's next timer is due. */
  #arm(ctx: _Context): void {
    const next = ctx.tx.nextTimer() ?? -1;
    if (next === ctx.armedAt) return;
    ctx.armJob?.cancel();
    ctx.armedAt = next;
    ctx.armJob = next < 0 ? undefined : this.#h.jobs.schedule(next, (at) => this.#fire(ctx, at));
  }

  /** The transaction's timers fire (its arm job is due). */
  #fire(ctx: _Context, at: number): void {
    ctx.armedAt = -1;
    ctx.armJob = undefined;
    if (this.#transactions.get(ctx.tx.key) !== ctx) return;
    this.#handle(ctx, ctx.tx.fire(at), at);
  }

  #cancelJobs(ctx: _Context): void {
    if (ctx.jobs !== undefined) {
      for (const job of ctx.jobs) job.cancel();
      ctx.jobs = undefined;
    }
    ctx.armJob?.cancel();
    ctx.armJob = undefined;
    ctx.armedAt = -1;
  }

  /** Forgets a transaction and its pending jobs. */
  #finish(ctx: _Context): void {
    ctx.tx.terminate();
    this.#cancelJobs(ctx);
    this.#deleteTransaction(ctx);
  }

  /** A dialog ends before its INVITE's 2xx is acknowledged: the resends stop (the BYE ends the call). */
  stopInvite(dialog: Dialog, at: number): void {
    const invite = this.#transactions.get(dialog.inviteKey);
    if (invite instanceof _Context && invite.tx.state === "Accepted") {
      invite.tx.ack(at);
      this.#settle(invite, at);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // ACK and CANCEL

  #ack(request: SipRequest, key: string, remote: Remote, at: number): void {
    // RFC 3261 §17.2.1: the ACK for a non-2xx belongs to the INVITE transaction (a tombstone
    // in Confirmed absorbs it).
    const entry = this.#entry(key);
    if (entry !== undefined && entry.invite && entry.state !== "Accepted" && entry.state !== "Proceeding") {
      // Our To tag in it: the source got our final response.
      if (entry.toTag !== undefined && request.to.tag === entry.toTag) this.#h.validate();
      // A tombstone in Confirmed absorbs a retransmitted ACK (RFC 3261 §17.2.1).
      if (!(entry instanceof _Context)) this.#h.outbox.counters.retransmissionsAbsorbed++;
      if (entry instanceof _Context) {
        entry.tx.ack(at);
        this.#settle(entry, at);
      }
      return;
    }
    // RFC 3261 §13.3.1.4: the ACK for a 2xx is matched by the dialog.
    const dialog = this.#h.dialogs.of(request);
    if (dialog === undefined) {
      this.#h.outbox.counters.drop("stray");
      if (this.#h.eventsWanted) {
        this.#h.event("dropped", `ACK ${request.callId}: matches no transaction or dialog`, remote);
      }
      return;
    }
    this.#h.validate();
    dialog.lastRequestAt = at;
    // An ACK for a 2xx already acknowledged: a retransmission, absorbed.
    if (dialog.acked) this.#h.outbox.counters.retransmissionsAbsorbed++;
    if (!dialog.acked) {
      dialog.acked = true;
      const invite = this.#transactions.get(dialog.inviteKey);
      if (invite instanceof _Context) {
        invite.tx.ack(at);
        this.#settle(invite, at);
      }
    }
    if (dialog.offer !== undefined && dialog.answerProblem === undefined) {
      // RFC 3264 §6: the answer to our offer, checked.
      const problem = ackAnswerProblem(dialog.offer, request);
      dialog.answerProblem = problem;
      this.#h.event("answer", `ACK ${request.callId}: ${problem === null ? "SDP answer accepted" : problem}`, remote, {
        callId: request.callId,
      });
    }
  }

  #cancel(request: SipRequest, key: string, remote: Remote, at: number): void {
    // RFC 3261 §9.2: the CANCEL matches the INVITE transaction by the same rules, method aside.
    const invite = this.#entry(transactionKey(request, "INVITE"));
    const tx = new ServerTransaction<_Reply>({ request, transport: remote.transport, timers: this.#h.timers, key });
    // §9.2: the To tags of the 200 to the CANCEL and of the 487 SHOULD be the same.
    const toTag = invite?.toTag ?? request.to.tag ?? this.#h.tag();
    const ctx = new _Context(tx, remote, toTag, invite?.duplicate ?? 1, false, 0);
    ctx.source = this.#h.source();
    ctx.arrivedAt = at;
    this.#addTransaction(ctx);
    if (invite === undefined || !invite.invite) {
      this.#respond(ctx, this.#h.replies.build(ctx, 481), at);
      return;
    }
    this.#respond(ctx, this.#h.replies.build(ctx, 200), at);
    // A silent INVITE stays silent: no 487. A finished one (a tombstone) has its final already.
    if (invite instanceof _Context && !invite.tx.final && !invite.silent) {
      this.#cancelJobs(invite);
      this.#respond(invite, this.#h.replies.build(invite, 487), at);
    }
  }
}

/**
 * How long the transaction user may take to answer before the INVITE server transaction must
 * send 100 Trying (RFC 3261 §17.2.1).
 */
const _TRYING_AFTER = 200;

/** Whether a plan sends a provisional or final response within 200 ms (RFC 3261 §17.2.1). */
function _answersSoon(plan: _Plan): boolean {
  if (plan.final !== undefined && plan.final.after <= _TRYING_AFTER) return true;
  for (const p of plan.provisional) if (p.after <= _TRYING_AFTER) return true;
  return false;
}
