/**
 * The pure SIP peer: bytes (or a parsed message) and where they came from in; responses, where
 * to send them and when, out. No sockets, no clock, no timers of its own: the caller passes
 * the time to {@linkcode SipPeer.receive} and {@linkcode SipPeer.tick}, and asks
 * {@linkcode SipPeer.nextTimer} when to tick next.
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import { HeaderError } from "./header_values.ts";
import type { SipMessage, SipRequest, SipResponse } from "./message.ts";
import { parseMessage } from "./parse.ts";
import { formatMessage } from "./format.ts";
import { formatUri, type SipUri, UriError } from "./uri.ts";
import {
  answerSdp,
  checkAnswer,
  type Codec,
  createOffer,
  DEFAULT_CODECS,
  formatSdp,
  parseSdp,
  SdpError,
  type SessionDescription,
} from "./sdp.ts";
import {
  createRandom,
  DEFAULT_RULE_DESCRIPTIONS,
  DEFAULT_RULES,
  findRule,
  renderTemplate,
  resolveAction,
  type ResolvedAction,
  type ResponseSpec,
  type Rule,
  type RuleInput,
  type Transport,
} from "./rules.ts";
import { createResponse, DEFAULT_SERVER } from "./respond.ts";
import { type Binding, Registrar, type RegistrarOptions } from "./registrar.ts";
import {
  DEFAULT_TIMERS,
  ServerTransaction,
  type Timers,
  type TransactionEvent,
  transactionKey,
  TransactionTable,
} from "./transaction.ts";
import { Dialog, DialogTable } from "./dialog.ts";

/**
 * Where a message came from or goes to. Extra fields (a connection id, say) are kept: the
 * object given to {@linkcode SipPeer.receive} comes back as is in the outputs it causes.
 */
export interface Remote {
  /** IPv4 or IPv6 address, without brackets. */
  address: string;
  /** Port. */
  port: number;
  /** Transport. */
  transport: Transport;
}

/** One message to send. */
export interface Output {
  /** When it was due, ms on the caller's clock (never later than the call that returned it). */
  at: number;
  /** The wire bytes. */
  data: Uint8Array;
  /** The response. */
  message: SipResponse;
  /** Where to send it: the source of the request (symmetric response, RFC 3581). */
  remote: Remote;
}

/**
 * Something worth logging: a message that could not be parsed or was dropped, a transaction
 * that timed out, the rule that answered a request, the check of an SDP answer in an ACK.
 */
export interface PeerEvent {
  /** When, ms. */
  at: number;
  /** What kind. */
  kind: "parse-error" | "dropped" | "timeout" | "rule" | "answer";
  /** What happened, in words. */
  message: string;
  /** Who it concerns. */
  remote?: Remote;
}

/** Timer values of a {@linkcode SipPeer}, ms. */
export interface PeerTimers extends Timers {
  /**
   * How long an INVITE may stay without a final response (a `noanswer` call, a rule answering
   * only a 1xx) before the peer sends 408 Request Timeout; like a proxy's Timer C
   * (RFC 3261 §16.6 step 11), default 180000 ms.
   */
  C: number;
}

/** Table sizes of a {@linkcode SipPeer}. */
export interface PeerLimits {
  /** Most server transactions (default 10000). */
  transactions: number;
  /** Most dialogs (default 10000). */
  dialogs: number;
  /** Most registrar bindings (default 10000). */
  bindings: number;
}

/** Options of a {@linkcode SipPeer}. */
export interface PeerOptions {
  /** Rules checked first, first match wins (see `parseRules`). */
  rules?: readonly Rule[];
  /** Whether the built-in test users (`DEFAULT_RULES`) answer after the rules (default true). */
  defaultRules?: boolean;
  /** Codecs for SDP answers and offers (default `DEFAULT_CODECS`). */
  codecs?: readonly Codec[];
  /** The peer's own IP address, for Contact and SDP (default `127.0.0.1`). */
  address?: string;
  /** The peer's own port, for Contact (default 5060). */
  port?: number;
  /** The peer's own port per transport, for Contact, where it differs from `port`. */
  ports?: Partial<Record<Transport, number>>;
  /** The Server header (default `sipecho/0.1`). */
  server?: string;
  /** Seed of the random choices of the rules and of the tags (default 0). */
  seed?: number;
  /** T1, T2, T4 and C, ms. */
  timers?: Partial<PeerTimers>;
  /** Table sizes. */
  limits?: Partial<PeerLimits>;
  /** Retry-After of the 503 sent when a table is full, seconds (default 5). */
  retryAfter?: number;
  /** Registrar expiry bounds. */
  registrar?: Omit<RegistrarOptions, "maxBindings" | "retryAfter">;
  /** Option tags the peer supports, for Require (RFC 3261 §8.2.2.3) and Supported (default `path`). */
  supported?: readonly string[];
  /**
   * The RTP port to announce for m-line `index` of call `callId`. The default, `4000 + 2 *
   * index`, is a placeholder until the peer handles media.
   */
  rtpPort?: (callId: string, index: number) => number;
  /** Called with every {@linkcode PeerEvent}. */
  onEvent?: (event: PeerEvent) => void;
  /** Called with every message that parsed, before the peer acts on it (for logs and recorders). */
  onReceive?: (message: SipMessage, remote: Remote, at: number) => void;
  /**
   * Consulted for every new request before `rules` (not for retransmissions, ACK or CANCEL,
   * which belong to a transaction or dialog): the rule it returns answers the request, as if it
   * were the first of `rules`; `undefined` goes on to `rules`. For rules that change while the
   * peer runs (the mock peer's `answer()`); its `match` is not checked again.
   */
  selectRule?: (request: SipRequest, remote: Remote) => Rule | undefined;
  /**
   * Called with every response that parsed. The peer sends no requests of its own, so without
   * this a response is dropped with a `dropped` event; a caller that sends requests from the
   * peer's sockets (the mock peer's UAC) takes their responses here.
   */
  onResponse?: (response: SipResponse, remote: Remote, at: number) => void;
}

