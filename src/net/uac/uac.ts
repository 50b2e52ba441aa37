/**
 * The user agent client of the mock peer and of sipecho's own calls (a REFER's target): requests
 * sent from the server's own sockets so that the answers come back to it, with the client transactions of
 * RFC 3261 §17.1 (retransmissions on UDP by Timers A and E, timeouts by Timers B and F, the
 * ACK of a non-2xx final response) and the caller's side of a dialog (ACK of a 2xx, BYE).
 *
 * The timers are real (`setTimeout`); {@linkcode Uac.close} clears every one of them. The parts:
 *
 * - `requests.ts`: the requests it writes ({@linkcode HeaderFields});
 * - `transactions.ts`: its client transactions on real timers;
 * - `dialog.ts`: the caller's side of a dialog ({@linkcode UacResult}, {@linkcode AckOptions},
 *   {@linkcode DialogRequestOptions});
 * - this module: {@linkcode Uac} itself, its {@linkcode RequestOptions} and what it needs of its host.
 *
 * @module
 */

import { isToken } from "../../sip/chars.ts";
import type { SipRequest, SipResponse } from "../../sip/message.ts";
import type { SocketAddress } from "../../sip/routing.ts";
import { parseUri, type SipUri } from "../../sip/uri.ts";
import type { ListenTransport } from "../serve.ts";
import { _destination, _hostPort, _hostText, _transportOf } from "./addresses.ts";
import type { TlsTrust } from "../serve_tls.ts";
import { normalizeFingerprint } from "../../tls/certificate.ts";
import { _buildRequest, _identityFields, _offerBody, _random, type HeaderFields } from "./requests.ts";
import { type _Transaction, type _TransactionHost, _UacTransactions } from "./transactions.ts";
import { _UacAuth, type UacCredentials } from "./auth.ts";
import {
  type _Dialog,
  _dialogFields,
  _dialogOf,
  _successAckOf,
  type AckOptions,
  type DialogRequestOptions,
  type UacResult,
} from "./dialog.ts";

export type { HeaderFields } from "./requests.ts";
export type { UacCredentials } from "./auth.ts";
export type { AckOptions, DialogRequestOptions, UacResult } from "./dialog.ts";

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
  /**
   * `udp`, `tcp`, `ws`, `tls` or `wss` (default: `tls` for a `sips:` URI, RFC 5630 §3, else the
   * `transport` parameter of `uri`, else `udp`). Over `ws` and `wss` the mock opens a WebSocket
   * to path `/` with the `sip` subprotocol (RFC 7118 §4) when none is open to the destination.
   */
  transport?: ListenTransport;
  /**
   * Over TLS or WSS, whom to trust when the mock opens the connection: `ca` (PEM, e.g. the `ca` of a
   * `server.tls` made with `tls: "self-signed"`) instead of the mock's `tls.ca` or the system's,
   * or the SHA-256 `fingerprint` the server's certificate must have (then no CA or name is
   * checked). A connection already open to the destination is used as it is.
   */
  tls?: { ca?: string | string[]; fingerprint?: string };
  /** Where to send it, when not to the host and port of `uri`. */
  destination?: SocketAddress;
  /**
   * For an INVITE: when aborted before the final response, a CANCEL is sent (RFC 3261 §9.1;
   * once a provisional response has arrived) and the request then resolves with the final
   * response (normally 487). For another method, the request rejects with the abort reason.
   */
  signal?: AbortSignal;
  /**
   * Answer a 401 or 407 with these credentials (RFC 3261 §22.2): once per realm (once more
   * after `stale=true`), the request sent again with CSeq one more, a new branch and the
   * Authorization or Proxy-Authorization; the result is the last request's. Default: the mock
   * peer's `credentials`; `false`: none.
   */
  credentials?: UacCredentials | false;
}

