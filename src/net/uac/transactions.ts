/**
 * The client transactions of the mock's UAC (RFC 3261 §17.1): each request's
 * {@linkcode ClientTransaction} (src/ua/client.ts, the one state machine) run on real timers,
 * with what the machine asks for done here: sending and resending the request (Timers A and E
 * on UDP), giving up (Timers B and F, or the caller's own limit), the ACK of a non-2xx final
 * response and its resends, the ACK of a 2xx resent on each retransmission of the 2xx, and the
 * CANCEL of an INVITE whose caller aborted (§9.1).
 *
 * @module
 */

import { ClientTransaction } from "../../ua/client.ts";
import type { Timers } from "../../ua/transaction.ts";
import { formatMessage } from "../../sip/format.ts";
import type { SipRequest, SipResponse } from "../../sip/message.ts";
import type { SocketAddress } from "../../sip/routing.ts";
import type { ListenTransport } from "../serve.ts";
import { _cancelOf, _nonSuccessAckOf } from "./requests.ts";

/** What the client transactions need from the mock peer: timers, a limit, a way to send, an error. */
export interface _TransactionHost {
  /** T1, T2 and T4. */
  readonly timers: Timers;
  /** Default limit on waiting for a final response, ms. */
  readonly timeout: number;
  /**
   * Sends one request (and records it): on TCP or WebSocket on the connection open to `to`,
   * else on a new one. Rejects if it cannot be sent (the connection cannot be opened).
   */
  send(request: SipRequest, data: Uint8Array, to: SocketAddress, transport: ListenTransport): Promise<void>;
  /** The error for a request that got no final response in time. */
  timeoutError(what: string, timeout: number): Error;
}

type _Timer = ReturnType<typeof setTimeout>;

/** One client transaction: its state machine on real timers, and what its caller waits for. */
export interface _Transaction {
  key: string;
  request: SipRequest;
  data: Uint8Array;
  to: SocketAddress;
  transport: ListenTransport;
  invite: boolean;
  /** RFC 3261 §17.1: states and Timers A, B, D, E, F, K, M. */
  machine: ClientTransaction;
  provisional: SipResponse[];
  /** The timer at the machine's next due time. */
  timer: _Timer | undefined;
  /** The caller's own limit. */
  deadline: _Timer | undefined;
  done: PromiseWithResolvers<SipResponse>;
  settled: boolean;
  /** The ACK of a non-2xx final response and its bytes, resent on its retransmissions. */
  ack: { request: SipRequest; data: Uint8Array } | undefined;
  /** What to do with a retransmitted 2xx (resend the ACK). */
  on2xx: (() => void) | undefined;
  /** A CANCEL is due at the first provisional response. */
  cancelWanted: boolean;
  cancelled: boolean;
}

/**
 * The UAC's client transactions, by the branch of their Via and their method (RFC 3261
 * §17.1.3). Every timer they run is kept, so that `close()` clears them all.
 */
export class _UacTransactions {
  #host: _TransactionHost;
  #transactions = new Map<string, _Transaction>();
  #timers = new Set<_Timer>();
  #closed = false;

