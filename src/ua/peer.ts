/**
 * The pure SIP peer: bytes (or a parsed message) and where they came from in; responses, where
 * to send them and when, out. No sockets, no clock, no timers of its own: the caller passes
 * the time to {@linkcode SipPeer.receive} and {@linkcode SipPeer.tick}, and asks
 * {@linkcode SipPeer.nextTimer} when to tick next.
 *
 * The class is the facade over the parts in this folder (uas.ts, reliable.ts, registrar.ts,
 * dialogs.ts, session_timer.ts, guard.ts, client.ts, auth_gate.ts, refer.ts, counters.ts, ...):
 * its ~860 lines are the public methods and the wiring that gives each part what it needs,
 * short methods that read best in one place.
 *
 * @module
 */

import { SipParseError } from "../sip/errors.ts";
import { _detach, type SipMessage, SipRequest, type SipResponse } from "../sip/message.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, parseMessage, type ParseOptions } from "../sip/parse.ts";
import { type Codec, DEFAULT_CODECS } from "../media/sdp.ts";
import type { Rule, Transport } from "../rules/rules.ts";
import { createRandom } from "../rules/action.ts";
import { _responseFromWire, DEFAULT_SERVER } from "../sip/response.ts";
import { TOKEN_CHAR } from "../sip/chars.ts";
import { type Binding, Registrar } from "./registrar.ts";
import { DEFAULT_TIMERS, type TransactionInfo } from "./transaction.ts";
import { Dialog } from "./dialog.ts";
import { Admission, type SourceGuard, type SourceRecord } from "./guard.ts";
import {
  _Context,
  _ExpiryQueue,
  type _MediaHold,
  _Output,
  type _Plan,
  type _Planned,
  type _Reject,
  _Reply,
  _Tomb,
} from "./context.ts";
import { Scheduler } from "./scheduler.ts";
import { _authProblem, AuthGate, type AuthGateHost } from "./auth_gate.ts";
import { Dialogs, type DialogsHost } from "./dialogs.ts";
import { Outbox } from "./outbox.ts";
import { PeerCounters, type PeerStats } from "./counters.ts";
import { type StatelessOptions, StatelessReplies } from "./stateless.ts";
import { TransactionUser, type UasHost } from "./uas.ts";
import { SessionAnswers, type SessionOptions } from "./session.ts";
import { Replies, type RepliesOptions } from "./replies.ts";
import { Planner, type PlannerHost } from "./plan.ts";
import { _isInputError, _phrase, type CheckEnv } from "./checks.ts";
import { DEFAULT_SESSION_TIMER, type SessionTimerLimits } from "./extensions.ts";
import { type ReferHost, ReferNotifier } from "./refer.ts";
import { type TransferHost, Transferor } from "./transfer.ts";
import { checkReplaces } from "./replaces.ts";
import type { ReferMode } from "../rules/call_flows.ts";
import type {
  _EventDetails,
  Output,
  PeerEvent,
  PeerLimits,
  PeerOptions,
  PeerRequest,
  PeerTimers,
  Remote,
} from "./types.ts";

export type {
  Output,
  PeerEvent,
  PeerLimits,
  PeerOptions,
  PeerRequest,
  PeerTimers,
  Remote,
  RtpReleaseReason,
} from "./types.ts";
export type { PeerAuthOptions } from "./auth_gate.ts";

/**
 * The pure SIP peer: a UAS that answers every request by its rules and built-in behaviour.
 *
 * Shape: {@linkcode SipPeer.receive} returns what is due at once (100 Trying, immediate
 * answers); anything later (delayed finals, Timer G retransmissions, 408 on Timer C) is kept
 * and returned by {@linkcode SipPeer.tick} once due. Both first release whatever was due by
 * the time given, so nothing is lost if the caller ticks late. {@linkcode SipPeer.nextTimer}
 * says when to tick next.
 *
 * A transaction that has sent its final response (and, for INVITE, seen the ACK) keeps only a
 * tombstone until its last timer (J, I or L): its key, state and expiry, and for non-INVITE the
 * bytes of the final response to send again to a retransmission. So the table holds every
 * transaction of the last 64*T1 (32 s) cheaply, which is what a busy UDP peer needs.
 *
 * @example An OPTIONS ping
 * ```ts
 * import { SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const peer = new SipPeer({ address: "192.0.2.1" });
 * const out = peer.receive(
 *   new TextEncoder().encode(
 *     "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *       "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
 *   ),
 *   { address: "192.0.2.9", port: 5060, transport: "udp" },
 *   0,
 * );
 * assert.equal(out.length, 1);
 * assert.equal(out[0].message.status, 200);
 * assert.equal(out[0].remote.port, 5060);
 * ```
 */