/** What the UAC needs from its host (the mock peer). */
export interface UacHost extends _TransactionHost {
  /** The user part of From and Contact. */
  readonly user: string;
  /** The credentials of requests that give none. */
  readonly credentials?: UacCredentials;
  /** Our address on a transport, for Via and Contact. */
  local(transport: ListenTransport): SocketAddress;
  /** As `_TransactionHost.send`, with whom to trust for a TLS connection it opens (`RequestOptions.tls`). */
  send(
    request: SipRequest,
    data: Uint8Array,
    to: SocketAddress,
    transport: ListenTransport,
    trust?: TlsTrust,
  ): Promise<void>;
}

/** RFC 3261 §8.1.1.8: the methods whose request can make a dialog carry a Contact; REGISTER binds it. */
const _CONTACT_METHODS = ["INVITE", "SUBSCRIBE", "REFER", "REGISTER", "UPDATE"];

/**
 * The UAC of a mock peer. Feed it every response the mock's sockets receive with
 * {@linkcode Uac.receive}.
 */
export class Uac {
  #host: UacHost;
  #transactions: _UacTransactions;
  #seq = 0;
  /** Whom to trust over TLS, by destination `HOST:PORT` (RequestOptions.tls). */
  #trust = new Map<string, TlsTrust>();

  /** @param host Sockets, addresses, timers. */
  constructor(host: UacHost) {
    this.#host = host;
    // The trust given for a destination goes with every request sent there (RequestOptions.tls).
    const trust = this.#trust;
    this.#transactions = new _UacTransactions({
      timers: host.timers,
      timeout: host.timeout,
      send: (request, data, to, transport) =>
        host.send(request, data, to, transport, trust.get(_hostPort(to.address, to.port))),
      timeoutError: (what, timeout) => host.timeoutError(what, timeout),
    });
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
      if (this.#transactions.closed) throw new Error("request(): the mock peer is closed");
      const method = options.method;
      if (!isToken(method)) throw new TypeError(`request(): bad method "${method}"`);
      if (method === "ACK" || method === "CANCEL") {
        throw new TypeError(`request(): ${method} is sent by the UAC itself (use ack() or the signal option)`);
      }
      const uri = parseUri(options.uri);
      const sip = uri.scheme === "sip" || uri.scheme === "sips" ? uri as SipUri : undefined;
      if (sip === undefined && options.destination === undefined) {
        throw new TypeError(`request(): a ${uri.scheme} URI needs a destination`);
      }
      const transport = options.transport ?? _transportOf(sip);
      const to = options.destination ?? _destination(sip as SipUri);
      if (options.tls !== undefined) this.#trust.set(_hostPort(to.address, to.port), _trustOf(options.tls, transport));
      const local = this.#host.local(transport);
      // RFC 3261 §8.1.1.8: a sips: Request-URI wants a sips: Contact.
      const secure = sip?.scheme === "sips";
      const fields = _identityFields({
        from: `<${this.#localUri(local, transport, false)}>;tag=${_random(8)}`,
        to: `<${options.uri}>`,
        callId: `${_random(16)}@${_hostText(local.address)}`,
        cseq: `${++this.#seq} ${method}`,
      });
      if (_CONTACT_METHODS.includes(method)) {
        fields.push(["Contact", `<${this.#localUri(local, transport, true, secure)}>`]);
      }
      let body = options.body;
      let contentType = options.contentType;
      if (options.sdp && body === undefined) {
        body = _offerBody(local.address);
        contentType ??= "application/sdp";
      }
      const request = _buildRequest({
        method,
        uri: options.uri,
        transport,
        local,
        fields,
        headers: options.headers,
        body,
        contentType,
      });
      const credentials = options.credentials ?? this.#host.credentials;
      const auth = credentials ? new _UacAuth(credentials) : undefined;
      return this.#send(request, to, transport, options.timeout, options.signal, auth);
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
    return this.#transactions.receive(response);
  }

  /** Stops every transaction and timer; pending requests reject. */
  close(): void {
    this.#transactions.close();
  }

  // ---------------------------------------------------------------------------------------------

  /** Sends `request` in a client transaction of its own; resolves with its outcome. */
  #send(
    request: SipRequest,
    to: SocketAddress,
    transport: ListenTransport,
    timeout: number | undefined,
    signal?: AbortSignal,
    auth?: _UacAuth,
  ): Promise<UacResult> {
    const tx = this.#transactions.start(request, to, transport, timeout, signal);
    return tx.done.promise.then((response) => {
      // RFC 3261 §22.2: a challenge answered is a new request, sent the same way.
      const retry = auth?.retry(request, response);
      if (retry === undefined || this.#transactions.closed) return this.#result(tx, response);
      return this.#send(retry, to, transport, timeout, signal, auth);
    });
  }

  /** Our SIP URI on a transport: the From of a new request and, with its transport, the Contact. */
  #localUri(local: SocketAddress, transport: ListenTransport, withTransport: boolean, secure = false): string {
    if (secure) return `sips:${this.#host.user}@${_hostText(local.address)}:${local.port}`;
    const param = withTransport && transport !== "udp" ? `;transport=${transport}` : "";
    return `sip:${this.#host.user}@${_hostText(local.address)}:${local.port}${param}`;
  }

  /** The outcome of the request of `tx`: for a 2xx to an INVITE, with the dialog's next steps. */
  #result(tx: _Transaction, response: SipResponse): UacResult {
    const request = tx.request;
    const success = request.method === "INVITE" && response.status >= 200 && response.status < 300;
    const dialog = success ? _dialogOf(request, response, tx.to, tx.transport) : undefined;
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
      provisional: tx.provisional,
      ack: (options: AckOptions = {}) => {
        const d = needDialog("ack()");
        if (ack !== undefined) return ack;
        ack = _successAckOf(request, response, d, this.#host.local(d.transport), options);
        this.#transactions.acknowledge2xx(tx, ack);
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
          return this.#inDialog(needDialog("inDialog()"), method, options);
        } catch (e) {
          return Promise.reject(e);
        }
      },
    };
    return result;
  }

  /**
   * RFC 3261 §12.2.1.1: a request in dialog `d`: Request-URI the remote target, To and From of
   * the dialog, the next local CSeq, Route from the route set; a Contact for a target refresh.
   */
  #inDialog(d: _Dialog, method: string, options: DialogRequestOptions): Promise<UacResult> {
    if (this.#transactions.closed) throw new Error("inDialog(): the mock peer is closed");
    const local = this.#host.local(d.transport);
    const fields = _dialogFields(d, `${++d.localSeq} ${method}`);
    if (method === "INVITE" || method === "UPDATE") {
      fields.push(["Contact", `<${this.#localUri(local, d.transport, true)}>`]);
    }
    const request = _buildRequest({
      method,
      uri: d.remoteTarget,
      transport: d.transport,
      local,
      fields,
      headers: options.headers,
      body: options.body,
      contentType: options.contentType,
    });
    return this.#send(request, d.destination, d.transport, options.timeout);
  }
}

