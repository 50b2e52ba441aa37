/**
 * The mock peer for integration tests: {@linkcode serve} on port 0, with a recorder of
 * everything received and sent, promises that wait for requests and calls, answers scripted
 * per test in front of the static rules, and a UAC to call the system under test from the
 * mock's own socket.
 *
 * @module
 */

import { formatLadder, MockTimeoutError } from "./ladder.ts";
import type { SipRequest } from "../sip/message.ts";
import type { SipUri } from "../sip/uri.ts";
import type { Remote } from "../ua/peer.ts";
import { loadRules, type Rule, type Transport } from "../rules/rules.ts";
import { type ListenTransport, serve, type ServeOptions, type SipServer, type TrafficEntry } from "../net/serve.ts";
import { DEFAULT_TIMERS } from "../ua/transaction.ts";
import type { BoundAddress } from "../net/serve.ts";
import { type RequestOptions, Uac, type UacResult } from "./uac.ts";

/**
 * Where a request came from: address, port and transport.
 *
 * @example
 * ```ts
 * import { MockPeer, type RequestSource } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * await peer.request({ method: "OPTIONS", uri: peer.uri });
 * let source: RequestSource | undefined;
 * await peer.waitFor((_request, from) => (source = from) !== undefined);
 * assert.deepEqual(source, { address: "127.0.0.1", port: peer.addresses[0].port, transport: "udp" });
 * ```
 */
export interface RequestSource {
  /** IP address, without brackets. */
  address: string;
  /** Port. */
  port: number;
  /** Transport. */
  transport: Transport;
}

/**
 * Tells whether a request is the one wanted. A predicate that throws matches nothing in `answer()`.
 *
 * @example
 * ```ts
 * import { parseMessage, type RequestPredicate, type SipRequest } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const unregister: RequestPredicate = (request) => request.method === "REGISTER" && request.expires === 0;
 * const register = parseMessage(
 *   "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n" +
 *     "To: <sip:a@127.0.0.1>\r\nCall-ID: r1\r\nCSeq: 2 REGISTER\r\nExpires: 0\r\n\r\n",
 * ) as SipRequest;
 * assert.ok(unregister(register, { address: "127.0.0.1", port: 5062, transport: "udp" }));
 * ```
 */
export type RequestPredicate = (request: SipRequest, source: RequestSource) => boolean;

/**
 * A partial match of a request: every key given must hold. `method` is one method or a list;
 * `user` the Request-URI user; `body` the body text; `transport` the transport; **any other key
 * is a header name** (any case, compact forms too) whose value must equal (string, after trimming)
 * or match (RegExp) a field value or an item of a comma list. A string is compared whole:
 * use a RegExp for part of a From or Contact.
 *
 * @example
 * ```ts
 * import { MockPeer, type RequestPattern } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * await peer.request({ method: "MESSAGE", uri: peer.uriFor("bob"), headers: { Subject: "lunch?" }, body: "at noon" });
 * const pattern: RequestPattern = { method: ["MESSAGE", "INFO"], user: "bob", Subject: /^lunch/, body: /noon/ };
 * assert.equal((await peer.waitFor(pattern)).bodyText, "at noon");
 * ```
 */
export interface RequestPattern {
  /** The method, or one of these (case-sensitive). */
  method?: string | readonly string[];
  /** The Request-URI user part (`undefined` user is `""`). */
  user?: string | RegExp;
  /** The body as UTF-8 text. */
  body?: string | RegExp;
  /** The transport the request came over. */
  transport?: Transport;
  /** A header, by name: `"Call-ID": "abc"`, `Contact: /expires=0/`. */
  [header: string]: string | RegExp | readonly string[] | undefined;
}

/**
 * What to wait for or answer: a method (`"INVITE"`), a predicate, or a {@linkcode RequestPattern}.
 *
 * @example
 * ```ts
 * import type { RequestMatch } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const byes: RequestMatch[] = ["BYE", (request) => request.method === "BYE", { method: "BYE" }];
 * assert.equal(byes.length, 3);
 * ```
 */
export type RequestMatch = string | RequestPredicate | RequestPattern;

