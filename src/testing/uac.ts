/**
 * The mock peer's user agent client: requests to a system under test, sent from the mock's
 * own sockets so that the answers come back to it, with the client transactions of
 * RFC 3261 §17.1 (retransmissions on UDP by Timers A and E, timeouts by Timers B and F, the
 * ACK of a non-2xx final response) and the caller's side of a dialog (ACK of a 2xx, BYE).
 *
 * The timers are real (`setTimeout`); {@linkcode Uac.close} clears every one of them.
 *
 * @module
 */

import { ClientTransaction } from "../ua/client.ts";
import { isToken } from "../sip/chars.ts";
import { canonicalHeaderName } from "../sip/headers.ts";
import { formatMessage } from "../sip/format.ts";
import { SipRequest, type SipResponse } from "../sip/message.ts";
import { answerSdp, createOffer, formatSdp, parseSdp } from "../media/sdp.ts";
import type { Timers } from "../ua/transaction.ts";
import { parseUri, type SipUri } from "../sip/uri.ts";
import type { ListenTransport } from "../net/serve.ts";
import type { SocketAddress } from "../net/transport.ts";

/**
 * Header fields to add to a request: a record, or pairs to repeat a name.
 *
 * @example
 * ```ts
 * import type { HeaderFields } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const one: HeaderFields = { "User-Agent": "test/1" };
 * const repeated: HeaderFields = [["Route", "<sip:p1@192.0.2.1;lr>"], ["Route", "<sip:p2@192.0.2.2;lr>"]];
 * assert.equal(Object.keys(one).length + repeated.length, 3);
 * ```
 */
export type HeaderFields = Readonly<Record<string, string>> | readonly (readonly [string, string])[];

/**
 * Options of a request in a dialog: `bye()`, `inDialog()`.
 *
 * @example
 * ```ts
 * import { type DialogRequestOptions, MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * const dtmf: DialogRequestOptions = { body: "Signal=5\r\nDuration=160\r\n", contentType: "application/dtmf-relay" };
 * assert.equal((await call.inDialog("INFO", dtmf)).status, 200);
 * assert.equal((await call.bye({ headers: { Reason: 'Q.850;cause=16' } })).status, 200);
 * ```
 */
export interface DialogRequestOptions {
  /** Extra header fields; From, To, Call-ID, CSeq and the rest are set from the dialog. */
  headers?: HeaderFields;
  /** The body: text (UTF-8) or bytes. */
  body?: string | Uint8Array;
  /** Content-Type of the body (default `application/sdp` for a body starting `v=0`, else `text/plain`). */
  contentType?: string;
  /** Give up after this long without a final response, ms (default: the mock peer's `timeout`). */
  timeout?: number;
}

/**
 * Options of a request sent by a mock peer (see `MockPeer.request`).
 *
 * @example
 * ```ts
 * import { MockPeer, type RequestOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const register: RequestOptions = {
 *   method: "REGISTER",
 *   uri: peer.uri,
 *   headers: { To: `<${peer.uriFor("alice")}>`, Expires: "300" },
 * };
 * const result = await peer.request(register);
 * assert.equal(result.status, 200);
 * assert.equal(result.request.headers.get("Expires"), "300");
 * ```
 */
