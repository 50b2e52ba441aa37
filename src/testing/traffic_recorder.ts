/**
 * The mock peer's record of traffic, and the waits on it: every message received and sent, in
 * order; whoever waits ({@linkcode WaitOptions}) is shown each entry, those recorded before the
 * wait began first, until its step has what it wanted or its time is up (a
 * {@linkcode MockTimeoutError} with the ladder diagram of the traffic). The two waits of the
 * mock are here as steps: for one request, and for a whole call ({@linkcode MockCall}).
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import type { TrafficEntry } from "../net/serve.ts";
import { _atCallSite, formatLadder, type LadderOptions, MockTimeoutError } from "./ladder.ts";
import type { RequestPredicate } from "./request_match.ts";

/**
 * Options of {@linkcode MockPeer.waitFor} and {@linkcode MockPeer.waitForDialog}.
 *
 * @example
 * ```ts
 * import { MockPeer, MockTimeoutError } from "@sipecho/sipecho";
 * import { type WaitOptions } from "@sipecho/sipecho/mock";
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
 * One wait: it is shown every entry in order until `step` returns the outcome (a function, run
 * once the entry has been acted on).
 */
export type _Step<T> = (entry: TrafficEntry) => (() => T) | undefined;

/** Someone waiting: fed every entry, in order, until `step` returns the outcome. */
interface _Waiter {
  step: _Step<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  promise: Promise<unknown>;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Made where the wait was asked for: its errors start there. */
  site: MockTimeoutError | undefined;
}

/** What the record needs to know of its mock peer. */
export interface _RecorderInit {
  /** The default limit of a wait, ms. */
  timeout: number;
  /** The mock's name in the ladder diagram of a timeout (its URI). */
  where: () => string;
}

/** The traffic of a mock peer, since it started or was last cleared, and who waits on it. */
export class _TrafficRecorder {
  #traffic: TrafficEntry[] = [];
  #waiters = new Set<_Waiter>();
  #start = Date.now();
  #closed = false;
  #init: _RecorderInit;

  /** @param init The default limit and the mock's name. */
  constructor(init: _RecorderInit) {
    this.#init = init;
  }

  /** Every entry, oldest first (the array itself: callers copy). */
  get entries(): readonly TrafficEntry[] {
    return this.#traffic;
  }

  /** The traffic as a ladder diagram, from the last `clear()`, with `local` on the left. */
  ladder(local: string, options: Pick<LadderOptions, "full" | "limit"> = {}): string {
    return formatLadder(this.#traffic, { ...options, start: this.#start, local });
  }

  /** Time 0 of the ladder: when the mock started or was last cleared, ms since the epoch. */
  get start(): number {
    return this.#start;
  }

  /** Records an entry, and shows it to whoever waits. */
  record(entry: TrafficEntry): void {
    this.#traffic.push(entry);
    for (const w of [...this.#waiters]) {
      let outcome: (() => unknown) | undefined;
      try {
        outcome = w.step(entry);
      } catch (e) {
        this.#finish(w);
        w.reject(this.#at(w.site, e instanceof Error ? e : new Error(String(e))));
        continue;
      }
      if (outcome === undefined) continue;
      this.#finish(w);
      // After the message has been acted on: what the peer sends at once is recorded by then.
      const run = outcome;
      queueMicrotask(() => w.resolve(run()));
    }
  }

  /** Forgets the traffic (the waits keep what they saw); time 0 of the ladder is now. */
  clear(): void {
    this.#traffic = [];
    this.#start = Date.now();
  }

  /**
   * Waits: shows `makeStep()`'s step the traffic so far, then each new entry.
   *
   * @param what What is awaited, in words, for the errors.
   * @param timeout The limit, ms (default: the mock's).
   * @param makeStep Makes the step, with its own state.
   * @param report Says, when time is up, why nothing came (the closest requests), over the traffic.
   * @param site Made by `_callSite()` where the wait was asked for: the errors start there.
   * @returns The outcome.
   * @throws {MockTimeoutError} When the step had nothing in time.
   */
  wait<T>(
    what: string,
    timeout: number | undefined,
    makeStep: () => _Step<T>,
    report?: (traffic: readonly TrafficEntry[], start: number) => string,
    site?: MockTimeoutError,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(this.#at(site, new Error(`${what}: the mock peer is closed`)));
    const step = makeStep();
    try {
      for (const entry of this.#traffic) {
        const outcome = step(entry);
        if (outcome !== undefined) return Promise.resolve(outcome());
      }
    } catch (e) {
      return Promise.reject(this.#at(site, e));
    }
    const limit = timeout ?? this.#init.timeout;
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const waiter: _Waiter = {
      step,
      resolve: resolve as (value: unknown) => void,
      reject,
      promise,
      timer: undefined,
      site,
    };
    waiter.timer = setTimeout(() => {
      waiter.timer = undefined;
      this.#finish(waiter);
      reject(
        this.#at(site, this.timeoutError(`${what} within ${limit} ms`, limit, report?.(this.#traffic, this.#start))),
      );
    }, limit);
    this.#waiters.add(waiter);
    return promise;
  }

  /** Rejects whoever waits, with `why`. */
  abandon(why: string): void {
    for (const w of [...this.#waiters]) {
      this.#finish(w);
      // The test that waited may be over: its rejection must not surface as unhandled.
      w.promise.catch(() => {});
      w.reject(this.#at(w.site, new Error(why)));
    }
  }

  /** Rejects whoever waits, with `why`, and every later wait. */
  close(why: string): void {
    this.abandon(why);
    this.#closed = true;
  }

  /** The error of a wait that timed out: `what`, the `report` if any, then the ladder diagram of the traffic. */
  timeoutError(what: string, timeout: number, report?: string): MockTimeoutError {
    const where = this.#init.where();
    const head = report === undefined ? `${what}. Traffic at ${where}:` : `${what}.\n${report}\nTraffic at ${where}:`;
    return new MockTimeoutError(head, timeout, [...this.#traffic], {
      start: this.#start,
      local: where,
    });
  }

  #at<E>(site: MockTimeoutError | undefined, error: E): E {
    return site === undefined ? error : _atCallSite(error, site) as E;
  }

  #finish(w: _Waiter): void {
    this.#waiters.delete(w);
    if (w.timer !== undefined) clearTimeout(w.timer);
    w.timer = undefined;
  }
}

/** The step of `waitFor()`: the first request received that passes `test`. */
export function _requestStep(test: RequestPredicate): () => _Step<SipRequest> {
  return () => (entry) => {
    if (entry.direction !== "in" || entry.message.type !== "request") return undefined;
    const request = entry.message;
    return test(request, { ...entry.remote, transport: entry.transport }) ? () => request : undefined;
  };
}

/**
 * The step of `waitForDialog()`: an INVITE outside a dialog that passes `test`, then a BYE with
 * its Call-ID. The call's traffic is taken from `traffic()` when the BYE has been acted on.
 */
export function _callStep(test: RequestPredicate, traffic: () => readonly TrafficEntry[]): () => _Step<MockCall> {
  return () => {
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
        traffic: traffic().filter((e) => e.message.headers.get("Call-ID") === callId),
      });
    };
  };
}
