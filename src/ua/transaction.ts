/**
 * UAS transactions (RFC 3261 §17.2): matching requests to server transactions (§17.2.3) and
 * the INVITE and non-INVITE server transaction state machines, with the RFC's state and timer
 * names. A transaction never reads a clock: every call takes the time, and the owner asks
 * {@linkcode ServerTransaction.nextTimer} when to call {@linkcode ServerTransaction.fire}.
 *
 * @module
 */

import type { SipRequest, SipResponse } from "../sip/message.ts";
import type { Transport } from "../rules/rules.ts";
import { BoundedTable } from "./table.ts";

/**
 * The RFC 3261 timer values, in ms (§17.1.1.1, Table 4): T1 the round-trip estimate, T2 the
 * longest retransmit interval for non-INVITE requests and INVITE responses, T4 how long a
 * message may stay in the network.
 *
 * @example
 * ```ts
 * import { createResponse, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ServerTransaction, type Timers } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const invite = parseMessage(
 *   "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
 * ) as SipRequest;
 * const timers: Timers = { T1: 100, T2: 400, T4: 1000 };
 * const tx = new ServerTransaction({ request: invite, transport: "udp", timers });
 * tx.respond(createResponse(invite, 486, undefined, { toTag: "x" }), 0);
 * assert.equal(tx.timer("G"), 100); // first retransmission after T1
 * assert.equal(tx.timer("H"), 6400); // give up on the ACK after 64*T1
 * ```
 */
export interface Timers {
  /** RTT estimate, default 500 ms. */
  T1: number;
  /** Longest retransmit interval, default 4000 ms. */
  T2: number;
  /** Longest time a message stays in the network, default 5000 ms. */
  T4: number;
}

/**
 * The default timer values (RFC 3261 §17.1.1.1).
 *
 * @example
 * ```ts
 * import { DEFAULT_TIMERS } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 * assert.deepEqual(DEFAULT_TIMERS, { T1: 500, T2: 4000, T4: 5000 });
 * ```
 */
export const DEFAULT_TIMERS: Readonly<Timers> = Object.freeze({ T1: 500, T2: 4000, T4: 5000 });

/**
 * Server transaction states (RFC 3261 §17.2.1, §17.2.2), plus `Accepted` of RFC 6026 §7.1:
 * an INVITE transaction that sent a 2xx.
 *
 * @example
 * ```ts
 * import { createResponse, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ServerTransaction } from "@sipecho/sipecho/peer";
 * import type { TransactionState } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * ) as SipRequest;
 * const tx = new ServerTransaction({ request, transport: "udp" });
 * const states: TransactionState[] = [tx.state];
 * tx.respond(createResponse(request, 200, undefined, { toTag: "x" }), 0);
 * states.push(tx.state);
 * tx.fire(tx.nextTimer()!); // Timer J
 * states.push(tx.state);
 * assert.deepEqual(states, ["Trying", "Completed", "Terminated"]);
 * ```
 */
export type TransactionState = "Trying" | "Proceeding" | "Completed" | "Confirmed" | "Accepted" | "Terminated";

/**
 * Server transaction timers: G (response retransmit), H (wait for ACK), I (absorb ACKs),
 * J (absorb request retransmissions), L (RFC 6026: the Accepted state).
 *
 * @example
 * ```ts
 * import { createResponse, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ServerTransaction, type TimerName } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * ) as SipRequest;
 * const tx = new ServerTransaction({ request, transport: "udp" });
 * tx.respond(createResponse(request, 200, undefined, { toTag: "x" }), 0);
 * const names: TimerName[] = ["G", "H", "I", "J", "L"];
 * assert.deepEqual(names.filter((name) => tx.timer(name) !== undefined), ["J"]);
 * assert.equal(tx.timer("J"), 32000); // 64*T1 on UDP
 * ```
 */
export type TimerName = "G" | "H" | "I" | "J" | "L";