/** The methods the peer implements (RFC 3261 §20.5 Allow). */
const ALLOW = [
  "INVITE",
  "ACK",
  "CANCEL",
  "BYE",
  "OPTIONS",
  "REGISTER",
  "MESSAGE",
  "INFO",
  "UPDATE",
  "PRACK",
  "NOTIFY",
  "SUBSCRIBE",
];
/** Methods the peer knows but declines: 405 with Allow (RFC 3261 §8.2.1). */
const DECLINED = ["PUBLISH", "REFER"];
/** Methods that only make sense inside a dialog (RFC 6086, RFC 3311, RFC 3262, RFC 6665). */
const DIALOG_ONLY = ["BYE", "INFO", "UPDATE", "PRACK", "NOTIFY"];
/** Methods whose body the peer reads as an SDP offer. */
const SDP_METHODS = ["INVITE", "UPDATE"];

interface _Job {
  at: number;
  seq: number;
  run: (at: number) => void;
  cancelled: boolean;
}

/** The TU's state for one server transaction. */
interface _Context {
  tx: ServerTransaction;
  request: SipRequest;
  remote: Remote;
  toTag: string;
  duplicate: number;
  silent: boolean;
  jobs: _Job[];
  armedAt: number | undefined;
  armJob: _Job | undefined;
  /** The offer in the request, if any. */
  offer: SessionDescription | undefined;
  /** Our offer in the 2xx, when the INVITE had none. */
  ourOffer: SessionDescription | undefined;
  sessionId: number;
  sessionVersion: number;
  /** The dialog the request is in (in-dialog requests) or that its 2xx made. */
  dialog: Dialog | undefined;
}

interface _Planned {
  after: number;
  response: SipResponse;
}

interface _Plan {
  provisional: _Planned[];
  final?: _Planned;
  /** No final response planned: Timer C applies. */
  noFinal?: boolean;
}

/** A final answer decided before any rule or built-in behaviour (a failed check). */
interface _Reject {
  status: number;
  reason?: string;
  headers?: [string, string][];
}