/**
 * A response of a scripted answer, as in a rules file (`respond` and `provisional` entries):
 * status, reason, `after` ms from the request's arrival, headers (templates like
 * `{{call_id}}`), body (`"sdp"`, `"echo"`, text, or `{ type, text }`).
 *
 * @example
 * ```ts
 * import { type AnswerResponse, loadRules } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const moved: AnswerResponse = { status: 302, headers: { Contact: "<sip:{{ruri_user}}@192.0.2.7>" }, after: 10 };
 * const [rule] = loadRules([{ respond: moved }]);
 * assert.equal(rule.action.kind === "respond" && rule.action.response.status, 302);
 * ```
 */
export interface AnswerResponse {
  /** 100..699; a 1xx as `respond` means no final response. */
  status: number;
  /** Reason phrase (default: the standard one). */
  reason?: string;
  /** Delay from the arrival of the request, ms (default 0). */
  after?: number;
  /** Extra header fields; values are templates. */
  headers?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
  /** `"sdp"`, `"echo"`, a text template, or `{ type, text }`. */
  body?: string | { type: string; text: string };
}

/**
 * A scripted answer: one action of the rules format (`respond`, `silent`, `default` or
 * `choose`) with its modifiers (`provisional`, `retransmit`, `duplicate`); see the README's
 * "Rules" section. Checked with `loadRules` when given.
 *
 * @example
 * ```ts
 * import { type AnswerSpec, MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const ringThenBusy: AnswerSpec = {
 *   provisional: [{ status: 180, after: 0 }],
 *   respond: { status: 486, after: 20 },
 *   retransmit: false,
 * };
 * peer.answer("INVITE", ringThenBusy);
 * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * assert.equal(call.status, 486);
 * ```
 */
export interface AnswerSpec {
  /** Answer with this response. */
  respond?: AnswerResponse;
  /** Send nothing at all, not even 100 Trying. */
  silent?: boolean;
  /** Let the built-in behaviour answer (with the modifiers). */
  default?: boolean;
  /** Pick one alternative at random by weight (seeded by the `seed` option). */
  choose?: readonly AnswerAlternative[];
  /** Provisional responses before the final one, each with its own `after`. */
  provisional?: readonly AnswerResponse[];
  /** `false` withholds retransmissions of the final response (default true). */
  retransmit?: boolean;
  /** Send every response this many times, 1..10. */
  duplicate?: number;
  /** A name for logs (default `answer #N (match)`). */
  name?: string;
  /** Free text. */
  comment?: string;
}

/**
 * One alternative of {@linkcode AnswerSpec.choose}.
 *
 * @example
 * ```ts
 * import { type AnswerAlternative, loadRules } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const flaky: AnswerAlternative[] = [{ weight: 9, default: true }, { weight: 1, silent: true }];
 * const [rule] = loadRules([{ choose: flaky }]);
 * assert.equal(rule.action.kind, "choose");
 * ```
 */
export interface AnswerAlternative extends Omit<AnswerSpec, "name"> {
  /** Positive weight. */
  weight: number;
}

/**
 * A scripted answer: a status code (`486`), or a full {@linkcode AnswerSpec}.
 *
 * @example
 * ```ts
 * import type { AnswerAction } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const answers: AnswerAction[] = [486, { respond: { status: 486 } }, { silent: true }];
 * assert.equal(answers.length, 3);
 * ```
 */
export type AnswerAction = number | AnswerSpec;

/**
 * Options of {@linkcode MockPeer.answer}.
 *
 * @example
 * ```ts
 * import { MockPeer, type MockAnswerOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const always: MockAnswerOptions = { times: Infinity };
 * assert.equal(peer.answer("OPTIONS", 503, always).remaining, Infinity);
 * ```
 */
export interface MockAnswerOptions {
  /** How many requests it answers (default 1); `Infinity` for all. */
  times?: number;
}