/**
 * What a transaction asks of its owner: send a response, report a timeout (Timer H fired
 * without an ACK for a non-2xx, Timer L without an ACK for a 2xx), or forget the transaction.
 *
 * @example
 * ```ts
 * import { createResponse, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ServerTransaction } from "@sipecho/sipecho/peer";
 * import type { TransactionEvent } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const invite = parseMessage(
 *   "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
 * ) as SipRequest;
 * const tx = new ServerTransaction({ request: invite, transport: "tcp" });
 * const sent: TransactionEvent[] = tx.respond(createResponse(invite, 486, undefined, { toTag: "x" }), 0);
 * assert.equal(sent[0].kind, "send");
 * const later: TransactionEvent[] = tx.fire(32000); // no ACK came: Timer H
 * assert.deepEqual(later, [{ kind: "timeout", timer: "H" }, { kind: "terminated" }]);
 * ```
 */
export type TransactionEvent<R = SipResponse> =
  | { readonly kind: "send"; readonly response: R }
  | { readonly kind: "timeout"; readonly timer: "H" | "L" }
  | { readonly kind: "terminated" };

/**
 * What a server transaction looks like from outside: its key, whether it is an INVITE
 * transaction, and its state. A {@linkcode ServerTransaction} is one; so is what a peer keeps
 * of a transaction that has finished its work but must still absorb retransmissions.
 *
 * @example
 * ```ts
 * import { parseMessage, SipPeer, type SipRequest } from "@sipecho/sipecho";
 * import { type TransactionInfo, transactionKey } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *     "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * ) as SipRequest;
 * const peer = new SipPeer();
 * peer.receive(request, { address: "192.0.2.9", port: 5060, transport: "udp" }, 0);
 * const [info]: TransactionInfo[] = peer.transactions;
 * assert.equal(info.key, transactionKey(request));
 * assert.equal(info.invite, false);
 * assert.equal(info.state, "Completed"); // answered, kept to absorb retransmissions until Timer J
 * ```
 */
export interface TransactionInfo {
  /** The key it is found by ({@linkcode transactionKey}). */
  readonly key: string;
  /** Whether it is an INVITE transaction. */
  readonly invite: boolean;
  /** The current state. */
  readonly state: TransactionState;
}

/** The timers that end a transaction; only one of them runs at a time. */
type _EndTimer = "H" | "I" | "J" | "L";

/**
 * Whether a transport is reliable (RFC 3261 §18: TCP, TLS, and the WebSocket transports of
 * RFC 7118): no response retransmission for non-2xx, Timers I and J are 0.
 *
 * @param transport The transport.
 * @returns False for UDP only.
 * @example
 * ```ts
 * import { isReliable } from "./transaction.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isReliable("udp"), false);
 * assert.equal(isReliable("wss"), true);
 * ```
 */
export function isReliable(transport: Transport): boolean {
  return transport !== "udp";
}

const MAGIC_COOKIE = "z9hG4bK";

/**
 * The key of the server transaction a request belongs to (RFC 3261 §17.2.3). With an RFC 3261
 * branch (starting with the magic cookie `z9hG4bK`), the key is the branch, the sent-by of the
 * top Via and the method, an ACK counting as INVITE. Otherwise (RFC 2543 peers) it is made of
 * the Request-URI, From tag, Call-ID, CSeq number, top Via and method, plus the To tag except
 * for INVITE and ACK (the ACK's To tag is the one our response added).
 *
 * @param request The request.
 * @param method The method to key by (default the request's; `INVITE` finds the INVITE a
 *   CANCEL cancels, RFC 3261 §9.2).
 * @returns The key.
 * @throws {HeaderError} If the top Via, From, To, Call-ID or CSeq is malformed.
 * @example
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { transactionKey } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const head = "sip:echo@h SIP/2.0\r\nVia: SIP/2.0/UDP Host:5060;branch=z9hG4bK77\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *   "To: <sip:echo@h>\r\nCall-ID: c\r\n";
 * const invite = parseMessage("INVITE " + head + "CSeq: 1 INVITE\r\n\r\n") as SipRequest;
 * const ack = parseMessage("ACK " + head + "CSeq: 1 ACK\r\n\r\n") as SipRequest;
 * assert.equal(transactionKey(invite), "z9hG4bK77|host:5060|INVITE");
 * assert.equal(transactionKey(ack), transactionKey(invite));
 * ```
 */