  /** @param host Timers, limit, sending, errors. */
  constructor(host: _TransactionHost) {
    this.#host = host;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request in a new client transaction; its `done` settles with the final response.
   *
   * @param request The request, our Via on top.
   * @param to Where it goes.
   * @param transport Over what.
   * @param timeout The caller's limit, ms (default: the host's).
   * @param signal For an INVITE, CANCELs it (RFC 3261 §9.1); for another request, rejects.
   * @returns The transaction.
   */
  start(
    request: SipRequest,
    to: SocketAddress,
    transport: ListenTransport,
    timeout: number | undefined,
    signal?: AbortSignal,
  ): _Transaction {
    const invite = request.method === "INVITE";
    const tx: _Transaction = {
      key: `${request.via[0].branch}|${request.method}`,
      request,
      data: formatMessage(request),
      to,
      transport,
      invite,
      machine: new ClientTransaction({ invite, reliable: transport !== "udp", at: _now(), timers: this.#host.timers }),
      provisional: [],
      timer: undefined,
      deadline: undefined,
      done: Promise.withResolvers<SipResponse>(),
      settled: false,
      ack: undefined,
      on2xx: undefined,
      cancelWanted: false,
      cancelled: false,
    };
    this.#transactions.set(tx.key, tx);
    // A request that cannot be sent (RFC 3261 §18.1.1: the connection cannot be opened) is a
    // transport error: the transaction ends at once with it (§17.1.1.2, §17.1.2.2).
    this.#host.send(request, tx.data, to, transport).catch((e) => {
      if (tx.settled || this.#closed) return;
      const why = e instanceof Error ? e.message : String(e);
      this.#settle(tx, new Error(`${request.method} ${request.uri}: not sent: ${why}`, { cause: e }));
      this.#terminate(tx);
    });
    this.#arm(tx);
    this.#limit(tx, timeout ?? this.#host.timeout);
    if (signal !== undefined) this.#abortOn(tx, signal);
    return tx;
  }

  /**
   * Takes a response from the mock's sockets (RFC 3261 §17.1.3: matched by the branch of the
   * top Via and the CSeq method).
   *
   * @param response The response.
   * @returns Whether it belonged to one of our transactions.
   */
  receive(response: SipResponse): boolean {
    let key: string;
    try {
      key = `${response.via[0]?.branch}|${response.cseq.method}`;
    } catch {
      return false;
    }
    const tx = this.#transactions.get(key);
    if (tx === undefined) return false;
    const status = response.status;
    if (tx.invite) this.#inviteResponse(tx, response, status);
    else this.#nonInviteResponse(tx, response, status);
    return true;
  }

  /**
   * Sends the ACK of a 2xx to the INVITE of `tx` (RFC 3261 §13.2.2.4: a transaction of its
   * own, to where the INVITE went), and again on each retransmission of the 2xx.
   *
   * @param tx The INVITE's transaction.
   * @param ack The ACK.
   */
  acknowledge2xx(tx: _Transaction, ack: SipRequest): void {
    const data = formatMessage(ack);
    // Not sent (the connection cannot be reopened): the BYE that follows fails the same way.
    this.#host.send(ack, data, tx.to, tx.transport).catch(() => {});
    tx.on2xx = () => this.#resend(tx, ack, data);
  }

  /** Stops every transaction and timer; pending requests reject. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const tx of this.#transactions.values()) {
      if (!tx.settled) {
        // Nobody may be waiting any more: a rejection nobody handles must not crash the test run.
        tx.done.promise.catch(() => {});
        this.#settle(tx, new Error(`${tx.request.method} ${tx.request.uri}: the mock peer closed`));
      }
    }
    this.#transactions.clear();
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The caller's own limit. A non-INVITE gives up by Timer F at 64*T1 anyway, so it needs one
   * only when shorter; an INVITE waits for its final response as long as a 1xx keeps it
   * in Proceeding (Timer B stops), so it always has one.
   */
  #limit(tx: _Transaction, limit: number): void {
    if (limit >= 64 * this.#host.timers.T1 && !tx.invite) return;
    tx.deadline = this.#later(limit, () => {
      this.#settle(
        tx,
        this.#host.timeoutError(`${tx.request.method} ${tx.request.uri}: no final response within ${limit} ms`, limit),
      );
      this.#terminate(tx);
    });
  }

  /** The caller aborts: an INVITE is CANCELled (RFC 3261 §9.1), another request rejects with the reason. */
  #abortOn(tx: _Transaction, signal: AbortSignal): void {
    const onAbort = () => {
      if (tx.settled) return;
      if (!tx.invite) {
        this.#settle(tx, signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        this.#terminate(tx);
      } else if (tx.machine.state === "Proceeding") {
        this.#cancel(tx);
      } else {
        // RFC 3261 §9.1: no CANCEL before a provisional response has arrived.
        tx.cancelWanted = true;
      }
    };
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      tx.done.promise.then(
        () => signal.removeEventListener("abort", onAbort),
        () => signal.removeEventListener("abort", onAbort),
      );
    }
  }

  /** Keeps one timer per transaction, at its state machine's next due time. */
  #arm(tx: _Transaction): void {
    if (tx.timer !== undefined) this.#clear(tx.timer);
    tx.timer = undefined;
    const next = tx.machine.nextTimer();
    if (next === undefined) return;
    tx.timer = this.#later(Math.max(0, next - _now()), () => {
      tx.timer = undefined;
      for (const event of tx.machine.fire(_now())) {
        if (event.kind === "retransmit") this.#resend(tx, tx.request, tx.data);
        else if (event.kind === "timeout") {
          const T1 = this.#host.timers.T1;
          this.#settle(
            tx,
            this.#host.timeoutError(
              `${tx.request.method} ${tx.request.uri}: no final response (Timer ${event.timer}, 64*T1 = ${64 * T1} ms)`,
              64 * T1,
            ),
          );
        } else {
          this.#terminate(tx);
          return;
        }
      }
      this.#arm(tx);
    });
  }

  #inviteResponse(tx: _Transaction, response: SipResponse, status: number): void {
    const verdict = tx.machine.receive(status, _now());
    if (verdict.kind === "absorb") return;
    if (verdict.kind === "ack") {
      // RFC 3261 §17.1.1.2: a retransmitted final response gets the ACK again.
      if (tx.ack !== undefined) this.#resend(tx, tx.ack.request, tx.ack.data);
      return;
    }
    if (status < 200) {
      // RFC 3261 §17.1.1.2: a provisional response stops the retransmissions (Timer A) and the
      // transaction waits for the final response (Timer B no longer applies).
      this.#arm(tx);
      tx.provisional.push(response);
      if (tx.cancelWanted && !tx.cancelled) this.#cancel(tx);
      return;
    }
    if (status < 300) {
      // RFC 3261 §13.2.2.4: each retransmission of the 2xx gets the ACK again.
      if (!verdict.first) {
        tx.on2xx?.();
        return;
      }
      // RFC 6026 §8.4: Accepted, where retransmitted 2xx responses go to the TU, until Timer M.
      this.#arm(tx);
      this.#settle(tx, response);
      return;
    }
    // Completed: the ACK in the INVITE's transaction (§17.1.1.3); Timer D absorbs retransmissions.
    const ack = _nonSuccessAckOf(tx.request, response);
    tx.ack = { request: ack, data: formatMessage(ack) };
    // A lost ACK shows as retransmissions of the final response (UDP), each acknowledged again.
    this.#host.send(ack, tx.ack.data, tx.to, tx.transport).catch(() => {});

    this.#arm(tx);
    this.#settle(tx, response);
  }

  #nonInviteResponse(tx: _Transaction, response: SipResponse, status: number): void {
    const verdict = tx.machine.receive(status, _now());
    if (verdict.kind !== "deliver") return;
    // RFC 3261 §17.1.2.2: a provisional moves to Proceeding (resends every T2); the final to
    // Completed (Timer K absorbs its retransmissions).
    this.#arm(tx);
    if (status < 200) tx.provisional.push(response);
    else this.#settle(tx, response);
  }

  /** RFC 3261 §9.1: CANCEL a pending INVITE, in a non-INVITE transaction of its own. */
  #cancel(tx: _Transaction): void {
    if (tx.cancelled || tx.settled) return;
    tx.cancelled = true;
    // Its outcome matters to nobody: the INVITE ends with 487 (or a 2xx that won the race).
    // Not sent: Timer B ends the INVITE.
    this.start(_cancelOf(tx.request), tx.to, tx.transport, undefined).done.promise.catch(() => {});
  }

  #settle(tx: _Transaction, outcome: SipResponse | Error): void {
    if (tx.settled) return;
    tx.settled = true;
    if (tx.deadline !== undefined) this.#clear(tx.deadline);
    tx.deadline = undefined;
    if (outcome instanceof Error) tx.done.reject(outcome);
    else tx.done.resolve(outcome);
  }

  #terminate(tx: _Transaction): void {
    tx.machine.terminate();
    if (tx.timer !== undefined) this.#clear(tx.timer);
    if (tx.deadline !== undefined) this.#clear(tx.deadline);
    tx.timer = tx.deadline = undefined;
    if (this.#transactions.get(tx.key) === tx) this.#transactions.delete(tx.key);
  }

  /** A timer the UAC keeps (so that close() stops it). */
  #later(ms: number, run: () => void): _Timer {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) run();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #clear(t: _Timer): void {
    clearTimeout(t);
    this.#timers.delete(t);
  }

  /** Sends `data` (`request`, or its ACK) again to where the transaction's request went. */
  #resend(tx: _Transaction, request: SipRequest, data: Uint8Array): void {
    // Not sent: Timer B or F ends the transaction.
    this.#host.send(request, data, tx.to, tx.transport).catch(() => {});
  }
}

/** The UAC's clock for its transactions, ms. */
function _now(): number {
  return performance.now();
}