/**
 * A scripted answer in place, from {@linkcode MockPeer.answer}.
 *
 * @example
 * ```ts
 * import { type MockAnswer, MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const twice: MockAnswer = peer.answer("OPTIONS", 500, { times: 2 });
 * await peer.request({ method: "OPTIONS", uri: peer.uri });
 * assert.equal(twice.requests.length, 1);
 * assert.equal(twice.remaining, 1);
 * twice.remove();
 * assert.equal((await peer.request({ method: "OPTIONS", uri: peer.uri })).status, 200);
 * ```
 */
export interface MockAnswer {
  /** Its name, in the peer's `rule` events. */
  readonly name: string;
  /** The requests it has answered, in order. */
  readonly requests: readonly SipRequest[];
  /** How many more it will answer (`Infinity` for all). */
  readonly remaining: number;
  /** Takes it away before it is used up. */
  remove(): void;
}

/**
 * Options of {@linkcode MockPeer.waitFor} and {@linkcode MockPeer.waitForDialog}.
 *
 * @example
 * ```ts
 * import { MockPeer, MockTimeoutError, type WaitOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const brief: WaitOptions = { timeout: 10 };
 * await assert.rejects(peer.waitFor("INVITE", brief), MockTimeoutError);
 * ```
 */
export interface WaitOptions {
  /** Give up after this long, ms (default: the mock peer's `timeout`). */
  timeout?: number;
}

/**
 * A whole call received by the mock, from {@linkcode MockPeer.waitForDialog}.
 *
 * @example
 * ```ts
 * import { type MockCall, MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const ended = peer.waitForDialog();
 * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * await call.bye();
 * const dialog: MockCall = await ended;
 * assert.equal(dialog.bye.callId, dialog.invite.callId);
 * assert.ok(dialog.traffic.length >= 7);
 * ```
 */
export interface MockCall {
  /** Its Call-ID. */
  readonly callId: string;
  /** The INVITE that began it. */
  readonly invite: SipRequest;
  /** The first ACK, if one came. */
  readonly ack: SipRequest | undefined;
  /** The BYE that ended it. */
  readonly bye: SipRequest;
  /** Every message of the Call-ID received and sent, in order (the answer to the BYE included when sent at once). */
  readonly traffic: readonly TrafficEntry[];
}

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
}

/** A scripted answer, as kept. */
interface _Answer {
  name: string;
  test: RequestPredicate;
  rule: Rule;
  remaining: number;
  requests: SipRequest[];
}

