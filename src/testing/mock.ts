/**
 * The mock peer for integration tests: {@linkcode serve} on port 0, with a recorder of
 * everything received and sent, promises that wait for requests and calls, answers scripted
 * per test in front of the static rules, and a UAC to call the system under test from the
 * mock's own socket. The parts:
 *
 * - `request_match.ts`: what to wait for or answer ({@linkcode RequestMatch}, {@linkcode RequestPattern},
 *   {@linkcode RequestPredicate}, {@linkcode RequestSource});
 * - `scripted_answers.ts`: the answers scripted per test ({@linkcode AnswerAction}, {@linkcode AnswerSpec},
 *   {@linkcode MockAnswer}, ...);
 * - `traffic_recorder.ts`: the record of traffic and the waits on it ({@linkcode WaitOptions}, {@linkcode MockCall});
 * - `uac.ts`: the requests the mock sends; `ladder.ts`: the diagrams of timeouts;
 * - this module: {@linkcode MockPeer}, which holds them together, and {@linkcode mockPeer}: some
 *   700 lines, most of them the JSDoc of its public methods, each a few lines that call the parts.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import type { Remote } from "../ua/peer.ts";
import { DEFAULT_TIMERS } from "../ua/transaction.ts";
import { findRule, type Rule } from "../rules/rules.ts";
import { _RuleInput } from "../ua/plan.ts";
import {
  type BoundAddress,
  type ListenTransport,
  serve,
  type ServeOptions,
  type ServerStats,
  type SipServer,
  type TrafficEntry,
} from "../net/serve.ts";
import type { SocketAddress } from "../sip/routing.ts";
import { _ownAddress } from "../net/uac/addresses.ts";
import { _compile, type _CompiledMatch, _describeMatch, type RequestMatch } from "./request_match.ts";
import { _callReport, _closestReport } from "./closest_request.ts";
import { _DigitLog } from "./mock_digits.ts";
import { _atCallSite, _callSite, type LadderOptions } from "./ladder.ts";
import { _unmetError } from "./unmet.ts";
import { _ownCallRule } from "./own_calls.ts";
import { _ScriptedAnswers, type AnswerAction, type MockAnswer, type MockAnswerOptions } from "./scripted_answers.ts";
import { _callStep, _requestStep, _TrafficRecorder, type MockCall, type WaitOptions } from "./traffic_recorder.ts";
import { type RequestOptions, Uac, type UacCredentials, type UacResult } from "../net/uac/uac.ts";

export type { RequestMatch, RequestPattern, RequestPredicate, RequestSource } from "./request_match.ts";
export type {
  AnswerAction,
  AnswerAlternative,
  AnswerResponse,
  AnswerSpec,
  MockAnswer,
  MockAnswerOptions,
} from "./scripted_answers.ts";
export type { MockCall, WaitOptions } from "./traffic_recorder.ts";

/**
 * Options of {@linkcode mockPeer}: those of {@linkcode serve}, plus a few.
 *
 * @example
 * ```ts
 * import { MockPeer, type MockPeerOptions, parseRules } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const options: MockPeerOptions = {
 *   transport: ["udp", "tcp"],
 *   user: "pbx",
 *   rules: parseRules('[{ "match": { "method": "MESSAGE" }, "respond": { "status": 202 } }]'),
 *   timers: { T1: 50 },
 *   timeout: 2000,
 * };
 * await using peer = await MockPeer.start(options);
 * assert.deepEqual(peer.addresses.map((a) => a.transport), ["udp", "tcp"]);
 * assert.equal((await peer.request({ method: "MESSAGE", uri: peer.uri, body: "hi" })).status, 202);
 * ```
 */