export function transactionKey(request: SipRequest, method: string = request.method): string {
  const via = request.via[0];
  const keyMethod = method === "ACK" ? "INVITE" : method;
  const sentBy = `${via.host.toLowerCase()}:${via.port ?? ""}`;
  if (via.branch !== undefined && via.branch.startsWith(MAGIC_COOKIE) && via.branch.length > MAGIC_COOKIE.length) {
    return `${via.branch}|${sentBy}|${keyMethod}`;
  }
  // RFC 3261 §17.2.3, last paragraphs: matching for RFC 2543 requests.
  const toTag = keyMethod === "INVITE" ? "" : request.to.tag ?? "";
  return [
    "2543",
    request.uri,
    request.from.tag ?? "",
    toTag,
    request.callId,
    request.cseq.seq,
    `${via.transport} ${sentBy};branch=${via.branch ?? ""}`,
    keyMethod,
  ].join("|");
}

/**
 * What a {@linkcode ServerTransaction} is made from.
 *
 * @example
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ServerTransaction, transactionKey } from "@sipecho/sipecho/peer";
 * import type { TransactionInit } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const invite = parseMessage(
 *   "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
 * ) as SipRequest;
 * const init: TransactionInit = { request: invite, transport: "tcp" };
 * const tx = new ServerTransaction(init);
 * assert.equal(tx.key, transactionKey(invite));
 * assert.equal(tx.reliable, true);
 * assert.equal(tx.state, "Proceeding");
 * ```
 */
export interface TransactionInit {
  /** The request that creates it. */
  request: SipRequest;
  /** The transport it arrived over. */
  transport: Transport;
  /** Timer values (default {@linkcode DEFAULT_TIMERS}). */
  timers?: Timers;
  /** The key (default {@linkcode transactionKey} of the request). */
  key?: string;
  /** `false` withholds Timer G retransmissions of the final response (default true). */
  retransmit?: boolean;
}

/**
 * One UAS transaction: the INVITE server transaction (RFC 3261 §17.2.1, with the Accepted
 * state of RFC 6026 §7.1) or the non-INVITE one (§17.2.2).
 *
 * - INVITE: Proceeding; a non-2xx final moves it to Completed, resent with Timer G (T1,
 *   doubling up to T2; unreliable transports only) until the ACK (Confirmed, then Timer I:
 *   T4 on UDP, 0 otherwise) or Timer H (64*T1, a timeout). A 2xx moves it to Accepted: the
 *   2xx is resent from T1 doubling up to T2 on every transport until the ACK arrives
 *   (RFC 3261 §13.3.1.4, the core's job, done here), and Timer L (64*T1) ends it.
 * - non-INVITE: Trying; a provisional moves it to Proceeding, a final to Completed, and
 *   Timer J (64*T1 on UDP, 0 otherwise) ends it.
 *
 * A retransmitted request gets the last response again; in Accepted the 2xx again (RFC 6026
 * absorbs it instead; the 2xx is harmless to the client, which just sends another ACK).
 *
 * @example A 486 resent with Timer G until the ACK
 * ```ts
 * import { createResponse, parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ServerTransaction } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const invite = parseMessage(
 *   "INVITE sip:busy@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
 *     "To: <sip:busy@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
 * ) as SipRequest;
 * const tx = new ServerTransaction({ request: invite, transport: "udp" });
 * tx.respond(createResponse(invite, 486, undefined, { toTag: "x" }), 0);
 * assert.equal(tx.state, "Completed");
 * assert.equal(tx.nextTimer(), 500);
 * assert.equal(tx.fire(500)[0].kind, "send");
 * assert.equal(tx.ack(600), true);
 * assert.equal(tx.state, "Confirmed");
 * ```
 */