/** Someone waiting: fed every entry, in order, until `step` returns the outcome. */
interface _Waiter {
  step: (entry: TrafficEntry) => (() => unknown) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  promise: Promise<unknown>;
  timer: ReturnType<typeof setTimeout> | undefined;
}

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
  #traffic: TrafficEntry[] = [];
  #answers: _Answer[] = [];
  #waiters = new Set<_Waiter>();
  #count = 0;
  #start = Date.now();
  #closing: Promise<void> | undefined;

  private constructor(options: MockPeerOptions) {
    this.#user = options.user ?? "mock";
    this.#timeout = options.timeout ?? 4000;
    this.#advertise = options.advertise;
    this.#uac = new Uac({
      user: this.#user,
      timers: { ...DEFAULT_TIMERS, ...options.timers },
      timeout: this.#timeout,
      local: (transport) => this.#local(transport),
      // Recorded when sent: at once on UDP and on an open connection, once a new connection
      // (RFC 3261 §18.1.1) is open otherwise; before any answer can arrive either way.
      send: (request, data, to, transport) =>
        this.server.send(data, to, transport).then(() =>
          this.#record({ time: Date.now(), direction: "out", transport, remote: to, message: request })
        ),
      timeoutError: (what, timeout) => this.#timeoutError(what, timeout),
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
    const { transport: _t, hostname: _h, user: _u, timeout: _o, ...rest } = options;
    peer.#server = await serve({
      ...rest,
      edge: options.edge ?? "lab",
      listen: options.listen ?? transports.map((transport) => ({ transport, hostname, port: 0 })),

      onTraffic: (entry) => {
        peer.#record(entry);
        options.onTraffic?.(entry);
      },
      selectRule: (request, remote) => peer.#select(request, remote),
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

  /** Every message received and sent, in order (since the last `clear()` or `reset()`). */
  get traffic(): readonly TrafficEntry[] {
    return [...this.#traffic];
  }

  /** Every message received, requests and responses, in order. */
  get received(): readonly TrafficEntry[] {
    return this.#traffic.filter((e) => e.direction === "in");
  }

  /** Every message sent, responses and the UAC's requests (retransmissions too), in order. */
  get sent(): readonly TrafficEntry[] {
    return this.#traffic.filter((e) => e.direction === "out");
  }

  /**
   * The traffic as a ladder diagram: time, direction, first line, the other side, Call-ID.
   *
   * @returns The diagram.
   */
  ladder(): string {
    return formatLadder(this.#traffic, { start: this.#start, local: this.uri });
  }

  /** Forgets the recorded traffic (waiting calls keep what they saw). */
  clear(): void {
    this.#traffic = [];
    this.#start = Date.now();
  }

  /**
   * Between tests: forgets the scripted answers, the recorded traffic and the registrar's
   * bindings, and rejects whoever still waits. The static `rules` stay.
   */
  reset(): void {
    this.#answers = [];
    this.clear();
    this.#abandonWaiters("reset() while waiting");
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
   * assert.deepEqual(call.provisional.map((r) => r.status), [100, 180]);
   * const message = await peer.request({ method: "MESSAGE", uri: peer.uri, body: "hi" });
   * assert.equal(message.response.bodyText, "hi");
   * assert.equal(echo.requests.length, 1);
   * ```
   */
  answer(match: RequestMatch, action: AnswerAction, options: MockAnswerOptions = {}): MockAnswer {
    const times = options.times ?? 1;
    if (!(times === Infinity || (Number.isInteger(times) && times > 0))) {
      throw new RangeError(`answer(): times must be a positive integer or Infinity, got ${times}`);
    }
    const test = _matcher(match, "answer()");
    const spec = typeof action === "number" ? { respond: { status: action } } : action;
    if (typeof spec !== "object" || spec === null || "match" in spec) {
      throw new TypeError("answer(): the action is a status code or an object without `match` (give it as `match`)");
    }
    const name = spec.name ?? `answer #${++this.#count} (${_describe(match)})`;
    const [rule] = loadRules([{ ...spec, name }], "answer()");
    const answer: _Answer = { name, test, rule, remaining: times, requests: [] };
    this.#answers.push(answer);
    const answers = () => this.#answers;
    const removeIt = (): void => {
      this.#answers = answers().filter((a) => a !== answer);
    };
    return {
      name,
      get requests() {
        return [...answer.requests];
      },
      get remaining() {
        return answer.remaining;
      },
      remove: removeIt,
    };
  }

  /**
   * Waits for a request: resolves with the first one received (before the call or later) that
   * matches. Several calls may resolve with the same request; `clear()` forgets earlier ones.
   *
   * @param match A method, a predicate or a {@linkcode RequestPattern}.
   * @param options `timeout`, ms.
   * @returns The request.
   * @throws {MockTimeoutError} When none came in time; the message draws the traffic as a ladder diagram.
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
   *   assert.match(e.message, /\|<-- OPTIONS sip:mock@/);
   *   return true;
   * });
   * ```
   */
  waitFor(match: RequestMatch, options: WaitOptions = {}): Promise<SipRequest> {
    let test: RequestPredicate;
    try {
      test = _matcher(match, "waitFor()");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#wait(`waitFor(${_describe(match)}): no matching request`, options.timeout, () => (entry) => {
      if (entry.direction !== "in" || entry.message.type !== "request") return undefined;
      const request = entry.message;
      return test(request, { ...entry.remote, transport: entry.transport }) ? () => request : undefined;
    });
  }

  /**
   * Waits for a whole call received by the mock: an INVITE (matching `match`, if given) and
   * later a BYE with its Call-ID. Resolves when the BYE arrives, with the call's messages.
   *
   * @param match Which INVITE (default: any).
   * @param options `timeout`, ms.
   * @returns The call.
   * @throws {MockTimeoutError} When no call ended in time.
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
    let test: RequestPredicate;
    try {
      test = match === undefined ? () => true : _matcher(match, "waitForDialog()");
    } catch (e) {
      return Promise.reject(e);
    }
    const what = `waitForDialog(${match === undefined ? "" : _describe(match)}): no call (INVITE ... BYE) ended`;
    return this.#wait<MockCall>(what, options.timeout, () => {
      const calls = new Map<string, { invite: SipRequest; ack?: SipRequest }>();
      return (entry) => {
        if (entry.direction !== "in" || entry.message.type !== "request") return undefined;
        const request = entry.message;
        const callId = request.headers.get("Call-ID");
        if (callId === undefined) return undefined;
        const call = calls.get(callId);
        if (call === undefined) {
          // A new call: an INVITE outside a dialog (no To tag).
          if (request.method === "INVITE" && !/;\s*tag=/i.test(request.headers.get("To") ?? "")) {
            if (test(request, { ...entry.remote, transport: entry.transport })) calls.set(callId, { invite: request });
          }
          return undefined;
        }
        if (request.method === "ACK") call.ack ??= request;
        if (request.method !== "BYE") return undefined;
        return () => ({
          callId,
          invite: call.invite,
          ack: call.ack,
          bye: request,
          traffic: this.#traffic.filter((e) => e.message.headers.get("Call-ID") === callId),
        });
      };
    });
  }

  /**
   * Sends a request from the mock's own socket to a system under test and resolves with its
   * final response (RFC 3261 §17.1): on UDP it is retransmitted (Timer A for INVITE, E for the
   * rest) until a response comes; a non-2xx final response to an INVITE is acknowledged
   * (§17.1.1.3); a 2xx makes a dialog whose `ack()`, `bye()` and `inDialog()` follow.
   * Over TCP or WebSocket (`transport`, or `;transport=tcp` in the URI) the request goes on
   * the connection open to the destination, whichever side opened it; when there is none the
   * mock opens one (RFC 3261 §18.1.1; WebSocket with the `sip` subprotocol, RFC 7118), is
   * not retransmitted (§17.1.1.2: only on UDP) and still times out by Timer B or F. A
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
    return this.#uac.request(options);
  }

  /**
   * Closes the mock: rejects whoever waits, stops the UAC's transactions and closes the
   * server. Resolves when every socket, connection and timer is gone.
   *
   * @returns When all is closed.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#abandonWaiters("the mock peer closed while waiting");
    this.#uac.close();
    this.#closing = this.#server?.close() ?? Promise.resolve();
    return this.#closing;
  }

  /** `await using`: the same as {@linkcode MockPeer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------------

  #record(entry: TrafficEntry): void {
    this.#traffic.push(entry);
    for (const w of [...this.#waiters]) {
      let outcome: (() => unknown) | undefined;
      try {
        outcome = w.step(entry);
      } catch (e) {
        this.#finish(w);
        w.reject(e instanceof Error ? e : new Error(String(e)));
        continue;
      }
      if (outcome === undefined) continue;
      this.#finish(w);
      // After the message has been acted on: what the peer sends at once is recorded by then.
      const run = outcome;
      queueMicrotask(() => w.resolve(run()));
    }
  }

  #finish(w: _Waiter): void {
    this.#waiters.delete(w);
    if (w.timer !== undefined) clearTimeout(w.timer);
    w.timer = undefined;
  }

  #wait<T>(
    what: string,
    timeout: number | undefined,
    makeStep: () => (entry: TrafficEntry) => (() => T) | undefined,
  ): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new Error(`${what}: the mock peer is closed`));
    const step = makeStep();
    try {
      for (const entry of this.#traffic) {
        const outcome = step(entry);
        if (outcome !== undefined) return Promise.resolve(outcome());
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const limit = timeout ?? this.#timeout;
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const waiter: _Waiter = { step, resolve: resolve as (value: unknown) => void, reject, promise, timer: undefined };
    waiter.timer = setTimeout(() => {
      waiter.timer = undefined;
      this.#finish(waiter);
      reject(this.#timeoutError(`${what} within ${limit} ms`, limit));
    }, limit);
    this.#waiters.add(waiter);
    return promise;
  }

  #abandonWaiters(why: string): void {
    for (const w of [...this.#waiters]) {
      this.#finish(w);
      // The test that waited may be over: its rejection must not surface as unhandled.
      w.promise.catch(() => {});
      w.reject(new Error(why));
    }
  }

  #timeoutError(what: string, timeout: number): MockTimeoutError {
    const where = this.#server === undefined ? "mock" : this.uri;
    return new MockTimeoutError(`${what}. Traffic at ${where}:`, timeout, [...this.#traffic], {
      start: this.#start,
      local: where,
    });
  }

  #select(request: SipRequest, remote: Remote): Rule | undefined {
    const source: RequestSource = { address: remote.address, port: remote.port, transport: remote.transport };
    for (const answer of this.#answers) {
      let hit = false;
      try {
        hit = answer.test(request, source);
      } catch {
        hit = false;
      }
      if (!hit) continue;
      answer.remaining--;
      answer.requests.push(request);
      if (answer.remaining <= 0) this.#answers = this.#answers.filter((a) => a !== answer);
      return answer.rule;
    }
    return undefined;
  }

  #local(transport: ListenTransport): { address: string; port: number } {
    const bound = this.server.addresses.find((a) => a.transport === transport);
    if (bound === undefined) throw new RangeError(`request(): the mock peer does not listen on ${transport}`);
    const wildcard = bound.address === "0.0.0.0" || bound.address === "::" || bound.address === "";
    return { address: wildcard ? this.#advertise ?? "127.0.0.1" : bound.address, port: bound.port };
  }
}

// -----------------------------------------------------------------------------------------------
// Matching

const _RESERVED = new Set(["method", "user", "body", "transport"]);

/** Compiles a {@linkcode RequestMatch} into a predicate. */
function _matcher(match: RequestMatch, where: string): RequestPredicate {
  if (typeof match === "string") return (request) => request.method === match;
  if (typeof match === "function") return match;
  if (typeof match !== "object" || match === null) {
    throw new TypeError(`${where}: match must be a method, a predicate or an object, got ${typeof match}`);
  }
  const checks: RequestPredicate[] = [];
  for (const [key, want] of Object.entries(match)) {
    if (want === undefined) continue;
    if (key === "method") {
      const methods = typeof want === "string" ? [want] : want as readonly string[];
      checks.push((request) => methods.includes(request.method));
    } else if (key === "transport") {
      checks.push((_request, source) => source.transport === want);
    } else if (key === "user") {
      const test = _valueTest(key, want, where);
      checks.push((request) => {
        const uri = request.requestUri;
        return test(uri.scheme === "sip" || uri.scheme === "sips" ? (uri as SipUri).user ?? "" : "");
      });
    } else if (key === "body") {
      const test = _valueTest(key, want, where);
      checks.push((request) => test(request.bodyText));
    } else {
      const test = _valueTest(key, want, where);
      checks.push((request) => {
        const values = [...request.headers.getFields(key), ...request.headers.getAll(key)];
        return values.some((v) => test(v.trim()));
      });
    }
  }
  return (request, source) => checks.every((check) => check(request, source));
}

function _valueTest(key: string, want: unknown, where: string): (value: string) => boolean {
  if (typeof want === "string") return (value) => value === want;
  if (want instanceof RegExp) return (value) => want.test(value);
  throw new TypeError(`${where}: "${key}" must be a string or a RegExp, got ${typeof want}`);
}

/** A match in words, for names and error messages. */
function _describe(match: RequestMatch): string {
  if (typeof match === "string") return JSON.stringify(match);
  if (typeof match === "function") return match.name ? `predicate ${match.name}` : "a predicate";
  const parts = Object.entries(match).filter(([, v]) => v !== undefined).map(([k, v]) => {
    const value = v instanceof RegExp ? String(v) : JSON.stringify(v);
    return `${_RESERVED.has(k) ? k : JSON.stringify(k)}: ${value}`;
  });
  return `{ ${parts.join(", ")} }`;
}