export interface MockPeerOptions extends Omit<ServeOptions, "selectRule" | "onResponse"> {
  /** Transports to listen on, each on port 0 (default `udp`); ignored when `listen` is given. */
  transport?: ListenTransport | readonly ListenTransport[];
  /** Address to bind (default `127.0.0.1`); ignored when `listen` is given. */
  hostname?: string;
  /** The user part of `uri` and of the From and Contact of requests (default `mock`). */
  user?: string;
  /**
   * Default limit of `waitFor`, `waitForDialog` and of waiting for a final response in
   * `request`, ms (default 4000: under the 5 s a `bun test` test may take, so that the error
   * with the ladder diagram shows rather than a bare test timeout).
   */
  timeout?: number;
  /**
   * The edge limits of `serve()`. A mock peer serves a test suite on loopback, so the default
   * is `"lab"`: no amplification or rate limit, no per-source share (give `"public"` to test a
   * client against them).
   */
  edge?: ServeOptions["edge"];
  /**
   * What to do with a new request that no scripted answer (`answer()`) and no rule of `rules`
   * answers: `"ignore"` (default), `"warn"` (console.warn it), or `"error"`: the request is
   * answered by the built-in behaviour all the same, and a {@linkcode MockAssertionError}
   * showing it is thrown by the next `waitFor()` or `waitForDialog()` call, `assertDone()` or
   * `close()`, whichever comes first (each request once).
   */
  onUnmatched?: "ignore" | "warn" | "error";
  /**
   * The credentials `request()` answers a 401 or 407 with when it is given none (RFC 3261
   * §22.2; see `RequestOptions.credentials`). To make the mock itself ask for credentials,
   * give `auth` (the peer's digest settings) or rules with `auth`.
   */
  credentials?: UacCredentials;
}

/** A scripted answer, as kept. */

/**
 * Starts a {@linkcode MockPeer}; the same as `MockPeer.start(options)`.
 *
 * @param options Transports, rules, timers and the options of {@linkcode serve}.
 * @returns The running mock peer.
 *
 * @example
 * ```ts
 * import { mockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using sut = await mockPeer({ user: "sut" });   // stands in for a system under test
 * await using peer = await mockPeer();
 * sut.answer("OPTIONS", { respond: { status: 503, headers: { "Retry-After": "5" } } });
 * const result = await peer.request({ method: "OPTIONS", uri: sut.uri });
 * assert.equal(result.status, 503);
 * const options = await sut.waitFor("OPTIONS");
 * assert.equal(options.headers.get("Call-ID"), result.request.callId);
 * ```
 */
export function mockPeer(options: MockPeerOptions = {}): Promise<MockPeer> {
  return MockPeer.start(options);
}

/**
 * A SIP peer for integration tests: the responder of {@linkcode serve} on port 0 (UDP by
 * default), which records every message, lets a test wait for requests, script answers, and
 * send requests of its own. `await using` closes it; after `close()` no socket, timer or
 * connection is left.
 *
 * @example Test a client against it
 * ```ts
 * import { MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * peer.answer({ method: "REGISTER", Expires: "0" }, 200);            // an unREGISTER: plain 200
 * peer.answer("REGISTER", { respond: { status: 403, reason: "Nope" } });
 *
 * // The client under test would do this; here the mock calls itself.
 * const result = await peer.request({ method: "REGISTER", uri: peer.uri, headers: { Expires: "3600" } });
 * assert.equal(result.status, 403);
 * const register = await peer.waitFor({ method: "REGISTER", Expires: "3600" });
 * assert.equal(register.expires, 3600);
 * assert.deepEqual(peer.received.map((e) => e.message.type), ["request", "response"]);
 * ```
 */
export class MockPeer implements AsyncDisposable {
  #server: SipServer | undefined;
  #uac: Uac;
  #user: string;
  #timeout: number;
  #advertise: string | undefined;
  #recorder: _TrafficRecorder;
  #answers = new _ScriptedAnswers();
  #closing: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  #rules: readonly Rule[];
  #onUnmatched: "ignore" | "warn" | "error";
  /** The DTMF digits received (RFC 4733 with `media`, and SIP INFO). */
  #digits = new _DigitLog();
  /** Requests no script answered, not yet reported (`onUnmatched: "error"`). */
  #unmatched: TrafficEntry[] = [];