export class ServerTransaction<R extends { readonly status: number } = SipResponse> implements TransactionInfo {
  /** The key it is found by. */
  readonly key: string;
  /** The request that created it. */
  /** The request (a cut-down copy once only what the responses need is kept, see the peer). */
  request: SipRequest;
  /** Whether it is an INVITE transaction. */
  readonly invite: boolean;
  /** Whether the transport is reliable. */
  readonly reliable: boolean;
  /** The timer values. */
  readonly timers: Readonly<Timers>;
  /** Whether Timer G retransmissions are sent. */
  readonly retransmit: boolean;
  /** The current state. */
  state: TransactionState;
  /** The last response sent, if any. */
  lastResponse: R | undefined = undefined;
  /** In Accepted: whether the ACK for the 2xx arrived. */
  acked = false;
  // Two plain fields rather than a map of timers: Timer G runs beside at most one of H, I, J
  // and L, the timers that end the transaction (RFC 3261 §17.2.1, §17.2.2; RFC 6026 §7.1).
  // -1 means "not running".
  #g = -1;
  #interval = 0;
  #end = -1;
  #endName: _EndTimer = "J";

  /**
   * Starts the transaction of `init.request`: in Proceeding for INVITE, in Trying otherwise.
   *
   * @param init The request, transport, timers and key.
   */
  constructor(init: TransactionInit) {
    this.request = init.request;
    this.key = init.key ?? transactionKey(init.request);
    this.invite = init.request.method === "INVITE";
    this.reliable = isReliable(init.transport);
    this.timers = init.timers ?? DEFAULT_TIMERS;
    this.retransmit = init.retransmit ?? true;
    // RFC 3261 §17.2.1: an INVITE transaction starts in Proceeding; §17.2.2: non-INVITE in Trying.
    this.state = this.invite ? "Proceeding" : "Trying";
  }

  /** Whether a final response was sent. */
  get final(): boolean {
    return this.lastResponse !== undefined && this.lastResponse.status >= 200;
  }

  /**
   * Passes a response from the TU. A response after the final one is ignored.
   *
   * @param response The response.
   * @param at The time, ms.
   * @returns `send` with the response, or nothing if it may not be sent now.
   */
  respond(response: R, at: number): TransactionEvent<R>[] {
    return this.accept(response, at) ? [{ kind: "send", response }] : [];
  }

  /**
   * {@linkcode ServerTransaction.respond} without the event list: passes a response from the
   * TU and tells whether it is to be sent.
   *
   * @param response The response.
   * @param at The time, ms.
   * @returns True if the response is to be sent now, false if it comes after the final one.
   */
  accept(response: R, at: number): boolean {
    const status = response.status;
    if (this.state !== "Trying" && this.state !== "Proceeding") return false;
    this.lastResponse = response;
    const T1 = this.timers.T1;
    if (status < 200) {
      this.state = "Proceeding";
    } else if (this.invite && status < 300) {
      // RFC 6026 §7.1: Accepted, with Timer L; RFC 3261 §13.3.1.4: the 2xx is resent from T1.
      this.state = "Accepted";
      this.#startEnd("L", at + 64 * T1);
      this.#startG(at, false);
    } else if (this.invite) {
      // RFC 3261 §17.2.1: Completed; Timer G on unreliable transports, Timer H always.
      this.state = "Completed";
      this.#startEnd("H", at + 64 * T1);
      this.#startG(at, this.reliable);
    } else {
      // RFC 3261 §17.2.2: Completed; Timer J is 64*T1 on unreliable transports, 0 otherwise.
      this.state = "Completed";
      this.#startEnd("J", at + (this.reliable ? 0 : 64 * T1));
    }
    return true;
  }

