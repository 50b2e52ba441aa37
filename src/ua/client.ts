/**
 * Client transactions (RFC 3261 §17.1): what a request the peer or the mock's UAC sends goes
 * through, as a state machine that is given the time and says what to do. The INVITE client
 * transaction (§17.1.1, with RFC 6026's Accepted state) and the non-INVITE one (§17.1.2), with
 * their timers: A, B and D; E, F and K; and M (RFC 6026 §8.4). The caller sends, resends and
 * keeps the clock; the transaction decides.
 *
 * @module
 */

import { DEFAULT_TIMERS, type Timers } from "./transaction.ts";

/**
 * The states of a client transaction (RFC 3261 §17.1.1, §17.1.2; RFC 6026 §8.4 Accepted).
 *
 * @example
 * ```ts
 * import { ClientTransaction, type ClientTransactionState } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const state: ClientTransactionState = new ClientTransaction({ invite: true, reliable: false, at: 0 }).state;
 * assert.equal(state, "Calling");
 * ```
 */
export type ClientTransactionState = "Calling" | "Trying" | "Proceeding" | "Completed" | "Accepted" | "Terminated";

/**
 * What a client transaction asks of its caller when its timers fire: send the request again
 * (Timer A or E), give up on it (Timer B or F: no final response; §17.1.1.2, §17.1.2.2), or
 * forget it (its last timer ran: D, K or M).
 *
 * @example
 * ```ts
 * import { type ClientEvent, ClientTransaction } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const tx = new ClientTransaction({ invite: false, reliable: false, at: 0 });
 * const events: ClientEvent[] = tx.fire(500);
 * assert.deepEqual(events, [{ kind: "retransmit" }]);
 * ```
 */
export type ClientEvent =
  | { readonly kind: "retransmit" }
  | { readonly kind: "timeout"; readonly timer: "B" | "F" }
  | { readonly kind: "terminated" };

/**
 * What to do with a response that matched the transaction (§17.1.3): hand it to the
 * transaction user (`deliver`; `first` for the first final response), send the ACK again
 * (`ack`: a retransmitted non-2xx final of an INVITE, §17.1.1.2), or nothing (`absorb`).
 *
 * @example
 * ```ts
 * import { ClientTransaction, type ClientVerdict } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const tx = new ClientTransaction({ invite: true, reliable: false, at: 0 });
 * const verdict: ClientVerdict = tx.receive(486, 10);
 * assert.deepEqual(verdict, { kind: "deliver", first: true });
 * assert.deepEqual(tx.receive(486, 20), { kind: "ack" }); // the 486 again: the ACK again
 * ```
 */
export type ClientVerdict =
  | { readonly kind: "deliver"; readonly first: boolean }
  | { readonly kind: "ack" }
  | { readonly kind: "absorb" };

/**
 * How a {@linkcode ClientTransaction} starts.
 *
 * @example
 * ```ts
 * import { ClientTransaction, type ClientTransactionInit } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const init: ClientTransactionInit = { invite: false, reliable: true, at: 0, timers: { T1: 10, T2: 40, T4: 50 } };
 * assert.equal(new ClientTransaction(init).nextTimer(), 640); // Timer F only: no resends over TCP
 * ```
 */
export interface ClientTransactionInit {
  /** An INVITE (§17.1.1) or another method (§17.1.2). */
  invite: boolean;
  /** Over a reliable transport (TCP, TLS, WebSocket): nothing is resent. */
  reliable: boolean;
  /** When the request was first sent, ms. */
  at: number;
  /** T1, T2, T4 (default RFC 3261's: 500, 4000, 5000 ms). */
  timers?: Timers;
}

/**
 * A client transaction (see the module documentation): it starts when its request is first
 * sent, is told each response that matches it and the time, and says what to do. Its timers
 * are two fields (the resend timer and the one that ends it), read with `nextTimer()`.
 *
 * @example A BYE over UDP, resent until its 200
 * ```ts
 * import { ClientTransaction } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const tx = new ClientTransaction({ invite: false, reliable: false, at: 0 });
 * assert.deepEqual(tx.fire(500), [{ kind: "retransmit" }]); // Timer E: T1
 * assert.equal(tx.nextTimer(), 1500); // then 2*T1 later
 * assert.deepEqual(tx.receive(200, 600), { kind: "deliver", first: true });
 * assert.equal(tx.state, "Completed"); // Timer K absorbs retransmitted 200s for T4
 * assert.deepEqual(tx.fire(5600), [{ kind: "terminated" }]);
 * ```
 */
export class ClientTransaction {
  /** The state (§17.1.1, §17.1.2). */
  state: ClientTransactionState;
  /** An INVITE transaction (RFC 3261 §17.1.1), else non-INVITE (§17.1.2). */
  readonly invite: boolean;
  /** Over a reliable transport: no retransmission timer, and no wait in Completed. */
  readonly reliable: boolean;
  /** T1, T2 and T4. */
  readonly timers: Readonly<Timers>;

