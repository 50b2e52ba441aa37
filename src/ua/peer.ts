/**
 * The pure SIP peer: bytes (or a parsed message) and where they came from in; responses, where
 * to send them and when, out. No sockets, no clock, no timers of its own: the caller passes
 * the time to {@linkcode SipPeer.receive} and {@linkcode SipPeer.tick}, and asks
 * {@linkcode SipPeer.nextTimer} when to tick next.
 *
 * @module
 */

import { SipParseError } from "../sip/errors.ts";
import { HeaderError } from "../sip/header_values.ts";
import { _detach, type SipMessage, SipRequest, type SipResponse } from "../sip/message.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, parseMessage, type ParseOptions } from "../sip/parse.ts";
import { UriError } from "../sip/uri.ts";
import { checkAnswer, type Codec, DEFAULT_CODECS, parseSdp, SdpError } from "../media/sdp.ts";
import { createRandom, type ResolvedAction, type Rule, type Transport } from "../rules/rules.ts";
import { _responseFromWire, DEFAULT_SERVER, ResponseHead, statelessHash, statelessTag } from "../sip/response.ts";
import { isToken, TOKEN_CHAR } from "../sip/chars.ts";
import { type Binding, Registrar } from "./registrar.ts";
import {
  DEFAULT_TIMERS,
  ServerTransaction,
  type TransactionEvent,
  type TransactionInfo,
  transactionKey,
  TransactionTable,
} from "./transaction.ts";
import { Dialog } from "./dialog.ts";
import type { ViaRouting } from "../sip/routing.ts";
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
import { type Job, Scheduler } from "./scheduler.ts";
import { Dialogs } from "./dialogs.ts";
import { SessionAnswers } from "./session.ts";
import { Replies } from "./replies.ts";
import { _RuleInput, Planner } from "./plan.ts";
import { _phrase, type CheckEnv } from "./checks.ts";
import type {
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
  /** How many transactions are at work (not tombstones). */
  #pending = 0;
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
  #transactions: TransactionTable<_Context | _Tomb>;
  /** The dialogs, their shares, idle ones ended, the peer's BYEs (see dialogs.ts). */
  #dialogs: Dialogs;
  #jobs = new Scheduler();
  /** Tombstones until Timer J or L (64*T1), and until Timer I (T4). */
  #long = new _ExpiryQueue();
  #short = new _ExpiryQueue();
  #out: Output[] | undefined = undefined;
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
    this.#supported = options.supported ?? ["path"];
    this.#onEvent = options.onEvent;
    this.#onReceive = options.onReceive;
    this.#selectRule = options.selectRule;
    this.#onResponse = options.onResponse;
    const seed = options.seed ?? 0;
    this.#random = createRandom(seed);
    this.#tagRandom = createRandom(seed ^ 0x5a5a5a5a);
    this.#statelessMode = options.stateless ?? false;
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
    this.#transactions = new TransactionTable(limits.transactions);
    this.#session = new SessionAnswers({
      address: this.#address,
      codecs: this.#codecs,
      streamsPerCall: limits.streamsPerCall,
      streams: limits.streams,
      retryAfter: this.#retryAfter,
      rtpPort: options.rtpPort ?? ((_callId, index) => 4000 + 2 * index),
      rtpRelease: options.rtpRelease,
      guard: options.guard,
      event: (kind, message, remote) => this.#event(kind, message, remote),
    });
    this.#replies = new Replies({
      server: this.#server,
      address: this.#address,
      port: this.#port,
      ports: this.#ports,
      supported: this.#supported,
      defaults: this.#defaults,
      event: (kind, message, remote) => this.#event(kind, message, remote),
    });
    this.#dialogs = new Dialogs({
      limit: limits.dialogs,
      timers: this.#timers,
      guard: options.guard,
      jobs: this.#jobs,
      replies: this.#replies,
      event: (kind, message, remote) => this.#event(kind, message, remote),
      tag: () => this.#tag(),
      stopInvite: (dialog, at) => this.#stopInvite(dialog, at),
      releaseMedia: (callId, reason) => this.#session.release(callId, reason),
    });
    this.#checkEnv = {
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
    this.registrar = new Registrar({
      ...options.registrar,
      maxBindings: limits.bindings,
      maxBindingsPerSource: options.guard?.shareOf(limits.bindings) ?? limits.bindings,
      retryAfter: this.#retryAfter,
    });
    this.#planner = new Planner({
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
      fits: (ctx, bytes, at) => this.#fits(ctx, bytes, at),
      tooLarge: (ctx, instead) => this.#tooLarge(ctx, instead),
      eventsWanted: this.#onEvent !== undefined,
      event: (kind, message, remote) => this.#event(kind, message, remote),
    });
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
    return this.#transactions.values().map((entry) => entry instanceof _Context ? entry.tx : entry);
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
      if (verdict === Admission.Drop) return this.#end(at);
      if (remote.transport === "udp" && input instanceof Uint8Array) guard.received(src, input.length);
      this.#src = src;
      if (verdict === Admission.Refuse) {
        this.#overRate(input, remote, at);
        return this.#end(at);
      }
    }
    let message: SipMessage | undefined;
    if (input instanceof Uint8Array) {
      if (!_looksLikeSip(input)) {
        this.#event("parse-error", `dropped: not a SIP message (${_firstBytes(input)})`, remote);
        return this.#end(at);
      }

      try {
        message = parseMessage(input, this.#parseOptions(remote));
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e;
        this.#parseError(e, input, remote, at);
      }
    } else {
      message = input;
    }
    if (message !== undefined) {
      if (this.#onReceive !== undefined) this.#onReceive(message, remote, at);
      if (message.type === "request") {
        this.#request(message, remote, at);
      } else if (this.#dialogs.response(message, remote, at)) {
        // An answer to the peer's own BYE.
      } else if (this.#onResponse !== undefined) {
        this.#onResponse(message, remote, at);
      } else if (this.#onEvent !== undefined) {
        this.#event("dropped", `a ${message.status} response that answers no request of ours`, remote);
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

  /** Drops every transaction, dialog, binding and pending output; later calls do nothing. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#transactions.values()) if (entry instanceof _Context) entry.tx.terminate();
    this.#transactions.clear();
    this.#pending = 0;
    this.#dialogs.clear();
    this.#session.clear();


    this.#jobs.clear();
    this.#long.clear();
    this.#short.clear();
    this.registrar.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Time and output

  #begin(at: number): void {
    if (at > this.#now) this.#now = at;
    this.#src = undefined;
    this.#out = undefined;
    this.#runDue(at);
  }

  #end(at: number): Output[] {
    this.#runDue(at);
    const out = this.#out ?? [];
    this.#out = undefined;
    return out;
  }

  /** The earliest job or tombstone expiry, ms; -1 when there is none. */
  #next(): number {
    let next = this.#jobs.next;
    const long = this.#long.next;
    if (long >= 0 && (next < 0 || long < next)) next = long;
    const short = this.#short.next;
    if (short >= 0 && (next < 0 || short < next)) next = short;
    return next;
  }

  #runDue(now: number): void {
    for (;;) {
      const next = this.#next();
      if (next < 0 || next > now) return;
      // Tombstones first on a tie: a job at the same time finds the transaction gone, as if
      // its timer had fired first.
      if (this.#long.next === next) this.#deleteTransaction(this.#long.shift());
      else if (this.#short.next === next) this.#deleteTransaction(this.#short.shift());
      else this.#jobs.runNext();
    }
  }

  /** A job of the transaction user, cancelled with the transaction when `ctx` is given. */
  #schedule(at: number, run: (at: number) => void, ctx?: _Context): Job {
    const job = this.#jobs.schedule(at, run);
    if (ctx !== undefined) (ctx.jobs ??= []).push(job);
    return job;
  }

  /**
   * Queues a response to send. To a UDP source not validated yet it goes only within the
   * anti-amplification limit (RFC 9000 §8.1); false when it is held back.
   */
  #emit(
    reply: _Reply,
    remote: Remote,
    via: ViaRouting | undefined,
    at: number,
    times: number,
    source: SourceRecord | undefined,
  ): boolean {
    const guard = this.#guard;
    if (guard !== undefined && source !== undefined && remote.transport === "udp") {
      const bytes = reply.data.length * times;
      if (!guard.allows(source, bytes, at)) {
        if (guard.firstRefusal(source)) {
          this.#event(
            "limit",
            `amplification: ${source.key} is not validated: a ${reply.status} of ${bytes} bytes held back ` +
              `(${source.bytesOut} bytes sent for ${source.bytesIn} received, at most ${guard.options.amplification}x)`,
            remote,
          );
        }
        return false;
      }
      guard.sent(source, bytes);
    }
    const out = this.#out ??= [];
    for (let i = 0; i < times; i++) out.push(new _Output(at, reply, remote, via));
    return true;
  }

  /** Whether `bytes` more (and `reserve` after them) may go to the transaction's source now. */
  #fits(ctx: _Context, bytes: number, at: number): boolean {
    const guard = this.#guard;
    if (guard === undefined || ctx.source === undefined || ctx.remote.transport !== "udp") return true;
    return guard.allows(ctx.source, bytes * ctx.duplicate, at);
  }

  /** The source has shown it receives what we send (RFC 9000 §8.1 address validation). */
  #validate(): void {
    if (this.#guard !== undefined && this.#src !== undefined) this.#guard.validate(this.#src, this.#now);
  }

  #event(kind: PeerEvent["kind"], message: string, remote?: Remote): void {
    const onEvent = this.#onEvent;
    if (onEvent === undefined) return;
    const guard = this.#guard;
    if (guard !== undefined && _warning(kind)) {
      // A flood must not become a flood of log lines: warnings are throttled per source.
      const held = guard.logLine(remote?.address, this.#now);
      if (held < 0) return;
      if (held > 0) onEvent({ at: this.#now, kind: "limit", message: _heldBack(guard, held) });
    }
    onEvent({ at: this.#now, kind, message, remote });
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
      this.#stateless(
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

  // ---------------------------------------------------------------------------------------------
  // Requests

  #parseError(e: SipParseError, bytes: Uint8Array, remote: Remote, at: number): void {
    const partial = e.partial ?? _salvage(bytes, this.#parseOptions(remote));
    if (partial === undefined || partial.type === "response") {
      this.#event("parse-error", `dropped: ${e.message}`, remote);
      return;
    }
    // RFC 3261 §17.1.1.3: an ACK is never answered.
    if (partial.method === "ACK" || !partial.headers.has("Via")) {
      this.#event("parse-error", `dropped: ${e.message}`, remote);
      return;
    }
    this.#event("parse-error", `answered ${e.status}: ${e.message}`, remote);
    this.#stateless(partial, e.status, _phrase(e.message), [], remote, at);
  }

  /** A response without a transaction (RFC 3261 §8.2.7): errors found before one exists. */
  #stateless(
    request: SipRequest,
    status: number,
    reason: string | undefined,
    headers: [string, string][],
    remote: Remote,
    at: number,
  ) {
    const head = new ResponseHead(request, remote);
    this.#emit(this.#replies.stateless(head, status, reason, headers, remote), remote, head.route, at, 1, this.#src);
  }

  #request(request: SipRequest, remote: Remote, at: number): void {
    try {
      let key: string;
      try {
        // The views a transaction needs; the parser checked them, a hand-built message may not be right.
        key = transactionKey(request);
        void request.from;
        void request.to;
      } catch (e) {
        if (request.method !== "ACK") {
          this.#stateless(request, 400, _phrase(String((e as Error).message)), [], remote, at);
        } else this.#event("dropped", `ACK: ${(e as Error).message}`, remote);
        return;
      }
      if (this.#statelessMode) {
        // A To tag of ours (made from the Call-ID and From tag) shows the source got our response.
        if (this.#guard !== undefined && request.to.tag !== undefined && request.to.tag === statelessTag(request.callId, request.from.tag ?? "", this.#tagSalt)) {
          this.#validate();
        }
        // RFC 3261 §8.2.7: a stateless UAS ignores ACK and CANCEL.
        if (request.method !== "ACK" && request.method !== "CANCEL") this.#answerStateless(request, key, remote, at);
        return;
      }
      if (request.method === "ACK") return this.#ack(request, key, remote, at);
      // RFC 3261 §17.2.3: a retransmission goes to its transaction, without running the rules.
      const existing = this.#transactions.get(key);
      if (existing !== undefined) return this.#retransmission(existing, request, remote, at);
      if (request.via[0].branch === "z9hG4bK") {
        return this.#stateless(request, 400, "Bad Request: Via branch is only the magic cookie", [], remote, at);
      }
      const busy = this.#transactionRoom(request, remote);
      if (busy !== undefined) {
        return this.#stateless(request, 503, busy, [["Retry-After", String(this.#retryAfter)]], remote, at);
      }
      if (this.#transactions.size >= this.#transactions.limit) {
        this.#event("dropped", "transaction table full: 503", remote);
        return this.#stateless(
          request,
          503,
          "Service Unavailable: too many transactions",
          [
            ["Retry-After", String(this.#retryAfter)],
          ],
          remote,
          at,
        );
      }
      if (request.method === "CANCEL") return this.#cancel(request, key, remote, at);
      this.#newRequest(request, key, remote, at);
    } catch (e) {
      if (!_isInputError(e)) throw e;
      if (request.method !== "ACK") this.#stateless(request, 400, _phrase(e.message), [], remote, at);
    }
  }

  /** A request that matched a transaction (RFC 3261 §17.2.1, §17.2.2). */
  #retransmission(entry: _Context | _Tomb, request: SipRequest, remote: Remote, at: number): void {
    if (entry instanceof _Context) {
      // The last response again; nothing while Trying, nothing from a silent one.
      const again = entry.silent ? undefined : entry.tx.resend();
      if (again !== undefined) this.#emit(again, entry.remote, entry.head.route, at, entry.duplicate, entry.source);
    } else if (entry.state === "Completed") {
      // RFC 3261 §17.2.2: in Completed, the final response again, to where the retransmission
      // came from; a plain one is made again from the request, the same bytes.
      const head = new ResponseHead(request, remote);
      const data = entry.data ?? head.format(entry.status, undefined, { toTag: entry.toTag, server: this.#server });
      this.#emit(new _Reply(entry.status, data), remote, head.route, at, entry.duplicate, this.#src);
    }
    // An INVITE tombstone absorbs it: Confirmed (RFC 3261 §17.2.1), Accepted (RFC 6026 §7.1).
  }

  /**
   * Why a new transaction cannot be taken (the reason phrase of a 503), or undefined: its
   * source holds its share, or too many are at work.
   */
  #transactionRoom(request: SipRequest, remote: Remote): string | undefined {
    const src = this.#src;
    const guard = this.#guard;
    const full = (src !== undefined &&
      (guard!.full(src, "transactions", this.#transactions.limit) ||
        guard!.full(src, "pending", this.#limits.pending))) ||
      this.#pending >= this.#limits.pending;
    // A request that ends what holds the share is never refused for it: a CANCEL of an INVITE
    // still at work, or a request in one of our dialogs (a BYE, say).
    if (!full || this.#endsWork(request)) return undefined;
    if (src !== undefined && guard!.full(src, "transactions", this.#transactions.limit)) {
      this.#event("limit", `share: ${src.key} holds its share of the transactions: 503`, remote);
      return "Service Unavailable: too many transactions from this source";
    }
    if (src !== undefined && guard!.full(src, "pending", this.#limits.pending)) {
      this.#event("limit", `share: ${src.key} holds its share of the transactions at work: 503`, remote);
      return "Service Unavailable: too many transactions in progress from this source";
    }
    if (this.#pending >= this.#limits.pending) {
      this.#event("dropped", `${this.#pending} transactions at work (limits.pending): 503`, remote);
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
    return request.to.tag !== undefined && this.#dialogs.of(request) !== undefined;
  }

  #newContext(request: SipRequest, key: string, remote: Remote, action: ResolvedAction | undefined): _Context {
    const ctx = this.#context(request, key, remote, action);
    this.#addTransaction(ctx);
    return ctx;
  }

  #addTransaction(ctx: _Context): void {
    if (!this.#transactions.add(ctx)) return;
    this.#pending++;
    if (ctx.source !== undefined) {
      this.#guard!.hold(ctx.source, "transactions");
      this.#guard!.hold(ctx.source, "pending");
    }
  }

  /** Forgets a transaction or its tombstone, and gives its entry back to its source. */
  #deleteTransaction(entry: _Context | _Tomb): void {
    if (!this.#transactions.delete(entry)) return;
    if (entry instanceof _Context) this.#settled(entry);
    if (entry.source !== undefined) this.#guard!.release(entry.source, "transactions");
  }

  /** A transaction at work is done with (a tombstone now, or gone). */
  #settled(ctx: _Context): void {
    this.#pending--;
    if (ctx.source !== undefined) this.#guard!.release(ctx.source, "pending");
  }

  /** The TU's state for a request, not (yet) in the transaction table. */
  #context(request: SipRequest, key: string, remote: Remote, action: ResolvedAction | undefined): _Context {
    const silent = action?.kind === "silent";
    const tx = new ServerTransaction<_Reply>({
      request,
      transport: remote.transport,
      timers: this.#timers,
      key,
      retransmit: silent ? true : action?.retransmit ?? true,
    });
    let toTag = request.to.tag;
    let sessionId: number;
    if (this.#statelessMode) {
      // RFC 3261 §8.2.7: the same tag for the same request, every time it comes.
      const hash = statelessHash(request.callId, request.from.tag ?? "", this.#tagSalt);
      toTag ??= hash.toString(16).padStart(8, "0");
      sessionId = hash & 0x7fffffff;
    } else {
      toTag ??= this.#tag();
      sessionId = Math.floor(this.#tagRandom() * 0x7fffffff);
    }
    const ctx = new _Context(tx, remote, toTag, silent ? 1 : action?.duplicate ?? 1, silent, sessionId);
    ctx.source = this.#src;
    return ctx;
  }



  #newRequest(request: SipRequest, key: string, remote: Remote, at: number): void {
    const input = new _RuleInput(request, remote);
    const action = this.#planner.choose(request, remote, input);
    const ctx = this.#newContext(request, key, remote, action);
    try {
      if (action?.kind === "silent") {
        // Nothing is sent; the transaction absorbs retransmissions until the client gives up
        // (its Timer B or F: 64*T1).
        this.#schedule(at + 64 * this.#timers.T1, () => this.#finish(ctx), ctx);
        ctx.compact();
        return;
      }
      this.#execute(ctx, this.#planner.plan(ctx, input, action), at);
      // A transaction whose answer is held back waits: it keeps only what it still needs.
      if (!ctx.tx.final && this.#transactions.get(key) === ctx) ctx.compact();
    } catch (e) {
      if (!_isInputError(e)) throw e;
      // A header read late (Require, Expires, ...) is malformed: 400 naming it.
      if (!ctx.tx.final) this.#sendFinal(ctx, this.#replies.build(ctx, 400, _phrase(e.message)), at);
    }
  }

  /**
   * A request answered as a stateless UAS (RFC 3261 §8.2.7): its final response only, at once,
   * and nothing kept of it (no transaction, no dialog, no timer).
   */
  #answerStateless(request: SipRequest, key: string, remote: Remote, at: number): void {
    const input = new _RuleInput(request, remote);
    const action = this.#planner.choose(request, remote, input);
    if (action?.kind === "silent") return;
    const ctx = this.#context(request, key, remote, action);
    // §8.2.7: no provisional responses. A final held back (`after`) goes now; an answer of
    // provisionals only sends nothing. (A header that does not parse when read here is
    // answered 400 by #request, as any request's.)
    let reply = this.#planner.plan(ctx, input, action).final?.reply;
    if (reply !== undefined && !this.#fits(ctx, reply.data.length, at)) reply = this.#tooLarge(ctx, reply);
    if (reply !== undefined) this.#emit(reply, remote, ctx.head.route, at, ctx.duplicate, ctx.source);
  }

  /**
   * The 503 that replaces a final response too large for the anti-amplification limit of a
   * source not validated yet (RFC 9000 §8.1): short, and it says when to try again. By then
   * the source's budget has grown by the request it sends again.
   */
  #tooLarge(ctx: _Context, instead: _Reply): _Reply {
    if (this.#guard!.firstRefusal(ctx.source!)) {
      this.#event(
        "limit",
        `amplification: ${ctx.source!.key} is not validated: a ${instead.status} of ${instead.data.length} bytes ` +
          "replaced by a 503",
        ctx.remote,
      );
    }
    return this.#replies.build(ctx, 503, "Service Unavailable: answer too large for an unverified address", [
      ["Retry-After", String(this.#retryAfter)],
    ]);
  }


  // ---------------------------------------------------------------------------------------------
  // Running a plan

  #execute(ctx: _Context, plan: _Plan, at: number): void {
    const final = plan.final;
    // To a source not validated yet, provisionals go only when they leave room for a final sent
    // at once (RFC 9000 §8.1 budget): the final matters, a 1xx does not.
    const reserve = final !== undefined && final.after <= 0 ? final.reply.data.length : 0;
    // RFC 3261 §17.2.1: the INVITE server transaction sends 100 Trying at once (and may skip it
    // when the TU answers within 200 ms, which it does when the budget is short).
    if (ctx.tx.invite) {
      const trying = new _Reply(100, ctx.head.format(100, undefined, { server: this.#server }));
      if (this.#fits(ctx, trying.data.length + reserve, at)) this.#respond(ctx, trying, at);
    }
    for (const p of plan.provisional) {
      if (p.after > 0) this.#schedule(at + p.after, (when) => this.#respond(ctx, p.reply, when), ctx);
      else if (this.#fits(ctx, p.reply.data.length + reserve, at)) this.#respond(ctx, p.reply, at);
    }
    if (final !== undefined) {
      if (final.after <= 0) this.#sendFinal(ctx, final.reply, at);
      else this.#schedule(at + final.after, (when) => this.#sendFinal(ctx, final.reply, when), ctx);
    } else if (plan.noFinal) {
      this.#schedule(at + this.#timers.C, (when) => {
        this.#event(
          "timeout",
          `${ctx.request.method} ${ctx.request.callId}: no final response after ${this.#timers.C} ms: 408`,
          ctx.remote,
        );
        this.#respond(ctx, this.#replies.build(ctx, 408), when);
      }, ctx);
    }
  }

  #sendFinal(ctx: _Context, final: _Reply, at: number): void {
    if (ctx.tx.final) return;
    let reply = final;
    if (!ctx.silent && !this.#fits(ctx, reply.data.length, at)) reply = this.#tooLarge(ctx, reply);
    const request = ctx.request;
    const status = reply.status;
    if (request.method === "INVITE" && status >= 200 && status < 300) {
      let dialog = ctx.dialog;
      if (dialog === undefined) {
        dialog = new Dialog({
          callId: request.callId,
          localTag: ctx.toTag,
          remoteTag: request.from.tag ?? "",
          localUri: request.to.uri,
          remoteUri: request.from.uri,
          remoteContact: _contactField(request),
          recordRoute: _recordRoute(request),
          source: ctx.remote,
          remoteSeq: request.cseq.seq,
          inviteKey: ctx.tx.key,
          offer: ctx.ourOffer,
          sessionId: ctx.sessionId,
          createdAt: at,
        });
        const refused = this.#dialogs.add(dialog, ctx);
        if (refused !== undefined) {
          return this.#respond(ctx, this.#replies.build(ctx, 503, refused, [["Retry-After", String(this.#retryAfter)]]), at);
        }

        ctx.dialog = dialog;
        if (ctx.media) {
          // The ports the INVITE held are the dialog's now.
          ctx.media = false;
          dialog.media = true;
        }
      } else {
        // A re-INVITE: the new 2xx waits for its own ACK (RFC 3261 §14.2).
        dialog.inviteKey = ctx.tx.key;
        dialog.acked = false;
        dialog.offer = ctx.ourOffer;
        dialog.answerProblem = undefined;
        dialog.sessionVersion = ctx.sessionVersion;
        dialog.remoteTarget = _firstContact(request) ?? dialog.remoteTarget;
        dialog.source = ctx.remote;
      }
    }
    if (request.method === "BYE" && status >= 200 && status < 300 && ctx.dialog !== undefined) {
      this.#dialogs.end(ctx.dialog, at);
    }
    this.#respond(ctx, reply, at);
  }

  #respond(ctx: _Context, reply: _Reply, at: number): void {
    if (ctx.silent || !ctx.tx.accept(reply, at)) return;
    this.#emit(reply, ctx.remote, ctx.head.route, at, ctx.duplicate, ctx.source);
    if (ctx.media && reply.status >= 200) {
      // A final response that made no dialog: the request's RTP ports go back (a 2xx to an
      // INVITE handed them to its dialog in #sendFinal).
      ctx.media = false;
      const status = reply.status;
      this.#session.release(
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
    const tomb = new _Tomb(ctx.tx.key, state, expires, ours, ctx.duplicate, final, ctx.source);
    if (!this.#transactions.replace(ctx, tomb)) return;
    this.#settled(ctx);
    (state === "Confirmed" ? this.#short : this.#long).push(tomb);
  }

  #handle(ctx: _Context, events: TransactionEvent<_Reply>[], at: number): void {
    for (const event of events) {
      if (event.kind === "send") {
        // A retransmission: the answer was not acknowledged at once, so the transaction waits
        // and keeps only what it still needs.
        ctx.compact();
        if (!ctx.silent) this.#emit(event.response, ctx.remote, ctx.head.route, at, ctx.duplicate, ctx.source);
      } else if (event.kind === "timeout") {
        if (event.timer === "L") {
          // RFC 3261 §13.3.1.4: the 2xx was never acknowledged; the dialog is dropped.
          const dialog = ctx.dialog;
          if (dialog !== undefined && !dialog.acked && dialog.inviteKey === ctx.tx.key) {
            this.#dialogs.delete(dialog);
            if (dialog.media) {
              dialog.media = false;
              this.#session.release(dialog.callId, "no-ack");
            }
          }
          this.#event(
            "timeout",
            `INVITE ${ctx.request.callId}: no ACK for the 2xx (Timer L); dialog dropped`,
            ctx.remote,
          );
        } else {
          this.#event("timeout", `INVITE ${ctx.request.callId}: no ACK for the final response (Timer H)`, ctx.remote);
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
    ctx.armJob = next < 0 ? undefined : this.#jobs.schedule(next, (at) => this.#fire(ctx, at));
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
  #stopInvite(dialog: Dialog, at: number): void {
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
    const entry = this.#transactions.get(key);
    if (entry !== undefined && entry.invite && entry.state !== "Accepted" && entry.state !== "Proceeding") {
      // Our To tag in it: the source got our final response.
      if (entry.toTag !== undefined && request.to.tag === entry.toTag) this.#validate();
      if (entry instanceof _Context) {
        entry.tx.ack(at);
        this.#settle(entry, at);
      }
      return;
    }
    // RFC 3261 §13.3.1.4: the ACK for a 2xx is matched by the dialog.
    const dialog = this.#dialogs.of(request);
    if (dialog === undefined) {
      if (this.#onEvent !== undefined) {
        this.#event("dropped", `ACK ${request.callId}: matches no transaction or dialog`, remote);
      }
      return;
    }
    this.#validate();
    dialog.lastRequestAt = at;
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
      let problem: string | null;
      if (request.body.length === 0) {
        problem = "the ACK has no SDP answer";
      } else {
        try {
          problem = checkAnswer(dialog.offer, parseSdp(request.bodyText)) ?? null;
        } catch (e) {
          if (!(e instanceof SdpError)) throw e;
          problem = e.message;
        }
      }
      dialog.answerProblem = problem;
      this.#event("answer", `ACK ${request.callId}: ${problem === null ? "SDP answer accepted" : problem}`, remote);
    }
  }

  #cancel(request: SipRequest, key: string, remote: Remote, at: number): void {
    // RFC 3261 §9.2: the CANCEL matches the INVITE transaction by the same rules, method aside.
    const invite = this.#transactions.get(transactionKey(request, "INVITE"));
    const tx = new ServerTransaction<_Reply>({ request, transport: remote.transport, timers: this.#timers, key });
    // §9.2: the To tags of the 200 to the CANCEL and of the 487 SHOULD be the same.
    const toTag = invite?.toTag ?? request.to.tag ?? this.#tag();
    const ctx = new _Context(tx, remote, toTag, invite?.duplicate ?? 1, false, 0);
    ctx.source = this.#src;
    this.#addTransaction(ctx);
    if (invite === undefined || !invite.invite) {
      this.#respond(ctx, this.#replies.build(ctx, 481), at);
      return;
    }
    this.#respond(ctx, this.#replies.build(ctx, 200), at);
    // A silent INVITE stays silent: no 487. A finished one (a tombstone) has its final already.
    if (invite instanceof _Context && !invite.tx.final && !invite.silent) {
      this.#cancelJobs(invite);
      this.#respond(invite, this.#replies.build(invite, 487), at);
    }
  }
}

const _decoder = new TextDecoder();


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
  return kind !== "rule" && kind !== "answer" && kind !== "media" && kind !== "bye";
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

/**
 * The headers of a request whose start line could not be read (SIP-Version, Request-URI in
 * `<>`, extra spaces: the parser gives no partial message then), read again behind a
 * placeholder start line, so that the error can still be answered (RFC 3261 §8.2.6).
 */
function _salvage(bytes: Uint8Array, options: ParseOptions): SipRequest | undefined {
  let start = 0;
  while (bytes[start] === 13 || bytes[start] === 10) start++;
  const lf = bytes.indexOf(10, start);
  if (lf < 0) return undefined;
  const line = new TextDecoder().decode(bytes.subarray(start, lf)).trim();
  if (/^SIP\//i.test(line)) return undefined; // a response
  const method = line.split(/[ \t]/)[0];
  const head = new TextEncoder().encode(
    `${isToken(method) ? method : "OPTIONS"} sip:invalid SIP/2.0\r\n`,
  );
  const rebuilt = new Uint8Array(head.length + bytes.length - lf - 1);
  rebuilt.set(head, 0);
  rebuilt.set(bytes.subarray(lf + 1), head.length);
  try {
    const m = parseMessage(rebuilt, options);
    return m.type === "request" ? m : undefined;
  } catch (e) {
    return e instanceof SipParseError && e.partial?.type === "request" ? e.partial : undefined;
  }
}

/** Errors that mean the request is malformed (answered 400), not that the peer is broken. */
function _isInputError(e: unknown): e is Error {
  return e instanceof HeaderError || e instanceof UriError || e instanceof SdpError;
}

/** The Record-Route field values as received, if any (parsed by the dialog only when needed). */
function _recordRoute(request: SipRequest): string[] | undefined {
  let values: string[] | undefined;
  for (const field of request.headers.fields) if (field.name === "Record-Route") (values ??= []).push(field.value);
  return values;
}

/** The first Contact field value as received, if any (parsed by the dialog only when needed). */
function _contactField(request: SipRequest): string | undefined {
  for (const field of request.headers.fields) if (field.name === "Contact") return field.value;
  return undefined;
}

function _firstContact(request: SipRequest): string | undefined {
  try {
    const contact = request.contact;
    return contact === "*" ? undefined : contact[0]?.uri;
  } catch {
    return undefined;
  }
}