export interface RequestOptions extends DialogRequestOptions {
  /** The method, e.g. `OPTIONS`, `INVITE`, `REGISTER`, `MESSAGE` (case-sensitive). */
  method: string;
  /**
   * The Request-URI. Unless `destination` is given, the request goes to its host (an IP
   * address or `localhost`; names are not resolved) and port (default 5060).
   */
  uri: string;
  /**
   * Header fields. Those the UAC writes itself (Max-Forwards, From, To, Call-ID, CSeq, Contact)
   * are replaced by the ones given here; Via and Content-Length are refused. A From without a
   * tag gets one (RFC 3261 §8.1.1.3).
   */
  headers?: HeaderFields;
  /** Send an SDP offer as the body (RFC 3264 §5), e.g. for an INVITE. */
  sdp?: boolean;
  /** `udp`, `tcp` or `ws` (default: the `transport` parameter of `uri`, else `udp`). */
  transport?: ListenTransport;
  /** Where to send it, when not to the host and port of `uri`. */
  destination?: SocketAddress;
  /**
   * For an INVITE: when aborted before the final response, a CANCEL is sent (RFC 3261 §9.1;
   * once a provisional response has arrived) and the request then resolves with the final
   * response (normally 487). For another method, the request rejects with the abort reason.
   */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode UacResult.ack}.
 *
 * @example
 * ```ts
 * import { type AckOptions, MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * const options: AckOptions = { headers: { "X-Test": "ack" } };
 * assert.equal(call.ack(options).headers.get("X-Test"), "ack");
 * await call.bye();
 * ```
 */
export interface AckOptions {
  /** Extra header fields. */
  headers?: HeaderFields;
  /**
   * The body. By default, when the INVITE had no offer and the 2xx carries one, the ACK carries
   * the SDP answer (RFC 3264 §5, RFC 3261 §13.2.1).
   */
  body?: string | Uint8Array;
  /** Content-Type of `body`. */
  contentType?: string;
}

/**
 * The outcome of a request: the request as sent, its final response and the provisional
 * responses before it; for a 2xx to an INVITE, the dialog's next steps.
 *
 * @example
 * ```ts
 * import { MockPeer, type UacResult } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const call: UacResult = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * assert.equal(call.status, 200);
 * assert.deepEqual(call.provisional.map((r) => r.status), [100, 180]);
 * assert.equal(call.ack().method, "ACK");
 * assert.equal((await call.bye()).status, 200);
 * ```
 */
export interface UacResult {
  /** The request as sent (first transmission). */
  readonly request: SipRequest;
  /** The final response. */
  readonly response: SipResponse;
  /** The final response's status code. */
  readonly status: number;
  /** The 1xx responses received before it, in order (retransmissions included). */
  readonly provisional: readonly SipResponse[];
  /**
   * Acknowledges a 2xx to an INVITE (RFC 3261 §13.2.2.4): a new transaction, CSeq of the
   * INVITE, sent to where the INVITE went. Resent on every retransmission of the 2xx. A
   * second call returns the first ACK.
   *
   * @param options Headers and body.
   * @returns The ACK as sent.
   * @throws {TypeError} If the response is not a 2xx to an INVITE (the ACK of a non-2xx is
   *   the transaction's, RFC 3261 §17.1.1.3, and was sent already).
   */
  ack(options?: AckOptions): SipRequest;
  /**
   * Ends the dialog with a BYE (RFC 3261 §15.1.1), after the ACK if `ack()` was not called.
   *
   * @param options Headers, body, timeout.
   * @returns The BYE's outcome.
   * @throws {TypeError} If the response is not a 2xx to an INVITE.
   */
  bye(options?: DialogRequestOptions): Promise<UacResult>;
  /**
   * Sends another request in the dialog (RFC 3261 §12.2.1.1): INFO, UPDATE, a re-INVITE,
   * MESSAGE. Request-URI, To, From, Call-ID, the next CSeq and Route come from the dialog.
   *
   * @param method The method.
   * @param options Headers, body, timeout.
   * @returns The request's outcome.
   * @throws {TypeError} If the response is not a 2xx to an INVITE.
   */
  inDialog(method: string, options?: DialogRequestOptions): Promise<UacResult>;
}

/** What the UAC needs from its host (the mock peer). */
export interface UacHost {
  /** The user part of From and Contact. */
  readonly user: string;
  /** T1, T2 and T4. */
  readonly timers: Timers;
  /** Default limit on waiting for a final response, ms. */
  readonly timeout: number;
  /** Our address on a transport, for Via and Contact. */
  local(transport: ListenTransport): SocketAddress;
  /**
   * Sends one request (and records it): on TCP or WebSocket on the connection open to `to`,
   * else on a new one. Rejects if it cannot be sent (the connection cannot be opened).
   */
  send(request: SipRequest, data: Uint8Array, to: SocketAddress, transport: ListenTransport): Promise<void>;
  /** The error for a request that got no final response in time. */
  timeoutError(what: string, timeout: number): Error;
}