export class SipPeer {
  /** The registrar behind REGISTER. */
  readonly registrar: Registrar;
  #rules: readonly Rule[];
  #defaults: boolean;
  #codecs: readonly Codec[];
  #address: string;
  #port: number;
  #ports: Partial<Record<Transport, number>>;
  #server: string;
  #timers: PeerTimers;
  #retryAfter: number;
  #supported: readonly string[];
  #sessionTimer: SessionTimerLimits;
  /** SDP answers, the answer cache, RTP ports held per call (see session.ts). */
  #session: SessionAnswers;
  /** Writes the responses and the BYE (see replies.ts). */
  #replies: Replies;
  /** What answers a new request (see plan.ts). */
  #planner: Planner;
  /** What the RFC 3261 §8.2 checks need (see checks.ts). */
  #checkEnv: CheckEnv;
  #guard: SourceGuard | undefined;
  /** The source of the message being handled, with a guard. */
  #src: SourceRecord | undefined = undefined;
  #limits: PeerLimits;
  /** Parser options: a datagram, or a message framed on a stream, within `maxMessageSize`. */
  #datagram: ParseOptions;
  #stream: ParseOptions;
  #onEvent: ((event: PeerEvent) => void) | undefined;
  #onReceive: ((message: SipMessage, remote: Remote, at: number) => void) | undefined;
  #selectRule: ((request: SipRequest, remote: Remote) => Rule | undefined) | undefined;
  #onResponse: ((response: SipResponse, remote: Remote, at: number) => void) | undefined;
  #random: () => number;
  #tagRandom: () => number;
  #statelessMode: boolean;
  /** Mixed into the To tags of a stateless peer, so that two peers tag the same call apart. */
  #tagSalt: number;
  /** The server transactions and what is done with each request (see uas.ts). */
  #uas: TransactionUser;
  /** What is sent after a message or a tick, within each source's budget (see outbox.ts). */
  #outbox: Outbox;
  /** Responses without a transaction (see stateless.ts). */
  #stateless: StatelessReplies;
  /** The dialogs, their shares, idle ones ended, the peer's BYEs (see dialogs.ts). */
  #dialogs: Dialogs;
  /** The `refer` subscriptions of REFERs taken (RFC 3515, see refer.ts). */
  #refers: ReferNotifier;
  /** What a REFER does when its rule does not say (`PeerOptions.refer`). */
  #referMode: ReferMode;
  /** The calls transferred away by a rule's `transfer` (RFC 3515, see transfer.ts). */
  #transfers: Transferor;
  #jobs = new Scheduler();
  /** What it received, sent and dropped (see counters.ts; read by `stats()`). */
  readonly #counters = new PeerCounters();
  /** Digest authentication (see auth_gate.ts). */
  #auth: AuthGate;
  #now = 0;
  #closed = false;