/**
 * The pure SIP peer: a UAS that answers every request by its rules and built-in behaviour.
 *
 * Shape: {@linkcode SipPeer.receive} returns what is due at once (100 Trying, immediate
 * answers); anything later (delayed finals, Timer G retransmissions, 408 on Timer C) is kept
 * and returned by {@linkcode SipPeer.tick} once due. Both first release whatever was due by
 * the time given, so nothing is lost if the caller ticks late. {@linkcode SipPeer.nextTimer}
 * says when to tick next.
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
  #rtpPort: (callId: string, index: number) => number;
  #onEvent: ((event: PeerEvent) => void) | undefined;
  #onReceive: ((message: SipMessage, remote: Remote, at: number) => void) | undefined;
  #selectRule: ((request: SipRequest, remote: Remote) => Rule | undefined) | undefined;
  #onResponse: ((response: SipResponse, remote: Remote, at: number) => void) | undefined;
  #random: () => number;
  #tagRandom: () => number;
  #transactions: TransactionTable;
  #dialogs: DialogTable;
  #contexts = new Map<ServerTransaction, _Context>();
  #heap: _Job[] = [];
  #seq = 0;
  #out: Output[] = [];
  #now = 0;
  #closed = false;
  #bytes = new WeakMap<SipResponse, Uint8Array>();

  /** @param options Rules, address, timers, limits and callbacks. */
  constructor(options: PeerOptions = {}) {
    this.#rules = options.rules ?? [];
    this.#defaults = options.defaultRules ?? true;
    this.#codecs = options.codecs ?? DEFAULT_CODECS;
    this.#address = options.address ?? "127.0.0.1";
    this.#port = options.port ?? 5060;
    this.#ports = options.ports ?? {};
    this.#server = options.server ?? DEFAULT_SERVER;
    this.#timers = { ...DEFAULT_TIMERS, C: 180000, ...options.timers };
    this.#retryAfter = options.retryAfter ?? 5;
    this.#supported = options.supported ?? ["path"];
    this.#rtpPort = options.rtpPort ?? ((_callId, index) => 4000 + 2 * index);
    this.#onEvent = options.onEvent;
    this.#onReceive = options.onReceive;
    this.#selectRule = options.selectRule;
    this.#onResponse = options.onResponse;
    const seed = options.seed ?? 0;
    this.#random = createRandom(seed);
    this.#tagRandom = createRandom(seed ^ 0x5a5a5a5a);
    const limits = { transactions: 10000, dialogs: 10000, bindings: 10000, ...options.limits };
    this.#transactions = new TransactionTable(limits.transactions);
    this.#dialogs = new DialogTable(limits.dialogs);
    this.registrar = new Registrar({
      ...options.registrar,
      maxBindings: limits.bindings,
      retryAfter: this.#retryAfter,
    });
  }

  /** The dialogs in progress, oldest first. */
  get dialogs(): Dialog[] {
    return this.#dialogs.values();
  }

  /** The server transactions in progress, oldest first. */
  get transactions(): ServerTransaction[] {
    return this.#transactions.values();
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
    let message: SipMessage | undefined;
    if (input instanceof Uint8Array) {
      try {
        message = parseMessage(input, { stream: remote.transport === "tcp" || remote.transport === "tls" });
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e;
        this.#parseError(e, input, remote, at);
      }
    } else {
      message = input;
    }
    if (message !== undefined) this.#onReceive?.(message, remote, at);
    if (message?.type === "response") {
      if (this.#onResponse !== undefined) this.#onResponse(message, remote, at);
      else this.#event("dropped", `a ${message.status} response: the peer sends no requests`, remote);
    } else if (message !== undefined) {
      this.#request(message, remote, at);
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
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
    return this.#heap[0]?.at;
  }

  /** Drops every transaction, dialog, binding and pending output; later calls do nothing. */
  close(): void {
    this.#closed = true;
    for (const tx of this.#transactions.values()) tx.terminate();
    this.#transactions.clear();
    this.#dialogs.clear();
    this.#contexts.clear();
    this.#heap = [];
    this.registrar.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Time and output

  #begin(at: number): void {
    this.#now = Math.max(this.#now, at);
    this.#out = [];
    this.#runDue(at);
  }

  #end(at: number): Output[] {
    this.#runDue(at);
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #runDue(now: number): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.at > now) return;
      this.#pop();
      if (!top.cancelled) {
        top.cancelled = true;
        top.run(top.at);
      }
    }
  }

  #schedule(at: number, run: (at: number) => void, ctx?: _Context): _Job {
    const job: _Job = { at, seq: this.#seq++, run, cancelled: false };
    const heap = this.#heap;
    heap.push(job);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!_before(job, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = job;
    if (ctx) ctx.jobs.push(job);
    return job;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as _Job;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      if (l < heap.length && _before(heap[l], best)) [m, best] = [l, heap[l]];
      if (r < heap.length && _before(heap[r], best)) m = r;
      if (m === i) break;
      heap[i] = heap[m];
      i = m;
    }
    heap[i] = last;
  }

  #emit(response: SipResponse, remote: Remote, at: number, times = 1): void {
    let data = this.#bytes.get(response);
    if (data === undefined) {
      data = formatMessage(response);
      this.#bytes.set(response, data);
    }
    for (let i = 0; i < times; i++) this.#out.push({ at, data, message: response, remote });
  }

  #event(kind: PeerEvent["kind"], message: string, remote?: Remote): void {
    this.#onEvent?.({ at: this.#now, kind, message, remote });
  }

  #tag(): string {
    return Math.floor(this.#tagRandom() * 0x100000000).toString(16).padStart(8, "0");
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  #parseError(e: SipParseError, bytes: Uint8Array, remote: Remote, at: number): void {
    const partial = e.partial ?? _salvage(bytes, remote);
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
    const response = createResponse(request, status, reason, { source: remote, server: this.#server, headers });
    this.#emit(response, remote, at);
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
      if (request.method === "ACK") return this.#ack(request, key, remote, at);
      // RFC 3261 §17.2.3: a retransmission goes to its transaction, without running the rules.
      const existing = this.#transactions.get(key);
      if (existing !== undefined) {
        const c = this.#contexts.get(existing);
        if (c !== undefined) this.#handle(c, existing.retransmission(), at);
        return;
      }
      if (request.via[0].branch === "z9hG4bK") {
        return this.#stateless(request, 400, "Bad Request: Via branch is only the magic cookie", [], remote, at);
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

  #newContext(request: SipRequest, key: string, remote: Remote, action: ResolvedAction | undefined): _Context {
    const tx = new ServerTransaction({
      request,
      transport: remote.transport,
      timers: this.#timers,
      key,
      retransmit: action?.kind === "silent" ? true : action?.retransmit ?? true,
    });
    this.#transactions.add(tx);
    const ctx: _Context = {
      tx,
      request,
      remote,
      toTag: request.to.tag ?? this.#tag(),
      duplicate: action?.kind === "silent" ? 1 : action?.duplicate ?? 1,
      silent: action?.kind === "silent",
      jobs: [],
      armedAt: undefined,
      armJob: undefined,
      offer: undefined,
      ourOffer: undefined,
      sessionId: Math.floor(this.#tagRandom() * 0x7fffffff),
      sessionVersion: 1,
      dialog: undefined,
    };
    this.#contexts.set(tx, ctx);
    return ctx;
  }

  #newRequest(request: SipRequest, key: string, remote: Remote, at: number): void {
    const input = _ruleInput(request, remote);
    let action: ResolvedAction | undefined;
    const rule = this.#selectRule?.(request, remote) ?? findRule(this.#rules, input);
    if (rule !== undefined) {
      action = resolveAction(rule.action, this.#random);
      this.#event("rule", `${request.method} ${request.uri}: rule "${rule.name}" (${action.kind})`, remote);
    }
    const ctx = this.#newContext(request, key, remote, action);
    try {
      this.#run(ctx, input, action, at);
    } catch (e) {
      if (!_isInputError(e)) throw e;
      // A header read late (Require, Expires, ...) is malformed: 400 naming it.
      if (!ctx.tx.final) this.#sendFinal(ctx, this.#build(ctx, 400, _phrase(e.message)), at);
    }
  }

  #run(ctx: _Context, input: RuleInput, action: ResolvedAction | undefined, at: number): void {
    const request = ctx.request;
    const inDialog = request.to.tag !== undefined && request.method !== "REGISTER";
    if (action === undefined || action.kind === "default") {
      // Built-in behaviour: the RFC checks first, then the test users.
      const reject = this.#check(ctx);
      if (reject !== undefined) {
        const response = this.#build(ctx, reject.status, reject.reason, reject.headers);
        return this.#execute(ctx, { provisional: [], final: { after: 0, response } }, at);
      }
      if (!inDialog && this.#defaults) {
        const builtIn = findRule(DEFAULT_RULES, input);
        if (builtIn !== undefined) {
          const resolved = resolveAction(builtIn.action, this.#random);
          if (resolved.kind === "respond") {
            this.#event("rule", `${request.method} ${request.uri}: test user "${builtIn.name}"`, ctx.remote);
            return this.#execute(ctx, this.#planRespond(ctx, resolved.response, resolved.provisional), at);
          }
        }
      }
      return this.#execute(ctx, this.#planDefault(ctx, action?.kind === "default" ? action.provisional : []), at);
    }
    if (action.kind === "silent") {
      // Nothing is sent; the transaction absorbs retransmissions until the client gives up
      // (its Timer B or F: 64*T1).
      this.#schedule(at + 64 * this.#timers.T1, () => this.#finish(ctx), ctx);
      return;
    }
    if (SDP_METHODS.includes(request.method)) ctx.offer = this.#readOffer(request);
    if (inDialog) ctx.dialog = this.#dialogOf(request);
    this.#execute(ctx, this.#planRespond(ctx, action.response, action.provisional), at);
  }

  /** The checks of RFC 3261 §8.2.1 to §8.2.3, in that order, for the built-in behaviour. */
  #check(ctx: _Context): _Reject | undefined {
    const request = ctx.request;
    const method = request.method;
    // §8.2.1: method inspection.
    if (DECLINED.includes(method)) return { status: 405, headers: [["Allow", ALLOW.join(", ")]] };
    if (!ALLOW.includes(method)) return { status: 501 };
    // §8.2.2.1: a To URI of a scheme we do not know (REGISTER: the registrar says 400).
    const toScheme = request.to.parsedUri.scheme;
    if (method !== "REGISTER" && toScheme !== "sip" && toScheme !== "sips" && toScheme !== "tel") {
      return { status: 416, reason: `Unsupported URI Scheme in To: ${toScheme}` };
    }
    // §8.2.2.3: Require.
    const unsupported = request.require.filter((tag) => !this.#supported.includes(tag));
    if (unsupported.length > 0) return { status: 420, headers: [["Unsupported", unsupported.join(", ")]] };
    // §8.2.3: content processing.
    const encodings = request.headers.getAll("Content-Encoding").map((e) => e.toLowerCase());
    if (encodings.some((e) => e !== "identity" && e !== "")) {
      return {
        status: 415,
        reason: "Unsupported Media Type: Content-Encoding",
        headers: [["Accept-Encoding", "identity"]],
      };
    }
    if (SDP_METHODS.includes(method) && request.body.length > 0) {
      const type = request.contentType?.mediaType;
      if (type === undefined) return { status: 400, reason: "Bad Request: a body without Content-Type" };
      if (type !== "application/sdp") {
        return { status: 415, headers: [["Accept", "application/sdp"]] };
      }
      try {
        ctx.offer = parseSdp(request.bodyText);
      } catch (e) {
        if (e instanceof SdpError) return { status: 400, reason: _phrase(`Bad Request: ${e.message}`) };
        throw e;
      }
    }
    // RFC 4475 §3.3.15 (sdp01): an INVITE whose Accept leaves out SDP cannot be answered.
    if (method === "INVITE" && request.headers.has("Accept") && !_accepts(request, "application/sdp")) {
      return {
        status: 406,
        headers: [["Accept", "application/sdp"], ["Warning", `399 ${this.#hostport()} "only application/sdp bodies"`]],
      };
    }
    // §12.2.2: requests inside a dialog need the dialog, in order.
    const inDialog = request.to.tag !== undefined && method !== "REGISTER";
    if (inDialog) {
      const dialog = this.#dialogOf(request);
      if (dialog === undefined) return { status: 481 };
      if (!dialog.checkSequence(request.cseq.seq)) {
        return { status: 500, reason: "Server Internal Error: CSeq out of order", headers: [["Retry-After", "1"]] };
      }
      ctx.dialog = dialog;
    } else if (DIALOG_ONLY.includes(method)) {
      return { status: 481 };
    }
    return undefined;
  }

  #dialogOf(request: SipRequest): Dialog | undefined {
    const toTag = request.to.tag;
    if (toTag === undefined) return undefined;
    return this.#dialogs.get(request.callId, toTag, request.from.tag ?? "");
  }

  #readOffer(request: SipRequest): SessionDescription | undefined {
    if (request.body.length === 0 || request.contentType?.mediaType !== "application/sdp") return undefined;
    try {
      return parseSdp(request.bodyText);
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Plans: what to send and when

  /** The built-in answer by method. */
  #planDefault(ctx: _Context, provisional: readonly ResponseSpec[]): _Plan {
    const request = ctx.request;
    const final = (
      status: number,
      reason?: string,
      headers?: [string, string][],
      body?: [string, string | Uint8Array],
    ): _Plan => ({
      provisional: [],
      final: { after: 0, response: this.#build(ctx, status, reason, headers, body) },
    });
    switch (request.method) {
      case "INVITE": {
        const sdp = this.#sdp(ctx);
        if ("status" in sdp) return final(sdp.status, sdp.reason);
        if (ctx.dialog === undefined && this.#dialogs.size >= this.#dialogs.limit) {
          return final(503, "Service Unavailable: too many dialogs", [["Retry-After", String(this.#retryAfter)]]);
        }
        const ringing = ctx.dialog !== undefined
          ? []
          : provisional.length > 0
          ? provisional.map((p) => this.#planned(ctx, p))
          : [{ after: 0, response: this.#build(ctx, 180) }];
        const after = ringing.reduce((m, p) => Math.max(m, p.after), 0);
        const ok = this.#build(ctx, 200, undefined, [["Contact", this.#contact(request)]], [
          "application/sdp",
          sdp.body,
        ]);
        return { provisional: ringing, final: { after, response: ok } };
      }
      case "BYE":
        return final(200);
      case "OPTIONS":
        return final(200, undefined, this.#capabilities(), this.#optionsBody(request));
      case "REGISTER": {
        const result = this.registrar.register(request, this.#now);
        return final(result.status, result.reason, result.headers);
      }
      case "UPDATE": {
        if (ctx.offer === undefined) return final(200);
        const sdp = this.#sdp(ctx);
        if ("status" in sdp) return final(sdp.status, sdp.reason);
        return final(200, undefined, [["Contact", this.#contact(request)]], ["application/sdp", sdp.body]);
      }
      case "MESSAGE":
      case "INFO":
      case "PRACK":
      case "NOTIFY":
        return final(200);
      case "SUBSCRIBE":
        // RFC 6665 §4.2.1.1: no event package is supported.
        return final(489);
      default:
        return final(501);
    }
  }

  /** The plan of a `respond` action: its provisionals, then its final (or none, for a 1xx). */
  #planRespond(ctx: _Context, spec: ResponseSpec, provisional: readonly ResponseSpec[]): _Plan {
    const plan: _Plan = { provisional: provisional.map((p) => this.#planned(ctx, p)) };
    const main = this.#planned(ctx, spec);
    if (spec.status < 200) {
      plan.provisional.push(main);
      plan.noFinal = true;
    } else {
      plan.final = main;
    }
    return plan;
  }

  #planned(ctx: _Context, spec: ResponseSpec): _Planned {
    const request = ctx.request;
    const vars = _templateVars(request, ctx.remote);
    const headers: [string, string][] = spec.headers.map(([name, value]) => [name, renderTemplate(value, vars)]);
    let body: [string, string | Uint8Array] | undefined;
    if (spec.body?.kind === "sdp") {
      const sdp = this.#sdp(ctx);
      // No answer is possible: the final becomes the 488 (RFC 3264 §6).
      if ("status" in sdp) return { after: 0, response: this.#build(ctx, sdp.status, sdp.reason) };
      body = ["application/sdp", sdp.body];
    } else if (spec.body?.kind === "echo") {
      if (request.body.length > 0) {
        body = [request.headers.get("Content-Type") ?? "application/octet-stream", request.body];
      }
    } else if (spec.body?.kind === "text") {
      body = [spec.body.type, renderTemplate(spec.body.text, vars)];
    }
    // RFC 3261 §12.1.1: a response that makes a dialog carries a Contact.
    const dialogForming = request.method === "INVITE" && spec.status > 100 && spec.status < 300;
    if (dialogForming && !headers.some(([n]) => n.toLowerCase() === "contact" || n === "m")) {
      headers.push(["Contact", this.#contact(request)]);
    }
    return { after: spec.after, response: this.#build(ctx, spec.status, spec.reason, headers, body) };
  }

  /** The SDP for a 2xx (or UPDATE/183): the answer to the offer, or our own offer. */
  #sdp(ctx: _Context): { body: string } | { status: number; reason: string } {
    const request = ctx.request;
    const callId = request.callId;
    const dialog = ctx.dialog;
    const sessionId = dialog?.sessionId ?? ctx.sessionId;
    const sessionVersion = dialog === undefined ? 1 : dialog.sessionVersion + 1;
    ctx.sessionVersion = sessionVersion;
    if (ctx.offer !== undefined) {
      const result = answerSdp(ctx.offer, {
        address: this.#address,
        rtpPort: (index) => this.#rtpPort(callId, index),
        sessionId,
        sessionVersion,
        codecs: this.#codecs,
      });
      if (!result.ok) return { status: result.status, reason: result.reason };
      return { body: formatSdp(result.answer) };
    }
    // RFC 3261 §13.2.1: no offer in the INVITE, so the 2xx carries one and the ACK the answer.
    ctx.ourOffer = createOffer({
      address: this.#address,
      port: this.#rtpPort(callId, 0),
      sessionId,
      sessionVersion,
      codecs: this.#codecs,
    });
    return { body: formatSdp(ctx.ourOffer) };
  }

  #build(
    ctx: _Context,
    status: number,
    reason?: string,
    headers: [string, string][] = [],
    body?: [string, string | Uint8Array],
  ): SipResponse {
    return createResponse(ctx.request, status, reason, {
      toTag: ctx.toTag,
      source: ctx.remote,
      server: this.#server,
      headers,
      body: body?.[1],
      contentType: body?.[0],
    });
  }

  #hostport(): string {
    const host = this.#address.includes(":") ? `[${this.#address}]` : this.#address;
    return `${host}:${this.#port}`;
  }

  /** Our Contact for a dialog (RFC 3261 §12.1.1): the Request-URI user at our address. */
  #contact(request: SipRequest): string {
    const ruri = request.requestUri;
    const user = ruri.scheme === "sip" || ruri.scheme === "sips" ? (ruri as SipUri).user : undefined;
    const transport = request.headers.get("Via") ? request.via[0].transport.toLowerCase() : "udp";
    const uri: SipUri = {
      scheme: "sip",
      host: this.#address.includes(":") ? `[${this.#address}]` : this.#address,
      port: this.#ports[transport as Transport] ?? this.#port,
      params: transport === "udp" ? {} : { transport },
      headers: {},
    };
    if (user !== undefined) uri.user = user;
    return `<${formatUri(uri)}>`;
  }

  /** Allow, Accept, Accept-Encoding, Accept-Language and Supported (RFC 3261 §11.2). */
  #capabilities(): [string, string][] {
    const headers: [string, string][] = [
      ["Allow", ALLOW.join(", ")],
      ["Accept", "application/sdp"],
      ["Accept-Encoding", "identity"],
      ["Accept-Language", "en"],
    ];
    if (this.#supported.length > 0) headers.push(["Supported", this.#supported.join(", ")]);
    return headers;
  }

  /** The test users as text/plain, when the OPTIONS accepts it (RFC 3261 §11.2). */
  #optionsBody(request: SipRequest): [string, string] | undefined {
    if (!this.#defaults || !request.headers.has("Accept") || !_accepts(request, "text/plain")) return undefined;
    let text = "sipecho test users (Request-URI user: answer to INVITE)\r\n" +
      "echo: 100 Trying, 180 Ringing, 200 OK with an SDP answer (any other user too)\r\n";
    for (const [user, description] of Object.entries(DEFAULT_RULE_DESCRIPTIONS)) text += `${user}: ${description}\r\n`;
    return ["text/plain", text];
  }

  // ---------------------------------------------------------------------------------------------
  // Running a plan

  #execute(ctx: _Context, plan: _Plan, at: number): void {
    const tx = ctx.tx;
    // RFC 3261 §17.2.1: the INVITE server transaction sends 100 Trying at once.
    if (tx.invite) {
      this.#respond(ctx, createResponse(ctx.request, 100, undefined, { source: ctx.remote, server: this.#server }), at);
    }
    for (const p of plan.provisional) this.#later(ctx, p.after, at, (when) => this.#respond(ctx, p.response, when));
    const final = plan.final;
    if (final !== undefined) {
      this.#later(ctx, final.after, at, (when) => this.#sendFinal(ctx, final.response, when));
    } else if (plan.noFinal) {
      this.#later(ctx, this.#timers.C, at, (when) => {
        this.#event(
          "timeout",
          `${ctx.request.method} ${ctx.request.callId}: no final response after ${this.#timers.C} ms: 408`,
          ctx.remote,
        );
        this.#respond(ctx, this.#build(ctx, 408), when);
      });
    }
  }

  #later(ctx: _Context, after: number, at: number, run: (at: number) => void): void {
    if (after <= 0) run(at);
    else this.#schedule(at + after, run, ctx);
  }

  #sendFinal(ctx: _Context, response: SipResponse, at: number): void {
    if (ctx.tx.final) return;
    const request = ctx.request;
    if (request.method === "INVITE" && response.status >= 200 && response.status < 300) {
      let dialog = ctx.dialog;
      if (dialog === undefined) {
        dialog = new Dialog({
          callId: request.callId,
          localTag: ctx.toTag,
          remoteTag: request.from.tag ?? "",
          localUri: request.to.uri,
          remoteUri: request.from.uri,
          remoteTarget: _firstContact(request),
          remoteSeq: request.cseq.seq,
          inviteKey: ctx.tx.key,
          offer: ctx.ourOffer,
          sessionId: ctx.sessionId,
          createdAt: at,
        });
        if (!this.#dialogs.add(dialog)) {
          const busy = this.#build(ctx, 503, "Service Unavailable: too many dialogs", [[
            "Retry-After",
            String(this.#retryAfter),
          ]]);
          return this.#respond(ctx, busy, at);
        }
        ctx.dialog = dialog;
      } else {
        // A re-INVITE: the new 2xx waits for its own ACK (RFC 3261 §14.2).
        dialog.inviteKey = ctx.tx.key;
        dialog.acked = false;
        dialog.offer = ctx.ourOffer;
        dialog.answerProblem = undefined;
        dialog.sessionVersion = ctx.sessionVersion;
        dialog.remoteTarget = _firstContact(request) ?? dialog.remoteTarget;
      }
    }
    if (request.method === "BYE" && response.status >= 200 && response.status < 300 && ctx.dialog !== undefined) {
      this.#endDialog(ctx.dialog, at);
    }
    this.#respond(ctx, response, at);
  }

  #respond(ctx: _Context, response: SipResponse, at: number): void {
    if (ctx.silent) return;
    this.#handle(ctx, ctx.tx.respond(response, at), at);
  }

  #handle(ctx: _Context, events: TransactionEvent[], at: number): void {
    for (const event of events) {
      if (event.kind === "send") {
        this.#emit(event.response, ctx.remote, at, ctx.duplicate);
      } else if (event.kind === "timeout") {
        if (event.timer === "L") {
          // RFC 3261 §13.3.1.4: the 2xx was never acknowledged; the dialog is dropped.
          const dialog = ctx.dialog;
          if (dialog !== undefined && !dialog.acked && dialog.inviteKey === ctx.tx.key) this.#dialogs.delete(dialog);
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
    const next = ctx.tx.nextTimer();
    if (next === ctx.armedAt) return;
    if (ctx.armJob !== undefined) ctx.armJob.cancelled = true;
    ctx.armedAt = next;
    ctx.armJob = undefined;
    if (next === undefined) return;
    ctx.armJob = this.#schedule(next, (at) => {
      ctx.armedAt = undefined;
      ctx.armJob = undefined;
      if (this.#contexts.get(ctx.tx) !== ctx) return;
      this.#handle(ctx, ctx.tx.fire(at), at);
    }, ctx);
  }

  /** Forgets a transaction and its pending jobs. */
  #finish(ctx: _Context): void {
    ctx.tx.terminate();
    for (const job of ctx.jobs) job.cancelled = true;
    ctx.jobs = [];
    this.#transactions.delete(ctx.tx);
    this.#contexts.delete(ctx.tx);
  }

  #endDialog(dialog: Dialog, at: number): void {
    // Stop resending an unacknowledged 2xx: the BYE ends the call.
    const invite = this.#transactions.get(dialog.inviteKey);
    if (invite !== undefined && invite.state === "Accepted") {
      invite.ack(at);
      const c = this.#contexts.get(invite);
      if (c !== undefined) this.#arm(c);
    }
    this.#dialogs.delete(dialog);
  }

  // ---------------------------------------------------------------------------------------------
  // ACK and CANCEL

  #ack(request: SipRequest, key: string, remote: Remote, at: number): void {
    // RFC 3261 §17.2.1: the ACK for a non-2xx belongs to the INVITE transaction.
    const tx = this.#transactions.get(key);
    if (tx !== undefined && tx.invite && tx.state !== "Accepted" && tx.state !== "Proceeding") {
      tx.ack(at);
      const c = this.#contexts.get(tx);
      if (c !== undefined) this.#arm(c);
      return;
    }
    // RFC 3261 §13.3.1.4: the ACK for a 2xx is matched by the dialog.
    const dialog = this.#dialogOf(request);
    if (dialog === undefined) {
      this.#event("dropped", `ACK ${request.callId}: matches no transaction or dialog`, remote);
      return;
    }
    if (!dialog.acked) {
      dialog.acked = true;
      const invite = this.#transactions.get(dialog.inviteKey);
      if (invite !== undefined) {
        invite.ack(at);
        const c = this.#contexts.get(invite);
        if (c !== undefined) this.#arm(c);
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
    const inviteCtx = invite === undefined ? undefined : this.#contexts.get(invite);
    const tx = new ServerTransaction({ request, transport: remote.transport, timers: this.#timers, key });
    this.#transactions.add(tx);
    const ctx: _Context = {
      tx,
      request,
      remote,
      // §9.2: the To tags of the 200 to the CANCEL and of the 487 SHOULD be the same.
      toTag: inviteCtx?.toTag ?? request.to.tag ?? this.#tag(),
      duplicate: inviteCtx?.duplicate ?? 1,
      silent: false,
      jobs: [],
      armedAt: undefined,
      armJob: undefined,
      offer: undefined,
      ourOffer: undefined,
      sessionId: 0,
      sessionVersion: 1,
      dialog: undefined,
    };
    this.#contexts.set(tx, ctx);
    if (invite === undefined || inviteCtx === undefined || !invite.invite) {
      this.#respond(ctx, this.#build(ctx, 481), at);
      return;
    }
    this.#respond(ctx, this.#build(ctx, 200), at);
    // A silent INVITE stays silent: no 487.
    if (!invite.final && !inviteCtx.silent) {
      for (const job of inviteCtx.jobs) job.cancelled = true;
      inviteCtx.jobs = [];
      this.#respond(inviteCtx, this.#build(inviteCtx, 487), at);
    }
  }
}

/**
 * The headers of a request whose start line could not be read (SIP-Version, Request-URI in
 * `<>`, extra spaces: the parser gives no partial message then), read again behind a
 * placeholder start line, so that the error can still be answered (RFC 3261 §8.2.6).
 */
function _salvage(bytes: Uint8Array, remote: Remote): SipRequest | undefined {
  let start = 0;
  while (bytes[start] === 13 || bytes[start] === 10) start++;
  const lf = bytes.indexOf(10, start);
  if (lf < 0) return undefined;
  const line = new TextDecoder().decode(bytes.subarray(start, lf)).trim();
  if (/^SIP\//i.test(line)) return undefined; // a response
  const method = line.split(/[ \t]/)[0];
  const head = new TextEncoder().encode(
    `${/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(method) ? method : "OPTIONS"} sip:invalid SIP/2.0\r\n`,
  );
  const rebuilt = new Uint8Array(head.length + bytes.length - lf - 1);
  rebuilt.set(head, 0);
  rebuilt.set(bytes.subarray(lf + 1), head.length);
  try {
    const m = parseMessage(rebuilt, { stream: remote.transport === "tcp" || remote.transport === "tls" });
    return m.type === "request" ? m : undefined;
  } catch (e) {
    return e instanceof SipParseError && e.partial?.type === "request" ? e.partial : undefined;
  }
}

/** Errors that mean the request is malformed (answered 400), not that the peer is broken. */
function _isInputError(e: unknown): e is Error {
  return e instanceof HeaderError || e instanceof UriError || e instanceof SdpError;
}

function _before(a: _Job, b: _Job): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A reason phrase from an error message: one line, at most 200 characters. */
function _phrase(text: string): string {
  const line = text.replace(/[\r\n\t]+/g, " ");
  return line.length > 200 ? line.slice(0, 197) + "..." : line;
}

function _firstContact(request: SipRequest): string | undefined {
  try {
    const contact = request.contact;
    return contact === "*" ? undefined : contact[0]?.uri;
  } catch {
    return undefined;
  }
}

/** Whether the request's Accept allows a media type (RFC 3261 §20.1; an empty Accept allows nothing). */
function _accepts(request: SipRequest, mediaType: string): boolean {
  const [type] = mediaType.split("/");
  for (const value of request.headers.getAll("Accept")) {
    const range = value.split(";")[0].trim().toLowerCase();
    if (range === mediaType || range === "*/*" || range === `${type}/*`) return true;
  }
  return false;
}

function _userOf(uri: string): string {
  const at = uri.indexOf("@");
  const colon = uri.indexOf(":");
  return at > colon && colon >= 0 ? uri.slice(colon + 1, at) : "";
}

function _ruleInput(request: SipRequest, remote: Remote): RuleInput {
  const ruri = request.requestUri;
  const sip = ruri.scheme === "sip" || ruri.scheme === "sips" ? (ruri as SipUri) : undefined;
  return {
    method: request.method,
    uriUser: sip?.user,
    uriHost: sip?.host ?? "",
    header: (name) => request.headers.getAll(name),
    body: request.bodyText,
    source: { address: remote.address, port: remote.port },
    transport: remote.transport,
  };
}

function _templateVars(request: SipRequest, remote: Remote): Record<string, string> {
  const ruri = request.requestUri;
  const sip = ruri.scheme === "sip" || ruri.scheme === "sips" ? (ruri as SipUri) : undefined;
  const from = request.from;
  const to = request.to;
  return {
    call_id: request.callId,
    from_uri: from.uri,
    from_user: (from.parsedUri as SipUri).user ?? _userOf(from.uri),
    from_tag: from.tag ?? "",
    to_uri: to.uri,
    to_user: (to.parsedUri as SipUri).user ?? _userOf(to.uri),
    ruri: request.uri,
    ruri_user: sip?.user ?? "",
    ruri_host: sip?.host ?? "",
    ruri_hostport: sip === undefined ? "" : sip.port === undefined ? sip.host : `${sip.host}:${sip.port}`,
    method: request.method,
    cseq: String(request.cseq.seq),
    source_address: remote.address,
    source_port: String(remote.port),
    transport: remote.transport,
    branch: request.via[0]?.branch ?? "",
  };
}