type _Timer = ReturnType<typeof setTimeout>;

/** One client transaction: its state machine (src/ua/client.ts) on real timers. */
interface _Transaction {
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
  /** The ACK of a non-2xx final response, resent on its retransmissions. */
  ack: Uint8Array | undefined;
  /** What to do with a retransmitted 2xx (resend the ACK). */
  on2xx: (() => void) | undefined;
  /** A CANCEL is due at the first provisional response. */
  cancelWanted: boolean;
  cancelled: boolean;
}

/** The caller's view of a dialog (RFC 3261 §12.1.2). */
interface _Dialog {
  callId: string;
  from: string;
  to: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  destination: SocketAddress;
  transport: ListenTransport;
}

/**
 * The headers of a request inside dialog `d` (RFC 3261 §12.2.1.1): From, To and Call-ID of the
 * dialog, the CSeq given, Route from the route set.
 */
function _dialogHeaders(d: _Dialog, cseq: string): [string, string][] {
  const headers: [string, string][] = [
    ["Max-Forwards", "70"],
    ["From", d.from],
    ["To", d.to],
    ["Call-ID", d.callId],
    ["CSeq", cseq],
  ];
  for (const route of d.routeSet) headers.push(["Route", route]);
  return headers;
}

/**
 * The UAC of a mock peer. Feed it every response the mock's sockets receive with
 * {@linkcode Uac.receive}.
 */
export class Uac {
  #host: UacHost;
  #transactions = new Map<string, _Transaction>();
  #timers = new Set<_Timer>();
  #closed = false;
  #seq = 0;

  /** @param host Sockets, addresses, timers. */
  constructor(host: UacHost) {
    this.#host = host;
  }