  /**
   * Makes a peer with no transaction, dialog or binding; it acts only when given a message or a time.
   *
   * @param options Rules, address, timers, limits and callbacks.
   */
  constructor(options: PeerOptions = {}) {
    this.#rules = options.rules ?? [];
    this.#defaults = options.defaultRules ?? true;
    this.#codecs = options.codecs ?? DEFAULT_CODECS;
    this.#address = options.address ?? "127.0.0.1";
    this.#port = options.port ?? 5060;
    this.#ports = options.ports ?? {};
    this.#server = options.server ?? DEFAULT_SERVER;
    this.#timers = { ...DEFAULT_TIMERS, C: 180000, dialogIdle: 7_200_000, ...options.timers };
    this.#retryAfter = options.retryAfter ?? 5;
    this.#statelessMode = options.stateless ?? false;
    this.#supported = _supported(options.supported, this.#statelessMode);
    this.#sessionTimer = _sessionTimer(options.sessionTimer);
    this.#onEvent = options.onEvent;
    this.#onReceive = options.onReceive;
    this.#selectRule = options.selectRule;
    this.#onResponse = options.onResponse;
    const seed = options.seed ?? 0;
    this.#random = createRandom(seed);
    this.#tagRandom = createRandom(seed ^ 0x5a5a5a5a);
    if (this.#statelessMode && options.rtpRelease !== undefined) {
      throw new TypeError("SipPeer: a stateless peer takes no rtpRelease (it sees no call end)");
    }
    this.#tagSalt = Math.floor(this.#tagRandom() * 0x100000000);
    const limits = { ...DEFAULT_PEER_LIMITS, ...options.limits };
    this.#limits = limits;
    this.#guard = options.guard;
    const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#datagram = { stream: false, maxMessageSize };
    this.#stream = { stream: true, maxMessageSize };
    this.#outbox = new Outbox(
      options.guard,
      (kind, message, remote) => this.#event(kind, message, remote),
      this.#counters,
    );
    this.#session = new SessionAnswers(this.#sessionOptions(options, limits));
    this.#replies = new Replies(this.#repliesOptions());
    this.#dialogs = new Dialogs(this.#dialogsHost(options, limits));
    this.#refers = new ReferNotifier(this.#referHost(options));
    this.#referMode = options.refer ?? (options.onRefer === undefined ? "notify" : "call");
    this.#transfers = new Transferor(this.#transferHost());
    this.#checkEnv = this.#checkEnvOf();
    this.registrar = new Registrar({
      ...options.registrar,
      maxBindings: limits.bindings,
      maxBindingsPerSource: options.guard?.shareOf(limits.bindings) ?? limits.bindings,
      retryAfter: this.#retryAfter,
    });
    const authProblem = _authProblem(options.auth, this.#rules);
    if (authProblem !== undefined) throw new TypeError(`SipPeer: ${authProblem}`);
    this.#auth = new AuthGate(options.auth, this.#authHost());
    this.#planner = new Planner(this.#plannerHost());
    this.#stateless = new StatelessReplies(this.#statelessOptions());
    this.#uas = new TransactionUser(this.#uasHost(options, limits));
  }