  #startEnd(name: _EndTimer, at: number): void {
    this.#endName = name;
    this.#end = at;
  }

  #startG(at: number, skip: boolean): void {
    if (!this.retransmit || skip) return;
    this.#interval = this.timers.T1;
    this.#g = at + this.#interval;
  }

  /**
   * A retransmission of the request arrived (RFC 3261 §17.2.1, §17.2.2).
   *
   * @returns `send` with the last response, or nothing (Trying, Confirmed: absorbed).
   */
  retransmission(): TransactionEvent<R>[] {
    const response = this.resend();
    return response === undefined ? [] : [{ kind: "send", response }];
  }

  /**
   * {@linkcode ServerTransaction.retransmission} without the event list.
   *
   * @returns The response to send again, or undefined when the retransmission is absorbed.
   */
  resend(): R | undefined {
    if (this.state === "Trying" || this.state === "Confirmed" || this.state === "Terminated") return undefined;
    return this.lastResponse;
  }

  /**
   * An ACK for this INVITE transaction arrived: for a non-2xx, one matching the transaction
   * (Completed -> Confirmed, Timer I); for a 2xx, one the dialog matched (the 2xx is no
   * longer resent).
   *
   * @param at The time, ms.
   * @returns True if the ACK belongs here (it is absorbed), false if not an INVITE transaction.
   */
  ack(at: number): boolean {
    if (!this.invite) return false;
    if (this.state === "Completed") {
      this.state = "Confirmed";
      this.#g = -1;
      this.#startEnd("I", at + (this.reliable ? 0 : this.timers.T4));
    } else if (this.state === "Accepted") {
      this.acked = true;
      this.#g = -1;
    }
    return true;
  }

  /**
   * Ends the transaction at once (its owner is closing, or the TU gave up on it).
   */
  terminate(): void {
    this.state = "Terminated";
    this.#g = -1;
    this.#end = -1;
  }

  /**
   * When a timer is due.
   *
   * @param name The timer.
   * @returns Its time, ms, or undefined when it is not running.
   */
  timer(name: TimerName): number | undefined {
    if (name === "G") return this.#g < 0 ? undefined : this.#g;
    return this.#end < 0 || this.#endName !== name ? undefined : this.#end;
  }

  /** The earliest running timer, ms, or undefined. */
  nextTimer(): number | undefined {
    const g = this.#g;
    const end = this.#end;
    if (g < 0) return end < 0 ? undefined : end;
    return end < 0 || g < end ? g : end;
  }

  /**
   * Fires every timer due by `at`, earliest first.
   *
   * @param at The time, ms.
   * @returns What to do: responses to resend, a timeout, termination.
   */
  fire(at: number): TransactionEvent<R>[] {
    const events: TransactionEvent<R>[] = [];
    for (;;) {
      const g = this.#g;
      const end = this.#end;
      // On a tie the ending timer wins: it was started before Timer G was last restarted.
      if (end >= 0 && end <= at && (g < 0 || end <= g)) {
        const name = this.#endName;
        this.terminate();
        if (name === "H") events.push({ kind: "timeout", timer: "H" });
        else if (name === "L" && !this.acked) events.push({ kind: "timeout", timer: "L" });
        events.push({ kind: "terminated" });
        return events;
      }
      if (g < 0 || g > at) return events;
      // RFC 3261 §17.2.1: resend, then double the interval up to T2.
      if (this.lastResponse !== undefined) events.push({ kind: "send", response: this.lastResponse });
      this.#interval = Math.min(2 * this.#interval, this.timers.T2);
      this.#g = g + this.#interval;
    }
  }
}

/**
 * A bounded table of transactions by key (a {@linkcode BoundedTable} keyed by
 * {@linkcode transactionKey}): `add` refuses when full, so that the owner can answer 503
 * instead of growing without limit.
 *
 * @typeParam T What is held: a transaction, or what its owner keeps of one.
 * @example
 * ```ts
 * import { TransactionTable } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 * const table = new TransactionTable<{ key: string }>(1);
 * assert.equal(table.add({ key: "z9hG4bK1 INVITE" }), true);
 * assert.equal(table.add({ key: "z9hG4bK2 INVITE" }), false);
 * assert.equal(table.get("z9hG4bK1 INVITE")?.key, "z9hG4bK1 INVITE");
 * ```
 */
export class TransactionTable<T extends { readonly key: string } = ServerTransaction> extends BoundedTable<string, T> {
  /**
   * Makes an empty table.
   *
   * @param limit The most transactions held.
   */
  constructor(limit: number) {
    super(limit, (tx) => tx.key);
  }
}