  /**
   * Sends a request and resolves with its final response.
   *
   * @param options Method, URI, headers, body, transport.
   * @returns The outcome.
   * @throws {TypeError} On a bad option (no IP to send to, Via given, ...).
   */
  request(options: RequestOptions): Promise<UacResult> {
    try {
      if (this.#closed) throw new Error("request(): the mock peer is closed");
      const method = options.method;
      if (!isToken(method)) throw new TypeError(`request(): bad method "${method}"`);
      if (method === "ACK" || method === "CANCEL") {
        throw new TypeError(`request(): ${method} is sent by the UAC itself (use ack() or the signal option)`);
      }
      const uri = parseUri(options.uri);
      if (uri.scheme !== "sip" && uri.scheme !== "sips") {
        if (options.destination === undefined) {
          throw new TypeError(`request(): a ${uri.scheme} URI needs a destination`);
        }
      }
      const sip = uri.scheme === "sip" || uri.scheme === "sips" ? uri as SipUri : undefined;
      const transport = options.transport ?? _transportOf(sip);
      const to = options.destination ?? _destination(sip as SipUri);
      const local = this.#host.local(transport);
      const headers: [string, string][] = [
        ["Max-Forwards", "70"],
        ["From", `<${this.#localUri(local, transport, false)}>;tag=${_random(8)}`],
        ["To", `<${options.uri}>`],
        ["Call-ID", `${_random(16)}@${_host(local.address)}`],
        ["CSeq", `${++this.#seq} ${method}`],
      ];
      // RFC 3261 §8.1.1.8: a request that can make a dialog carries a Contact; REGISTER binds it.
      if (["INVITE", "SUBSCRIBE", "REFER", "REGISTER", "UPDATE"].includes(method)) {
        headers.push(["Contact", `<${this.#localUri(local, transport, true)}>`]);
      }
      let body = options.body;
      let contentType = options.contentType;
      if (options.sdp && body === undefined) {
        body = formatSdp(createOffer({
          address: local.address,
          port: 4000,
          sessionId: Math.floor(Math.random() * 0x7fffffff),
          sessionVersion: 1,
        }));
        contentType ??= "application/sdp";
      }
      const request = this.#build(method, options.uri, transport, local, headers, options.headers, body, contentType);
      const tx = this.#start(request, to, transport, options.timeout, options.signal);
      return tx.done.promise.then((response) => this.#result(tx, response));
    } catch (e) {
      return Promise.reject(e);
    }
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
  // Client transactions

  #start(
    request: SipRequest,
    to: SocketAddress,
    transport: ListenTransport,
    timeout: number | undefined,
    signal?: AbortSignal,
  ): _Transaction {
    const invite = request.method === "INVITE";
    const T1 = this.#host.timers.T1;
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
    const limit = timeout ?? this.#host.timeout;
    if (limit < 64 * T1 || invite) {
      tx.deadline = this.#later(limit, () => {
        this.#settle(
          tx,
          this.#host.timeoutError(`${request.method} ${request.uri}: no final response within ${limit} ms`, limit),
        );
        this.#terminate(tx);
      });
    }
    if (signal !== undefined) {
      const onAbort = () => {
        if (tx.settled) return;
        if (!invite) {
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
    return tx;
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
        if (event.kind === "retransmit") this.#resend(tx.request, tx.data, tx);
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
      if (tx.ack !== undefined) this.#resend(undefined, tx.ack, tx);
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
    const ack = this.#nonSuccessAck(tx.request, response);
    tx.ack = formatMessage(ack);
    // A lost ACK shows as retransmissions of the final response (UDP), each acknowledged again.
    this.#host.send(ack, tx.ack, tx.to, tx.transport).catch(() => {});
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

  /** RFC 3261 §9.1: CANCEL a pending INVITE. */
  #cancel(tx: _Transaction): void {
    if (tx.cancelled || tx.settled) return;
    tx.cancelled = true;
    const invite = tx.request;
    const headers: [string, string][] = [["Via", invite.headers.getFields("Via")[0]]];
    for (const name of ["Max-Forwards", "From", "To", "Call-ID"]) headers.push([name, invite.headers.get(name) ?? ""]);
    headers.push(["CSeq", `${invite.cseq.seq} CANCEL`]);
    for (const route of invite.headers.getFields("Route")) headers.push(["Route", route]);
    const cancel = new SipRequest({ method: "CANCEL", uri: invite.uri, headers });
    // Its outcome matters to nobody: the INVITE ends with 487 (or a 2xx that won the race).
    // Not sent: Timer B ends the INVITE.
    this.#start(cancel, tx.to, tx.transport, undefined).done.promise.catch(() => {});
  }

  /** RFC 3261 §17.1.1.3: the ACK of a non-2xx final response, in the INVITE's transaction. */
  #nonSuccessAck(invite: SipRequest, response: SipResponse): SipRequest {
    const headers: [string, string][] = [["Via", invite.headers.getFields("Via")[0]]];
    headers.push(["Max-Forwards", "70"]);
    headers.push(["From", invite.headers.get("From") ?? ""]);
    headers.push(["To", response.headers.get("To") ?? invite.headers.get("To") ?? ""]);
    headers.push(["Call-ID", invite.callId]);
    headers.push(["CSeq", `${invite.cseq.seq} ACK`]);
    for (const route of invite.headers.getFields("Route")) headers.push(["Route", route]);
    return new SipRequest({ method: "ACK", uri: invite.uri, headers });
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

  #resend(request: SipRequest | undefined, data: Uint8Array, tx: _Transaction): void {
    // Not sent: Timer B or F ends the transaction.
    this.#host.send(request ?? tx.request, data, tx.to, tx.transport).catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Requests and dialogs

  #localUri(local: SocketAddress, transport: ListenTransport, withTransport: boolean): string {
    const param = withTransport && transport !== "udp" ? `;transport=${transport}` : "";
    return `sip:${this.#host.user}@${_host(local.address)}:${local.port}${param}`;
  }

  /** Builds a request: our Via on top (RFC 3261 §8.1.1.7), then the fields, the caller's merged in. */
  #build(
    method: string,
    uri: string,
    transport: ListenTransport,
    local: SocketAddress,
    defaults: [string, string][],
    extra: HeaderFields | undefined,
    body: string | Uint8Array | undefined,
    contentType: string | undefined,
  ): SipRequest {
    // RFC 3261 §8.1.1.7: a new branch with the magic cookie; RFC 3581: rport asks for symmetric responses.
    const via = `SIP/2.0/${transport.toUpperCase()} ${_host(local.address)}:${local.port};branch=z9hG4bK${
      _random(16)
    };rport`;
    const fields: [string, string][] = [["Via", via], ...defaults];
    const replaced = new Set<string>();
    for (const [rawName, value] of _pairs(extra)) {
      const name = canonicalHeaderName(rawName);
      const lower = name.toLowerCase();
      if (lower === "via" || lower === "content-length") {
        throw new TypeError(`request(): ${name} is written by the UAC, not by headers`);
      }
      if (lower === "content-type") {
        contentType = value;
        continue;
      }
      const at = fields.findIndex(([n]) => n.toLowerCase() === lower);
      if (at >= 0 && !replaced.has(lower)) {
        replaced.add(lower);
        // RFC 3261 §8.1.1.3: the From tag is mandatory.
        fields[at] = [name, lower === "from" && !/;\s*tag=/i.test(value) ? `${value};tag=${_random(8)}` : value];
      } else {
        fields.push([name, value]);
      }
    }
    if (body !== undefined && body.length > 0) {
      const text = typeof body === "string" ? body : "";
      fields.push(["Content-Type", contentType ?? (/^v=0\r?\n/.test(text) ? "application/sdp" : "text/plain")]);
    }
    return new SipRequest({ method, uri, headers: fields, body });
  }