  /** When to resend (Timer A or E), -1: not running. */
  #resend = -1;
  #interval = 0;
  /** When the transaction ends or gives up, -1: not running; and which timer that is. */
  #end = -1;
  #endName: "B" | "F" | "D" | "K" | "M" = "F";

  /**
   * Starts the transaction: its request was just sent.
   *
   * @param init INVITE or not, reliable or not, the time, the timer values.
   */
  constructor(init: ClientTransactionInit) {
    this.invite = init.invite;
    this.reliable = init.reliable;
    this.timers = init.timers ?? DEFAULT_TIMERS;
    const T1 = this.timers.T1;
    this.state = this.invite ? "Calling" : "Trying";
    // §17.1.1.2 Timer A, §17.1.2.2 Timer E: resends only on an unreliable transport.
    if (!this.reliable) {
      this.#interval = T1;
      this.#resend = init.at + T1;
    }
    // Timer B or F: 64*T1 without a final response.
    this.#endName = this.invite ? "B" : "F";
    this.#end = init.at + 64 * T1;
  }

  /** When a timer is next due, ms; undefined when none runs. */
  nextTimer(): number | undefined {
    const r = this.#resend;
    const e = this.#end;
    if (r < 0) return e < 0 ? undefined : e;
    return e < 0 || r < e ? r : e;
  }

  /**
   * Runs the timers due by `at`, in order.
   *
   * @param at The time, ms.
   * @returns What to do: resend, give up, forget.
   */
  fire(at: number): ClientEvent[] {
    const events: ClientEvent[] = [];
    for (;;) {
      const r = this.#resend;
      const e = this.#end;
      if (e >= 0 && e <= at && (r < 0 || e <= r)) {
        const name = this.#endName;
        this.terminate();
        if (name === "B" || name === "F") events.push({ kind: "timeout", timer: name });
        events.push({ kind: "terminated" });
        return events;
      }
      if (r < 0 || r > at) return events;
      events.push({ kind: "retransmit" });
      // §17.1.1.2: Timer A doubles each time. §17.1.2.2: Timer E doubles up to T2, and is T2
      // in Proceeding.
      const T2 = this.timers.T2;
      this.#interval = this.invite
        ? 2 * this.#interval
        : this.state === "Proceeding"
        ? T2
        : Math.min(2 * this.#interval, T2);
      this.#resend = r + this.#interval;
    }
  }

  /**
   * A response that matched the transaction (RFC 3261 §17.1.3: branch and CSeq method).
   *
   * @param status Its status code.
   * @param at The time, ms.
   * @returns What to do with it.
   */
  receive(status: number, at: number): ClientVerdict {
    const live = this.state === "Calling" || this.state === "Trying" || this.state === "Proceeding";
    if (status < 200) {
      if (!live) return ABSORB;
      this.state = "Proceeding";
      if (this.invite) {
        // §17.1.1.2: a provisional stops the resends (Timer A); the UAC waits for the final
        // response however long it takes (Timer B no longer applies).
        this.#resend = -1;
        this.#end = -1;
      }
      return PROVISIONAL;
    }
    if (this.invite && status < 300) {
      // RFC 6026 §8.4: Accepted; a retransmitted 2xx goes to the TU (which ACKs it again)
      // until Timer M (64*T1).
      if (this.state === "Accepted") return AGAIN;
      if (!live) return ABSORB;
      this.state = "Accepted";
      this.#resend = -1;
      this.#startEnd("M", at + 64 * this.timers.T1);
      return FIRST;
    }
    if (!live) {
      // §17.1.1.2: in Completed, a retransmitted final response gets the ACK again.
      return this.invite && this.state === "Completed" ? ACK : ABSORB;
    }
    this.state = "Completed";
    this.#resend = -1;
    if (this.invite) {
      // Timer D: at least 32 s on UDP to absorb retransmissions, 0 on a reliable transport.
      this.#startEnd("D", at + (this.reliable ? 0 : Math.max(32000, 64 * this.timers.T1)));
    } else {
      // Timer K: T4 on UDP, 0 on a reliable transport (§17.1.2.2).
      this.#startEnd("K", at + (this.reliable ? 0 : this.timers.T4));
    }
    return FIRST;
  }

  /** Ends the transaction now (a transport error, the TU gives up). */
  terminate(): void {
    this.state = "Terminated";
    this.#resend = -1;
    this.#end = -1;
  }

  #startEnd(name: "D" | "K" | "M", at: number): void {
    this.#endName = name;
    this.#end = at;
  }
}

const ABSORB: ClientVerdict = Object.freeze({ kind: "absorb" });
const ACK: ClientVerdict = Object.freeze({ kind: "ack" });
const FIRST: ClientVerdict = Object.freeze({ kind: "deliver", first: true });
const AGAIN: ClientVerdict = Object.freeze({ kind: "deliver", first: false });
const PROVISIONAL: ClientVerdict = AGAIN;