  private constructor(options: MockPeerOptions) {
    this.#user = options.user ?? "mock";
    this.#timeout = options.timeout ?? 4000;
    this.#advertise = options.advertise;
    this.#rules = options.rules ?? [];
    this.#onUnmatched = options.onUnmatched ?? "ignore";
    if (!["ignore", "warn", "error"].includes(this.#onUnmatched)) {
      throw new RangeError(
        `mockPeer(): onUnmatched must be "ignore", "warn" or "error", got ${JSON.stringify(this.#onUnmatched)}`,
      );
    }
    this.#recorder = new _TrafficRecorder({
      timeout: this.#timeout,
      where: () => this.#server === undefined ? "mock" : this.uri,
    });
    this.#uac = new Uac({
      user: this.#user,
      credentials: options.credentials,
      timers: { ...DEFAULT_TIMERS, ...options.timers },
      timeout: this.#timeout,
      local: (transport) => this.#local(transport),
      // Recorded when sent: at once on UDP and on an open connection, once a new connection
      // (RFC 3261 §18.1.1) is open otherwise; before any answer can arrive either way.
      send: (request, data, to, transport, trust) =>
        this.server.send(data, to, transport, trust && { tls: trust }).then(() =>
          this.#recorder.record({ time: Date.now(), direction: "out", transport, remote: to, message: request })
        ),
      timeoutError: (what, timeout) => this.#recorder.timeoutError(what, timeout),
    });
  }

  /**
   * Starts a mock peer on port 0.
   *
   * @param options Transports, rules, timers and the options of {@linkcode serve}.
   * @returns The running mock peer.
   *
   * @example
   * ```ts
   * import { MockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await MockPeer.start({ transport: ["udp", "tcp"], user: "alice" });
   * assert.match(peer.uri, /^sip:alice@127\.0\.0\.1:\d+$/);
   * assert.match(peer.uriFor("bob", "tcp"), /^sip:bob@127\.0\.0\.1:\d+;transport=tcp$/);
   * ```
   */
  static async start(options: MockPeerOptions = {}): Promise<MockPeer> {
    const peer = new MockPeer(options);
    const transports: readonly ListenTransport[] = options.transport === undefined
      ? ["udp"]
      : typeof options.transport === "string"
      ? [options.transport]
      : options.transport;
    const hostname = options.hostname ?? "127.0.0.1";
    const { transport: _t, hostname: _h, user: _u, timeout: _o, onUnmatched: _m, credentials: _c, ...rest } = options;
    const listen = options.listen ?? transports.map((transport) => ({ transport, hostname, port: 0 }));
    peer.#server = await serve({
      ...rest,
      edge: options.edge ?? "lab",
      listen,
      // TLS with no certificate given: one made at start (server.tls has its CA and fingerprint).
      tls: options.tls ??
        (listen.some((l) => l.transport === "tls" || l.transport === "wss") ? "self-signed" : undefined),

      onTraffic: (entry) => {
        peer.#recorder.record(entry);
        options.onTraffic?.(entry);
      },
      selectRule: (request, remote) => peer.#select(request, remote),
      onEvent: (event) => {
        if (event.kind === "dtmf" && event.dtmf !== undefined) peer.#digits.add(event.callId ?? "", event.dtmf);
        options.onEvent?.(event);
      },
      onResponse: (response) => void peer.#uac.receive(response),
    });
    return peer;
  }

  /** The server behind the mock: its {@linkcode SipPeer} (`server.peer`), addresses, `send()`. */
  get server(): SipServer {
    if (this.#server === undefined) throw new Error("the mock peer is not started");
    return this.#server;
  }

  /** The bound addresses, in the order of the transports. */
  get addresses(): readonly BoundAddress[] {
    return this.server.addresses;
  }

  /** A SIP URI that reaches the mock: `sip:USER@HOST:PORT` on its first address. */
  get uri(): string {
    return this.server.uri(this.#user);
  }

  /**
   * A SIP URI that reaches the mock for another user or transport.
   *
   * @param user The user part (default: the `user` option). Built-in users such as `busy`
   *   get their built-in answers to INVITE unless `defaultRules` is false.
   * @param transport The transport (default: the first listened on).
   * @returns `sip:USER@HOST:PORT`, with `;transport=tcp` or `ws` where needed.
   * @throws {RangeError} If the mock does not listen on `transport`.
   */
  uriFor(user: string = this.#user, transport?: ListenTransport): string {
    return this.server.uri(user, transport);
  }

  /**
   * What the mock's server has counted since it started ({@linkcode ServerStats}): requests by
   * method and transport, responses by status, drops, retransmissions, response times, its
   * tables. Unlike `traffic`, not reset by `clear()` or `reset()`.
   *
   * @returns A new plain object.
   * @example
   * ```ts
   * import { mockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await mockPeer();
   * peer.answer("OPTIONS", 503);
   * await peer.request({ method: "OPTIONS", uri: peer.uri });
   * const stats = peer.stats();
   * assert.equal(stats.requests.OPTIONS.udp, 1);
   * assert.equal(stats.responses[503], 1);
   * ```
   */
  stats(): ServerStats {
    return this.server.stats();
  }

  /** Every message received and sent, in order (since the last `clear()` or `reset()`). */
  get traffic(): readonly TrafficEntry[] {
    return [...this.#recorder.entries];
  }

  /** Every message received, requests and responses, in order. */
  get received(): readonly TrafficEntry[] {
    return this.#recorder.entries.filter((e) => e.direction === "in");
  }

  /** Every message sent, responses and the UAC's requests (retransmissions too), in order. */
  get sent(): readonly TrafficEntry[] {
    return this.#recorder.entries.filter((e) => e.direction === "out");
  }

  /**
   * The traffic as a ladder diagram: time, direction, first line, the other side, Call-ID; with
   * `full`, each message whole under its arrow (start line, header fields, body).
   *
   * @param options `full` for whole messages, `limit` for the most messages shown (the last).
   * @returns The diagram.
   *
   * @example
   * ```ts
   * import { mockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await mockPeer();
   * await peer.request({ method: "MESSAGE", uri: peer.uri, body: "hello" });
   * assert.match(peer.ladder(), /\|<-- MESSAGE sip:mock@/);
   * assert.match(peer.ladder({ full: true }), /\n +Content-Type: text\/plain\n(.*\n)* +hello\n/);
   * ```
   */
  ladder(options: Pick<LadderOptions, "full" | "limit"> = {}): string {
    return this.#recorder.ladder(this.uri, options);
  }

  /**
   * Checks that the test saw what it scripted: every scripted answer used up (a `times: n`
   * answer has answered n requests, an `Infinity` one at least one; removed ones are not
   * expected) and, with `onUnmatched: "error"`, no request that no script answered.
   *
   * @throws {MockAssertionError} Listing each answer not used up (how far it got, where it was
   *   scripted) and each request no script answered, whole.
   *
   * @example
   * ```ts
   * import { mockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await mockPeer();
   * peer.answer("OPTIONS", 503);
   * assert.throws(() => peer.assertDone(), /answer #1 \("OPTIONS"\): answered 0 of 1/);
   * await peer.request({ method: "OPTIONS", uri: peer.uri });
   * peer.assertDone();
   * ```
   */
  assertDone(): void {
    const error = this.#unmet("assertDone()", true);
    if (error === undefined) return;
    (Error as { captureStackTrace?: (e: object, at: unknown) => void }).captureStackTrace?.(error, this.assertDone);
    throw error;
  }

  /** Forgets the recorded traffic (waiting calls keep what they saw). */
  clear(): void {
    this.#recorder.clear();
    this.#digits.clear();
  }

  /**
   * The DTMF keys received, in order: RTP telephone-events (RFC 4733, with the `media` option:
   * one key per key press) and SIP INFO (`application/dtmf-relay`, `application/dtmf`). At most
   * 1,000 are kept, over all calls, until {@linkcode MockPeer.clear}.
   *
   * @param callId Only this call's (default: every call's).
   * @returns The keys, e.g. `"123#"`.
   * @example
   * ```ts
   * import { mockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await mockPeer();
   * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
   * call.ack();
   * await call.inDialog("INFO", { body: "Signal=5\r\nDuration=160\r\n", contentType: "application/dtmf-relay" });
   * assert.equal(peer.digits(call.request.callId), "5");
   * await call.bye();
   * ```
   */
  digits(callId?: string): string {
    return this.#digits.digits(callId);
  }

  /**
   * Waits until `count` DTMF keys have been received (of one call, or of all), counting those
   * already received.
   *
   * @param count How many keys.
   * @param options `callId`: of this call only; `timeout`: ms (default: the mock's `timeout`).
   * @returns The keys received by then.
   * @throws {MockTimeoutError} When they do not come in time (with the traffic so far).
   * @example
   * ```ts
   * import { mockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await mockPeer();
   * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
   * call.ack();
   * const waiting = peer.waitForDigits(2, { callId: call.request.callId });
   * for (const key of ["1", "#"]) await call.inDialog("INFO", { body: key, contentType: "application/dtmf" });
   * assert.equal(await waiting, "1#");
   * await call.bye();
   * ```
   */
  waitForDigits(count: number, options: { callId?: string; timeout?: number } = {}): Promise<string> {
    const site = _callSite(this.waitForDigits);
    const limit = options.timeout ?? this.#timeout;
    const of = options.callId === undefined ? "" : ` of call ${options.callId}`;
    return this.#digits.wait(count, options.callId, limit, (have) =>
      _atCallSite(
        this.#recorder.timeoutError(
          `waitForDigits(${count}): ${count} DTMF keys${of} within ${limit} ms (got "${have}")`,
          limit,
        ),
        site,
      ));
  }

  /**
   * Between tests: forgets the scripted answers, the recorded traffic and the registrar's
   * bindings, and rejects whoever still waits. The static `rules` stay.
   */
  reset(): void {
    this.#answers.clear();
    this.#unmatched = [];
    this.clear();
    this.#recorder.abandon("reset() while waiting");
    this.#digits.abandon("reset() while waiting for DTMF keys");
    this.server.peer.registrar.clear();
  }

  /**
   * Scripts the answer to the next matching request(s), ahead of the static `rules`. Scripted
   * answers are tried in the order given, first match wins; one that has answered `times`
   * requests is gone. Applies to new requests only (a retransmission gets its transaction's
   * answer; ACK and CANCEL belong to their INVITE).
   *
   * @param match A method, a predicate or a {@linkcode RequestPattern}.
   * @param action A status code, or an {@linkcode AnswerSpec}: `respond` (status, reason,
   *   headers, body, `after`), `provisional` (with their own `after`), `silent`, `default`,
   *   `choose` (weighted), `retransmit`, `duplicate`.
   * @param options `times` (default 1, `Infinity` for always).
   * @returns A handle: the requests it answered, how many remain, `remove()`.
   * @throws {RulesError} If `action` is not a valid action (the message names the problem).
   * @throws {RangeError} If `times` is not a positive integer or `Infinity`.
   *
   * @example Ring for 50 ms, then busy; and answer every MESSAGE with an echo
   * ```ts
   * import { MockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await MockPeer.start();
   * peer.answer("INVITE", { provisional: [{ status: 180, after: 0 }], respond: { status: 486, after: 50 } });
   * const echo = peer.answer("MESSAGE", { respond: { status: 200, body: "echo" } }, { times: Infinity });
   *
   * const call = await peer.request({ method: "INVITE", uri: peer.uriFor("bob"), sdp: true });
   * assert.equal(call.status, 486);
   * assert.deepEqual(call.provisional.map((r) => r.status), [180]);
   * const message = await peer.request({ method: "MESSAGE", uri: peer.uri, body: "hi" });
   * assert.equal(message.response.bodyText, "hi");
   * assert.equal(echo.requests.length, 1);
   * ```
   */
  answer(match: RequestMatch, action: AnswerAction, options: MockAnswerOptions = {}): MockAnswer {
    const site = _callSite(this.answer);
    try {
      return this.#answers.add(match, action, options, _firstFrame(site));
    } catch (e) {
      throw _atCallSite(e, site);
    }
  }

  /**
   * Waits for a request: resolves with the first one received (before the call or later) that
   * matches. Several calls may resolve with the same request; `clear()` forgets earlier ones.
   *
   * @param match A method, a predicate or a {@linkcode RequestPattern}.
   * @param options `timeout`, ms.
   * @returns The request.
   * @throws {MockTimeoutError} When none came in time: the message names the closest requests received, what
   *   each condition expected and what came, shows the closest whole and draws the traffic as a ladder
   *   diagram; the stack starts at the caller's line.
   * @throws {TypeError} If the pattern would match nothing: a misspelt key, a lower-case method (the message
   *   suggests the fix).
   *
   * @example
   * ```ts
   * import { MockPeer, MockTimeoutError } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await MockPeer.start();
   * await peer.request({ method: "OPTIONS", uri: peer.uri });
   * const options = await peer.waitFor((request, source) => request.method === "OPTIONS" && source.transport === "udp");
   * assert.equal(options.cseq.method, "OPTIONS");
   * await assert.rejects(peer.waitFor("BYE", { timeout: 20 }), (e) => {
   *   assert.ok(e instanceof MockTimeoutError);
   *   assert.match(e.message, /waitFor\("BYE"\): no matching request within 20 ms/);
   *   assert.match(e.message, /Closest of 1 request received:\n.*OPTIONS sip:mock@.*\n +method: expected BYE, got OPTIONS\n/);
   *   assert.match(e.message, /\|<-- OPTIONS sip:mock@/);
   *   return true;
   * });
   * ```
   */
  waitFor(match: RequestMatch, options: WaitOptions = {}): Promise<SipRequest> {
    // The error, when it comes, starts at the caller's line, not in a timer of the mock.
    const site = _callSite(this.waitFor);
    let compiled: _CompiledMatch;
    try {
      compiled = _compile(match, "waitFor()");
    } catch (e) {
      return Promise.reject(_atCallSite(e, site));
    }
    const unmet = this.#unmet(`waitFor(${_describeMatch(match)})`, false);
    if (unmet !== undefined) return Promise.reject(_atCallSite(unmet, site));
    const what = `waitFor(${_describeMatch(match)}): no matching request`;
    const report = (traffic: readonly TrafficEntry[], start: number) => _closestReport(compiled, traffic, start);
    return this.#recorder.wait(what, options.timeout, _requestStep(compiled.test), report, site);
  }

  /**
   * Waits for a whole call received by the mock: an INVITE (matching `match`, if given) and
   * later a BYE with its Call-ID. Resolves when the BYE arrives, with the call's messages.
   *
   * @param match Which INVITE (default: any).
   * @param options `timeout`, ms.
   * @returns The call.
   * @throws {MockTimeoutError} When no call ended in time: the message names a matching INVITE whose BYE never
   *   came, or the requests closest to a matching INVITE, then the ladder diagram.
   *
   * @example
   * ```ts
   * import { MockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using peer = await MockPeer.start();
   * const ended = peer.waitForDialog({ user: "echo" });
   * const call = await peer.request({ method: "INVITE", uri: peer.uriFor("echo"), sdp: true });
   * assert.equal(call.status, 200);
   * assert.equal((await call.bye()).status, 200);
   * const dialog = await ended;
   * assert.equal(dialog.callId, call.request.callId);
   * assert.ok(dialog.ack);
   * ```
   */
  waitForDialog(match?: RequestMatch, options: WaitOptions = {}): Promise<MockCall> {
    const site = _callSite(this.waitForDialog);
    let compiled: _CompiledMatch;
    try {
      compiled = match === undefined ? { test: () => true, conditions: [] } : _compile(match, "waitForDialog()");
    } catch (e) {
      return Promise.reject(_atCallSite(e, site));
    }
    const unmet = this.#unmet(`waitForDialog(${match === undefined ? "" : _describeMatch(match)})`, false);
    if (unmet !== undefined) return Promise.reject(_atCallSite(unmet, site));
    const what = `waitForDialog(${match === undefined ? "" : _describeMatch(match)}): no call (INVITE ... BYE) ended`;
    const step = _callStep(compiled.test, () => this.#recorder.entries);
    const report = (traffic: readonly TrafficEntry[], start: number) => _callReport(compiled, traffic, start);
    return this.#recorder.wait(what, options.timeout, step, report, site);
  }

  /**
   * Sends a request from the mock's own socket to a system under test and resolves with its
   * final response (RFC 3261 §17.1): on UDP it is retransmitted (Timer A for INVITE, E for the
   * rest) until a response comes; a non-2xx final response to an INVITE is acknowledged
   * (§17.1.1.3); a 2xx makes a dialog whose `ack()`, `bye()` and `inDialog()` follow.
   * Over TCP or WebSocket (`transport`, or `;transport=tcp` in the URI) the request goes on
   * the connection open to the destination, whichever side opened it; when there is none the
   * mock opens one (RFC 3261 §18.1.1; WebSocket with the `sip` subprotocol, RFC 7118), is
   * not retransmitted (§17.1.1.2: only on UDP) and still times out by Timer B or F. Over TLS
   * (a `sips:` URI, `;transport=tls`) `tls` says whom to trust (docs/mock.md, "Over TLS"). A
   * connection that cannot be opened rejects at once. `close()` closes the connections the
   * mock opened. The mock must listen on the transport: its address there is the Via sent-by
   * and the Contact.
   *
   * @param options Method, URI, headers, body (`sdp: true` for an offer), transport, signal.
   * @returns The final response, the provisional ones, the dialog's next steps.
   * @throws {MockTimeoutError} When no final response came (Timer B or F, or `timeout`).
   * @throws {TypeError} On a bad option: a host name to resolve, a Via in `headers`.
   * @throws {RangeError} If the mock does not listen on the transport.
   * @throws {Error} If the request cannot be sent (a connection refused): `not sent: ...`.
   *
   * @example A call: INVITE, 200, ACK, BYE
   * ```ts
   * import { MockPeer } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using sut = await MockPeer.start({ user: "sut" });
   * await using peer = await MockPeer.start({ timers: { T1: 50 } });
   * const call = await peer.request({ method: "INVITE", uri: sut.uri, sdp: true });
   * assert.equal(call.status, 200);
   * assert.equal(call.response.contentType?.mediaType, "application/sdp");
   * call.ack();
   * const bye = await call.bye();
   * assert.equal(bye.status, 200);
   * assert.deepEqual(sut.received.map((e) => e.message.type === "request" && e.message.method), ["INVITE", "ACK", "BYE"]);
   * ```
   */
  request(options: RequestOptions): Promise<UacResult> {
    const site = _callSite(this.request);
    return this.#uac.request(options).catch((e) => Promise.reject(_atCallSite(e, site)));
  }

  /**
   * Closes the mock: rejects whoever waits, stops the UAC's transactions and closes the
   * server. Resolves when every socket, connection and timer is gone; with
   * `onUnmatched: "error"`, then rejects if requests no script answered were not reported yet.
   * A later call resolves when all is closed.
   *
   * @returns When all is closed.
   * @throws {MockAssertionError} Once all is closed, for requests no script answered.
   */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#recorder.close("the mock peer closed while waiting");
    this.#digits.abandon("the mock peer closed while waiting for DTMF keys");
    this.#uac.close();
    const closed = this.#closed = this.#server?.close() ?? Promise.resolve();
    const site = _callSite(this.close);
    this.#closing = closed.then(() => {
      const unmet = this.#unmet("close()", false);
      if (unmet !== undefined) throw _atCallSite(unmet, site);
    });
    return this.#closing;
  }

  /** `await using`: the same as {@linkcode MockPeer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------------

  /** A new request from `remote`: the rule of the first scripted answer that matches it, if any. */
  #select(request: SipRequest, remote: Remote): Rule | undefined {
    const rule = this.#answers.select(request, {
      address: remote.address,
      port: remote.port,
      transport: remote.transport,
    });
    if (rule !== undefined) return rule;
    // A request in a call the UAC made (own_calls.ts): a willing caller's answer, unless a rule has one.
    const own = request.to.tag === undefined ? undefined : _ownCallRule(request, this.#recorder.entries);
    if (own !== undefined && !(this.#rules.length > 0 && findRule(this.#rules, new _RuleInput(request, remote)))) {
      return own;
    }
    if (this.#onUnmatched === "ignore") return rule;
    // The static rules count as scripts; the built-in test users and behaviour do not.
    if (this.#rules.length > 0 && findRule(this.#rules, new _RuleInput(request, remote)) !== undefined) {
      return undefined;
    }
    const entry: TrafficEntry = {
      time: Date.now(),
      direction: "in",
      transport: remote.transport,
      remote: { address: remote.address, port: remote.port },
      message: request,
    };
    if (this.#onUnmatched === "warn") {
      console.warn(
        `sipecho mock: no script answered ${request.method} ${request.uri} from ${remote.address}:${remote.port}`,
      );
    } else this.#unmatched.push(entry);
    return undefined;
  }

  /**
   * What the test has not met, as the error of `where`: the requests no script answered not
   * reported yet (then reported), and with `answers`, the scripted answers not used up.
   */
  #unmet(where: string, answers: boolean) {
    const unmatched = this.#unmatched;
    this.#unmatched = [];
    const local = this.#server === undefined ? "mock" : this.uri;
    return _unmetError(where, local, answers ? this.#answers.unused() : [], unmatched, this.#recorder.start);
  }

  /** Our address on a transport, for the Via and Contact of the UAC's requests. */
  #local(transport: ListenTransport): SocketAddress {
    const bound = this.server.addresses.find((a) => a.transport === transport);
    if (bound === undefined) throw new RangeError(`request(): the mock peer does not listen on ${transport}`);
    return _ownAddress(bound, this.#advertise);
  }
}

/** `file:line:column` of the first frame of a call site's stack. */
function _firstFrame(site: Error): string {
  const frame = (site.stack ?? "").split("\n").find((line) => /^\s+at /.test(line))?.trim() ?? "";
  return /\((.+)\)$/.exec(frame)?.[1] ?? (frame.replace(/^at /, "") || "(unknown)");
}