  #result(tx: _Transaction, response: SipResponse): UacResult {
    const request = tx.request;
    const provisional = tx.provisional;
    const success = request.method === "INVITE" && response.status >= 200 && response.status < 300;
    const dialog = success ? this.#dialog(request, response, tx.to, tx.transport) : undefined;
    let ack: SipRequest | undefined;
    const needDialog = (what: string): _Dialog => {
      if (dialog === undefined) {
        throw new TypeError(
          `${what}: only a 2xx to an INVITE makes a dialog; this is a ${response.status} to ${request.method}` +
            (request.method === "INVITE" ? " (its ACK was sent by the transaction, RFC 3261 §17.1.1.3)" : ""),
        );
      }
      return dialog;
    };
    const result: UacResult = {
      request,
      response,
      status: response.status,
      provisional,
      ack: (options: AckOptions = {}) => {
        const d = needDialog("ack()");
        if (ack !== undefined) return ack;
        ack = this.#successAck(request, response, d, options);
        const data = formatMessage(ack);
        // Not sent (the connection cannot be reopened): the BYE that follows fails the same way.
        this.#host.send(ack, data, d.destination, d.transport).catch(() => {});
        const sent = ack;
        tx.on2xx = () => this.#resend(sent, data, tx);
        return ack;
      },
      bye: (options?: DialogRequestOptions) => {
        try {
          needDialog("bye()");
          if (ack === undefined) result.ack();
        } catch (e) {
          return Promise.reject(e);
        }
        return result.inDialog("BYE", options);
      },
      inDialog: (method: string, options: DialogRequestOptions = {}) => {
        try {
          const d = needDialog("inDialog()");
          if (this.#closed) throw new Error("inDialog(): the mock peer is closed");
          const local = this.#host.local(d.transport);
          // RFC 3261 §12.2.1.1: Request-URI the remote target, To and From of the dialog, the next
          // local CSeq, Route from the route set.
          const headers = _dialogHeaders(d, `${++d.localSeq} ${method}`);
          if (method === "INVITE" || method === "UPDATE") {
            headers.push(["Contact", `<${this.#localUri(local, d.transport, true)}>`]);
          }
          const request = this.#build(
            method,
            d.remoteTarget,
            d.transport,
            local,
            headers,
            options.headers,
            options.body,
            options.contentType,
          );
          const next = this.#start(request, d.destination, d.transport, options.timeout);
          return next.done.promise.then((r) => this.#result(next, r));
        } catch (e) {
          return Promise.reject(e);
        }
      },
    };
    return result;
  }