/** `RequestOptions.tls` checked: for a TLS or WSS request, a PEM or a list of them, a SHA-256 fingerprint. */
function _trustOf(tls: { ca?: string | string[]; fingerprint?: string }, transport: ListenTransport): TlsTrust {
  if (transport !== "tls" && transport !== "wss") {
    throw new TypeError(`request(): tls is for a request over TLS or WSS, not ${transport}`);
  }
  if (tls.ca === undefined && tls.fingerprint === undefined) {
    throw new TypeError("request(): tls needs a ca (PEM) or a fingerprint (SHA-256)");
  }
  const ca = tls.ca === undefined ? undefined : typeof tls.ca === "string" ? [tls.ca] : [...tls.ca];
  if (ca?.some((pem) => typeof pem !== "string" || !pem.includes("-----BEGIN CERTIFICATE-----"))) {
    throw new TypeError("request(): tls.ca holds no -----BEGIN CERTIFICATE----- PEM");
  }
  let fingerprint: string | undefined;
  try {
    fingerprint = tls.fingerprint === undefined ? undefined : normalizeFingerprint(tls.fingerprint);
  } catch (e) {
    throw new TypeError(`request(): tls.fingerprint: ${(e as Error).message}`);
  }
  return { ...(ca === undefined ? {} : { ca }), ...(fingerprint === undefined ? {} : { fingerprint }) };
}