  /** What the ReferNotifier of this peer needs of it (REFER and its NOTIFYs, refer.ts). */
  #referHost(options: PeerOptions): ReferHost {
    return {
      jobs: this.#jobs,
      send: (dialog, method, extra, body, at, done) => this.#dialogs.request(dialog, method, extra, body, at, done),
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
      onRefer: options.onRefer,
    };
  }

  /** What the Transferor of this peer needs of it (a rule's `transfer`, transfer.ts). */
  #transferHost(): TransferHost {
    return {
      jobs: this.#jobs,
      send: (dialog, method, extra, body, at, done) => this.#dialogs.request(dialog, method, extra, body, at, done),
      hangUp: (dialog, at) => this.#dialogs.hangUp(dialog, at),
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
    };
  }

  /** What the checks of a request need of this peer (checks.ts). */
  #checkEnvOf(): CheckEnv {
    return {
      supported: this.#supported,
      parseOffer: (body) => this.#session.parseOffer(body),
      hostport: this.#replies.hostport,
      stateless: this.#statelessMode,
      dialogOf: (request) => this.#dialogs.of(request),
      inDialog: (dialog) => {
        // A request in a dialog we made carries our tag: the source receives what we send.
        this.#validate();
        dialog.lastRequestAt = this.#now;
      },
    };
  }

  /** What the AuthGate of this peer needs of it. */
  #authHost(): AuthGateHost {
    return {
      now: () => this.#now,
      eventsWanted: this.#onEvent !== undefined,
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
    };
  }
  /** What the SessionAnswers of this peer needs of it. */
  #sessionOptions(options: PeerOptions, limits: PeerLimits): SessionOptions {
    return {
      address: this.#address,
      codecs: this.#codecs,
      streamsPerCall: limits.streamsPerCall,
      streams: limits.streams,
      retryAfter: this.#retryAfter,
      rtpPort: options.rtpPort ?? ((_callId, index) => 4000 + 2 * index),
      rtpRelease: options.rtpRelease,
      rtpDirection: options.rtpDirection,
      guard: options.guard,
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
    };
  }

  /** What the Replies of this peer needs of it. */
  #repliesOptions(): RepliesOptions {
    return {
      server: this.#server,
      address: this.#address,
      port: this.#port,
      ports: this.#ports,
      supported: this.#supported,
      defaults: this.#defaults,
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
    };
  }

  /** What the Dialogs of this peer needs of it. */
  #dialogsHost(options: PeerOptions, limits: PeerLimits): DialogsHost {
    return {
      limit: limits.dialogs,
      timers: this.#timers,
      guard: options.guard,
      jobs: this.#jobs,
      replies: this.#replies,
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
      tag: () => this.#tag(),
      stopInvite: (dialog, at) => this.#uas.stopInvite(dialog, at),
      releaseMedia: (callId, reason) => this.#session.release(callId, reason),
      transfer: (dialog, spec, at) => this.#transfers.start(dialog, spec, at),
    };
  }

  /** What the Planner of this peer needs of it. */
  #plannerHost(): PlannerHost {
    return {
      auth: this.#auth,
      rules: this.#rules,
      defaults: this.#defaults,
      random: this.#random,
      stateless: this.#statelessMode,
      retryAfter: this.#retryAfter,
      selectRule: this.#selectRule,
      replies: this.#replies,
      session: this.#session,
      registrar: this.registrar,
      checkEnv: this.#checkEnv,
      now: () => this.#now,
      sourceKey: () => this.#src?.key,
      dialogRoom: (ctx) => this.#dialogs.room(ctx),
      dialogOf: (request) => this.#dialogs.of(request),
      validate: () => this.#validate(),
      fits: (ctx, bytes, at) => this.#outbox.fits(ctx, bytes, at),
      tooLarge: (ctx, instead) => this.#uas.tooLarge(ctx, instead),
      eventsWanted: this.#onEvent !== undefined,
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
      sessionTimer: this.#sessionTimer,
      // RFC 3262 §3: the first RSeq is random, 1..2^31-1, with room for 65535 more.
      rseqStart: () => 1 + Math.floor(this.#tagRandom() * 0x7fff0000),
      refer: (ctx) => this.#refers.accept(ctx, this.#now, (ctx.referMode ?? this.#referMode) === "call"),
      notify: (ctx) => this.#transfers.notify(ctx.request, ctx.dialog, ctx.remote, this.#now),
      replaces: this.#statelessMode ? undefined : (ctx) =>
        checkReplaces(ctx, {
          dialog: (callId, localTag, remoteTag) => this.#dialogs.get(callId, localTag, remoteTag),
          early: (callId, localTag, remoteTag) => this.#uas.early(callId, localTag, remoteTag),
        }),
    };
  }

  /** What the StatelessReplies of this peer needs of it. */
  #statelessOptions(): StatelessOptions {
    return {
      outbox: this.#outbox,
      replies: this.#replies,
      source: () => this.#src,
      parseOptions: (remote) => this.#parseOptions(remote),
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
    };
  }

  /** What the TransactionUser of this peer needs of it. */
  #uasHost(options: PeerOptions, limits: PeerLimits): UasHost {
    return {
      timers: this.#timers,
      limits,
      retryAfter: this.#retryAfter,
      stateless: this.#statelessMode,
      tagSalt: this.#tagSalt,
      server: this.#server,
      guard: options.guard,
      jobs: this.#jobs,
      outbox: this.#outbox,
      replies: this.#replies,
      statelessReplies: this.#stateless,
      planner: this.#planner,
      session: this.#session,
      dialogs: this.#dialogs,
      now: () => this.#now,
      source: () => this.#src,
      validate: () => this.#validate(),
      eventsWanted: this.#onEvent !== undefined,
      event: (kind, message, remote, details) => this.#event(kind, message, remote, details),
      tag: () => this.#tag(),
      tagRandom: () => this.#tagRandom(),
      parseOptions: (remote) => this.#parseOptions(remote),
    };
  }

  /** The table sizes in force (see {@linkcode PeerLimits}). */
  get limits(): Readonly<PeerLimits> {
    return this.#limits;
  }

  /** The edge limits in force, if any (see {@linkcode PeerOptions.guard}). */
  get guard(): SourceGuard | undefined {
    return this.#guard;
  }

  /** Parser options for a message from `remote`: framed on a stream (RFC 3261 §18.3), or a datagram. */
  #parseOptions(remote: Remote): ParseOptions {
    return remote.transport === "tcp" || remote.transport === "tls" ? this.#stream : this.#datagram;
  }

  /** The dialogs in progress, oldest first. */

  get dialogs(): Dialog[] {
    return this.#dialogs.values();
  }

  /**
   * The server transactions in progress, oldest first: those still at work, and the
   * tombstones of those that only absorb retransmissions until their last timer.
   */
  get transactions(): TransactionInfo[] {
    return this.#uas.values();
  }

  /**
   * The registrar's current bindings.
   *
   * @param now The time, ms (default: the latest time the peer was given).
   * @returns The bindings.
   */
  bindings(now: number = this.#now): Binding[] {
    return this.registrar.all(now);
  }

  /**
   * Takes a message from the network and returns the responses due by `at`.
   *
   * @param input The bytes of one message (a UDP datagram, a framed TCP message, a WebSocket
   *   message), or a parsed message.
   * @param remote Where it came from.
   * @param at The time it arrived, ms (never earlier than the time of a previous call).
   * @returns The messages to send now, in order.
   */
  receive(input: Uint8Array | SipMessage, remote: Remote, at: number): Output[] {
    if (this.#closed) return [];
    this.#begin(at);
    const guard = this.#guard;
    if (guard !== undefined) {
      const src = guard.source(remote.address, at);
      const verdict = guard.admit(src, at);
      const dropped = guard.banReport(src);
      if (dropped > 0) {
        this.#event("limit", `rate: ${src.key}: ${dropped} messages dropped during its ban`, remote);
      }
      if (verdict === Admission.Drop) {
        this.#counters.drop("rate");
        return this.#end(at);
      }
      if (remote.transport === "udp" && input instanceof Uint8Array) guard.received(src, input.length);
      this.#src = src;
      if (verdict === Admission.Refuse) {
        this.#counters.drop("rate");
        this.#overRate(input, remote, at);
        return this.#end(at);
      }
    }
    let message: SipMessage | undefined;
    if (input instanceof Uint8Array) {
      if (!_looksLikeSip(input)) {
        this.#counters.parseErrors++;
        this.#counters.drop("not_sip");
        this.#event("parse-error", `dropped: not a SIP message (${_firstBytes(input)})`, remote);
        return this.#end(at);
      }

      try {
        message = parseMessage(input, this.#parseOptions(remote));
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e;
        this.#counters.parseErrors++;
        this.#stateless.parseError(e, input, remote, at);
      }
    } else {
      message = input;
    }
    if (message !== undefined) {
      if (this.#onReceive !== undefined) this.#onReceive(message, remote, at);
      if (message.type === "request") {
        this.#counters.request(message.method, remote.transport);
        this.#uas.request(message, remote, at);
      } else if (this.#dialogs.response(message, remote, at)) {
        // An answer to the peer's own BYE.
      } else if (this.#onResponse !== undefined) {
        this.#onResponse(message, remote, at);
      } else {
        this.#counters.drop("stray");
        if (this.#onEvent !== undefined) {
          this.#event("dropped", `a ${message.status} response that answers no request of ours`, remote);
        }
      }
    }
    return this.#end(at);
  }

  /**
   * Returns what became due by `now`: delayed responses, retransmissions, timeouts.
   *
   * @param now The time, ms.
   * @returns The messages to send, in order.
   */
  tick(now: number): Output[] {
    if (this.#closed) return [];
    this.#begin(now);
    return this.#end(now);
  }

  /**
   * What the peer has counted since it was made ({@linkcode PeerStats}): requests by method and
   * transport, responses by status, parse errors, drops by reason, retransmissions, the
   * response-time histogram, and what its tables hold now against their limits. The counters
   * cost no allocation per message; this makes a new plain object each time.
   *
   * @returns The counters, as a plain object.
   * @example
   * ```ts
   * import { SipPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const peer = new SipPeer();
   * peer.receive(new TextEncoder().encode("hello"), { address: "192.0.2.9", port: 5060, transport: "udp" }, 0);
   * const stats = peer.stats();
   * assert.equal(stats.parseErrors, 1);
   * assert.equal(stats.drops.not_sip, 1);
   * assert.equal(stats.limits.dialogs, 10_000);
   * ```
   */
  stats(): PeerStats {
    const stats = this.#counters.snapshot();
    const l = this.#limits;
    stats.active = {
      transactions: this.#uas.size,
      pending: this.#uas.pending,
      dialogs: this.#dialogs.size,
      bindings: this.registrar.size,
    };
    stats.limits = { transactions: l.transactions, pending: l.pending, dialogs: l.dialogs, bindings: l.bindings };
    return stats;
  }

  /**
   * The live counters behind {@linkcode SipPeer.stats}, for the server around the peer to add
   * its own drops to (`serve()`); not for other callers.
   *
   * @returns The counters.
   */
  _counters(): PeerCounters {
    return this.#counters;
  }

  /** When {@linkcode SipPeer.tick} next has something to do, ms; undefined when idle. */
  nextTimer(): number | undefined {
    const next = this.#next();
    return next < 0 ? undefined : next;
  }

  /**
   * Ends dialogs from our side with a BYE (RFC 3261 §15.1.1): the dialog `target`, or every
   * dialog of the Call-ID `target`. A dialog whose 2xx has not been acknowledged yet is left
   * alone (§15: the callee must not send BYE before the ACK; ask again later, or let Timer L
   * drop it). Each dialog ends at once, as §15.1.1 lets the UAC consider the session over
   * when the BYE is passed on: its RTP ports are released (`rtpRelease`, reason `bye`), and a
   * request of the caller's that crosses the BYE gets 481.
   *
   * The BYE is a request in the dialog (§12.2.1.1): Request-URI the remote target (the
   * caller's Contact), Route from the route set (the INVITE's Record-Route; a strict router
   * first becomes the Request-URI), From our URI and tag, To the caller's, the dialog's
   * Call-ID, CSeq the next local sequence number, and a new branch in our Via (§8.1.1.7).
   * It goes to where the dialog's requests came from. The caller of this method sends it; the
   * peer runs its client transaction (§17.1.2): resends on UDP come out of
   * {@linkcode SipPeer.takeRequests} (Timer E), and its response, matched by `branch`, ends it
   * (a `bye` event says how it was answered; `timeout` if none came, Timer F).
   *
   * @param target A dialog, or a Call-ID.
   * @param at The time, ms.
   * @returns The BYEs to send, one per dialog ended.
   * @example
   * ```ts
   * import { SipPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const peer = new SipPeer({ address: "192.0.2.1" });
   * const caller = { address: "192.0.2.9", port: 5062, transport: "udp" as const };
   * const common = "From: <sip:alice@192.0.2.9>;tag=a1\r\nCall-ID: c1\r\nContact: <sip:alice@192.0.2.9:5062>\r\n";
   * const ok = peer.receive(
   *   new TextEncoder().encode(
   *     "INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1\r\n" +
   *       common + "To: <sip:echo@192.0.2.1>\r\nCSeq: 1 INVITE\r\n\r\n",
   *   ),
   *   caller,
   *   0,
   * ).at(-1)!;
   * const tag = ok.message.to.tag;
   * peer.receive(
   *   new TextEncoder().encode(
   *     "ACK sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK2\r\n" +
   *       common + `To: <sip:echo@192.0.2.1>;tag=${tag}\r\nCSeq: 1 ACK\r\n\r\n`,
   *   ),
   *   caller,
   *   10,
   * );
   * const [bye] = peer.bye("c1", 20);
   * assert.equal(bye.message.uri, "sip:alice@192.0.2.9:5062");
   * assert.equal(bye.message.from.tag, tag);
   * assert.equal(bye.message.to.tag, "a1");
   * assert.equal(bye.message.cseq.method, "BYE");
   * assert.equal(bye.remote, caller);
   * assert.equal(peer.dialogs.length, 0);
   * ```
   */
  bye(target: Dialog | string, at: number): PeerRequest[] {
    if (this.#closed) return [];
    if (at > this.#now) this.#now = at;
    return this.#dialogs.bye(target, at);
  }

  /**
   * The requests the peer made on its own since the last call: the BYE that ends a dialog idle
   * for `timers.dialogIdle`, and the resends of its BYEs on UDP (Timer E, RFC 3261 §17.1.2.2:
   * the peer runs their client transactions). The caller sends them.
   *
   * @returns The requests, oldest first.
   * @example
   * ```ts
   * import { SipPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const peer = new SipPeer({ timers: { dialogIdle: 1000 } });
   * const caller = { address: "192.0.2.9", port: 5060, transport: "udp" as const };
   * const send = (text: string, at: number) => peer.receive(new TextEncoder().encode(text), caller, at);
   * const common = "From: <sip:a@192.0.2.9>;tag=a1\r\nCall-ID: c1\r\nContact: <sip:a@192.0.2.9>\r\n";
   * const ok = send("INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
   *   common + "To: <sip:echo@192.0.2.1>\r\nCSeq: 1 INVITE\r\n\r\n", 0).at(-1)!;
   * send("ACK sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n" + common +
   *   `To: <sip:echo@192.0.2.1>;tag=${ok.message.to.tag}\r\nCSeq: 1 ACK\r\n\r\n`, 10);
   * peer.tick(2000); // nothing in the dialog for over a second
   * const [bye] = peer.takeRequests();
   * assert.equal(bye.message.method, "BYE");
   * assert.equal(peer.dialogs.length, 0);
   * ```
   */
  takeRequests(): PeerRequest[] {
    return this.#dialogs.takeRequests();
  }

  /**
   * Reports the outcome of the request a REFER asked for (RFC 3515 §2.4.5), for a REFER handed
   * to `onRefer`: a 1xx goes out in a NOTIFY and the subscription goes on; a final status goes
   * in the last NOTIFY (`Subscription-State: terminated;reason=noresource`). Without a report
   * within {@linkcode REFER_EXPIRES} seconds the last NOTIFY says 408.
   *
   * @param id The `id` of the {@linkcode ReferRequest} given to `onRefer`.
   * @param status The status of the referenced request's response, 100..699.
   * @param at The time, ms.
   * @returns False when the subscription is unknown or already ended. The NOTIFY comes out of
   *   {@linkcode SipPeer.takeRequests}.
   * @throws {RangeError} When `status` is not an integer 100..699.
   * @example
   * ```ts
   * import { type ReferRequest, SipPeer } from "@sipecho/sipecho/peer";
   * import assert from "node:assert/strict";
   *
   * const refers: ReferRequest[] = [];
   * const peer = new SipPeer({ onRefer: (r) => void refers.push(r) });
   * const caller = { address: "192.0.2.9", port: 5060, transport: "udp" as const };
   * const send = (text: string, at: number) => peer.receive(new TextEncoder().encode(text), caller, at);
   * const common = "From: <sip:a@192.0.2.9>;tag=a1\r\nCall-ID: c1\r\nContact: <sip:a@192.0.2.9>\r\n";
   * const ok = send("INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
   *   common + "To: <sip:echo@192.0.2.1>\r\nCSeq: 1 INVITE\r\n\r\n", 0).at(-1)!;
   * const to = `To: <sip:echo@192.0.2.1>;tag=${ok.message.to.tag}\r\n`;
   * send("ACK sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n" + common + to +
   *   "CSeq: 1 ACK\r\n\r\n", 10);
   * const [accepted] = send("REFER sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK3\r\n" +
   *   common + to + "CSeq: 2 REFER\r\nRefer-To: <sip:carol@192.0.2.7>\r\n\r\n", 20);
   * assert.equal(accepted.message.status, 202);
   * assert.equal(refers[0].target.uri, "sip:carol@192.0.2.7");
   * const [trying] = peer.takeRequests();
   * assert.equal(trying.message.bodyText, "SIP/2.0 100 Trying\r\n");
   * ```
   */
  referOutcome(id: string, status: number, at: number): boolean {
    if (!Number.isInteger(status) || status < 100 || status > 699) {
      throw new RangeError(`SipPeer.referOutcome(): status must be an integer 100..699, got ${status}`);
    }
    if (this.#closed) return false;
    if (at > this.#now) this.#now = at;
    return this.#refers.outcome(id, status, at);
  }

  /** Drops every transaction, dialog, binding and pending output; later calls do nothing. */
  close(): void {
    this.#closed = true;
    this.#refers.clear();
    this.#transfers.clear();
    this.#uas.clear();
    this.#dialogs.clear();
    this.#session.clear();

    this.#jobs.clear();
    this.registrar.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Time and output

  #begin(at: number): void {
    if (at > this.#now) this.#now = at;
    this.#src = undefined;
    this.#outbox.take();
    this.#runDue(at);
  }

  #end(at: number): Output[] {
    this.#runDue(at);
    return this.#outbox.take();
  }

  /** The earliest job or tombstone expiry, ms; -1 when there is none. */
  #next(): number {
    const next = this.#jobs.next;
    const expiry = this.#uas.nextExpiry;
    return expiry >= 0 && (next < 0 || expiry < next) ? expiry : next;
  }

  #runDue(now: number): void {
    for (;;) {
      const next = this.#next();
      if (next < 0 || next > now) return;
      // Tombstones first on a tie: a job at the same time finds the transaction gone, as if
      // its timer had fired first.
      if (this.#uas.nextExpiry === next) this.#uas.expire(next);
      else this.#jobs.runNext();
    }
  }

  /** The source has shown it receives what we send (RFC 9000 §8.1 address validation). */
  #validate(): void {
    if (this.#guard !== undefined && this.#src !== undefined) this.#guard.validate(this.#src, this.#now);
  }

  #event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void {
    const onEvent = this.#onEvent;
    if (onEvent === undefined) return;
    const guard = this.#guard;
    if (guard !== undefined && _warning(kind)) {
      // A flood must not become a flood of log lines: warnings are throttled per source.
      const held = guard.logLine(remote?.address, this.#now);
      if (held < 0) return;
      if (held > 0) onEvent({ at: this.#now, kind: "limit", message: _heldBack(guard, held) });
    }
    onEvent({ at: this.#now, kind, message, remote, ...details });
  }

  /**
   * A message from a source that just went over its rate: a request is answered 503 with
   * Retry-After (RFC 3261 §21.5.4), once; what it sends during its ban is dropped unread.
   */
  #overRate(input: Uint8Array | SipMessage, remote: Remote, at: number): void {
    const guard = this.#guard!;
    const o = guard.options;
    const ban = Math.ceil(o.ban / 1000);
    this.#event(
      "limit",
      `rate: ${this.#src?.key} sent over ${o.rate} messages/s (burst ${o.burst}): answered 503, ignored for ${ban} s`,
      remote,
    );
    let request: SipMessage | undefined;
    try {
      request = input instanceof Uint8Array ? parseMessage(input, this.#parseOptions(remote)) : input;
    } catch {
      return;
    }
    if (request.type !== "request" || request.method === "ACK") return;
    try {
      this.#stateless.reply(
        request,
        503,
        "Service Unavailable: too many requests from this source",
        [
          ["Retry-After", String(ban)],
        ],
        remote,
        at,
      );
    } catch (e) {
      if (!_isInputError(e)) throw e;
    }
  }

  #tag(): string {
    return Math.floor(this.#tagRandom() * 0x100000000).toString(16).padStart(8, "0");
  }
}

/**
 * The option tags the peer supports: a stateless UAS (RFC 3261 §8.2.7) sends no provisional
 * response and keeps no dialog, so it cannot take 100rel (RFC 3262), timer (RFC 4028) or
 * replaces (RFC 3891 §6.2).
 */
function _supported(given: readonly string[] | undefined, stateless: boolean): string[] {
  return (given ?? ["path", "100rel", "timer", "replaces"]).filter((tag) =>
    !stateless || (tag !== "100rel" && tag !== "timer" && tag !== "replaces")
  );
}

/** The session-timer limits of the options, checked (RFC 4028 §4: never under 90 s). */
function _sessionTimer(given: Partial<SessionTimerLimits> | undefined): SessionTimerLimits {
  const limits = { ...DEFAULT_SESSION_TIMER, ...given };
  if (!Number.isInteger(limits.minSE) || limits.minSE < 90) {
    throw new RangeError(`SipPeer: sessionTimer.minSE must be an integer >= 90 (RFC 4028 §4), got ${limits.minSE}`);
  }
  if (!Number.isInteger(limits.maxSE) || limits.maxSE < limits.minSE) {
    throw new RangeError(`SipPeer: sessionTimer.maxSE must be an integer >= minSE, got ${limits.maxSE}`);
  }
  return limits;
}

/** Table sizes by default. */
const DEFAULT_PEER_LIMITS: PeerLimits = {
  transactions: 100_000,
  pending: 5_000,
  dialogs: 10_000,
  bindings: 10_000,
  streams: Infinity,
  streamsPerCall: 4,
};

/** Whether an event kind is a warning (throttled by a guard), not a note on a call. */
export function _warning(kind: PeerEvent["kind"]): boolean {
  return kind !== "rule" && kind !== "answer" && kind !== "media" && kind !== "bye" && kind !== "refresh" &&
    kind !== "auth";
}

/** The line that says how many log lines a guard held back. */
export function _heldBack(guard: SourceGuard, held: number): string {
  const o = guard.options;
  return `log: ${held} lines held back (at most ${o.logBurst} per source and ${o.logTotal} in all per ` +
    `${o.logWindow / 1000} s)`;
}

/**
 * A first look, before parsing: whether the bytes can be a SIP message at all. A start line
 * (RFC 3261 §7.1, §7.2) begins with a method (a token) or `SIP/`, and a space follows within
 * its first 64 bytes; CRLFs before it are allowed (§7.5). Garbage is dropped at this cost.
 */
function _looksLikeSip(bytes: Uint8Array): boolean {
  let i = 0;
  const n = bytes.length;
  while (i < n && (bytes[i] === 13 || bytes[i] === 10)) i++;
  const start = i;
  const end = Math.min(n, start + 64);
  while (i < end && TOKEN_CHAR[bytes[i]] === 1) i++;
  return i > start && i < end && (bytes[i] === 32 || bytes[i] === 47); // " " or "/" (of SIP/2.0)
}

/** The first bytes of a datagram, for a log line: printable ASCII as is, the rest as \xNN. */
function _firstBytes(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < Math.min(bytes.length, 16); i++) {
    const b = bytes[i];
    text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `${bytes.length} bytes starting ${JSON.stringify(text)}`;
}