  /** RFC 3261 §12.1.2: the caller's dialog state from the 2xx. */
  #dialog(invite: SipRequest, response: SipResponse, to: SocketAddress, transport: ListenTransport): _Dialog {
    let remoteTarget = invite.uri;
    try {
      const contact = response.contact;
      if (contact !== "*" && contact.length > 0) remoteTarget = contact[0].uri;
    } catch { /* a malformed Contact: keep the Request-URI */ }
    return {
      callId: invite.callId,
      from: invite.headers.get("From") ?? "",
      to: response.headers.get("To") ?? "",
      remoteTarget,
      // The route set is the Record-Route of the response, in reverse order.
      routeSet: response.headers.getAll("Record-Route").reverse(),
      localSeq: invite.cseq.seq,
      destination: to,
      transport,
    };
  }

  /** RFC 3261 §13.2.2.4: the ACK of a 2xx, its own transaction, CSeq number of the INVITE. */
  #successAck(invite: SipRequest, response: SipResponse, d: _Dialog, options: AckOptions): SipRequest {
    const local = this.#host.local(d.transport);
    const headers = _dialogHeaders(d, `${invite.cseq.seq} ACK`);
    let body = options.body;
    let contentType = options.contentType;
    if (body === undefined && invite.body.length === 0 && response.contentType?.mediaType === "application/sdp") {
      // RFC 3261 §13.2.1: the offer came in the 2xx, so the answer goes in the ACK.
      try {
        const result = answerSdp(parseSdp(response.bodyText), {
          address: local.address,
          rtpPort: (index) => 4000 + 2 * index,
          sessionId: Math.floor(Math.random() * 0x7fffffff),
          sessionVersion: 1,
        });
        if (result.ok) {
          body = formatSdp(result.answer);
          contentType = "application/sdp";
        }
      } catch { /* not an offer we can answer: an ACK without a body */ }
    }
    return this.#build("ACK", d.remoteTarget, d.transport, local, headers, options.headers, body, contentType);
  }
}

function _pairs(init: HeaderFields | undefined): (readonly [string, string])[] {
  if (init === undefined) return [];
  if (Array.isArray(init)) return init as (readonly [string, string])[];
  return Object.entries(init as Record<string, string>);
}

function _transportOf(uri: SipUri | undefined): ListenTransport {
  const t = uri?.params.transport;
  if (t === undefined || t === null) return "udp";
  const lower = t.toLowerCase();
  if (lower === "udp" || lower === "tcp" || lower === "ws") return lower;
  throw new TypeError(`request(): transport "${t}" is not supported (udp, tcp or ws)`);
}

/** Where a request to a SIP URI goes: its host, which must be an IP address, and port. */
function _destination(uri: SipUri): SocketAddress {
  const host = uri.host.startsWith("[") ? uri.host.slice(1, -1) : uri.host;
  const ip = host === "localhost" ? "127.0.0.1" : host;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) && !ip.includes(":")) {
    throw new TypeError(`request(): cannot send to "${uri.host}": host names are not resolved; give a destination`);
  }
  return { address: ip, port: uri.port ?? 5060 };
}

function _host(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** Random hex digits, for tags, branches and Call-IDs (RFC 3261 §19.3: at least 32 bits of randomness). */
function _random(digits: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out.slice(0, digits);
}

/** The UAC's clock for its transactions, ms. */
function _now(): number {
  return performance.now();
}
