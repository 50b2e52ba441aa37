/**
 * sipecho calls the Refer-To target itself (a rule's `"refer": "call"`, RFC 3515 §2.4.5): for a
 * REFER the peer hands to `onRefer`, an INVITE to the target from the server's own sockets,
 * through the user agent client (src/net/uac/uac.ts, on the client transaction of
 * src/ua/client.ts); the final status goes into the last NOTIFY (`SipPeer.referOutcome`), and a
 * 2xx is acknowledged and the call ended at once with a BYE: sipecho only shows that the target
 * answers.
 *
 * The safety check (a REFER must not make sipecho a relay that calls anyone it is told to): the
 * target is a `sip:` URI (`sips:` is not dialled: no TLS client here) whose host is an IP address
 * (no name is looked up); on the `public` edge profile, the host is the address the REFER came
 * from (the caller asks to be called back) or a listener address of the server's with one of its
 * SIP ports (sipecho calls itself); on `lab`, any address. At most {@linkcode MAX_REFER_CALLS}
 * such calls at a time. A target refused is reported as `403 Forbidden`, one over the limit as
 * `503 Service Unavailable`, a target that does not answer in {@linkcode REFER_CALL_TIMEOUT} ms
 * as `408 Request Timeout`.
 *
 * @module
 */

import type { SocketAddress } from "../sip/routing.ts";
import { parseUri, type SipUri } from "../sip/uri.ts";
import { unbracket } from "../sip/routing.ts";
import type { SipResponse } from "../sip/message.ts";
import { Uac } from "./uac/uac.ts";
import type { ReferRequest } from "../ua/refer.ts";
import type { Timers } from "../ua/transaction.ts";
import { _now } from "./clock.ts";
import type { _EventLog } from "./events.ts";
import type { BoundAddress, ListenTransport } from "./listeners.ts";
import type { _PeerDriver } from "./peer_driver.ts";

/**
 * The most calls to Refer-To targets in progress at once; a REFER over it is reported 503.
 *
 * @example
 * ```ts
 * import { MAX_REFER_CALLS } from "./refer_calls.ts";
 * import assert from "node:assert/strict";
 * assert.equal(MAX_REFER_CALLS, 16);
 * ```
 */
export const MAX_REFER_CALLS = 16;

/**
 * How long a call to a Refer-To target may take to get a final response, ms (under the 60 s of
 * the `refer` subscription, `REFER_EXPIRES`).
 *
 * @example
 * ```ts
 * import { REFER_CALL_TIMEOUT } from "./refer_calls.ts";
 * import assert from "node:assert/strict";
 * assert.equal(REFER_CALL_TIMEOUT, 30_000);
 * ```
 */
export const REFER_CALL_TIMEOUT = 30_000;

/** What the dialler needs of its server. */
export interface _ReferCallsOptions {
  /** Sends bytes from the server's sockets. */
  send(data: Uint8Array, to: SocketAddress, transport: ListenTransport): Promise<void>;
  /** The server's bound addresses. */
  addresses(): readonly BoundAddress[];
  /** The advertised address (for a wildcard bind). */
  advertise: string;
  /** Whether any target address is allowed (the `lab` edge profile). */
  lab: boolean;
  /** The peer's timers. */
  timers: Timers;
  /** The peer's driver, once there is one. */
  driver(): _PeerDriver | undefined;
  event: _EventLog;
}

/** The calls sipecho places to Refer-To targets (see the module documentation). */
export class _ReferCalls {
  readonly #o: _ReferCallsOptions;
  readonly #uac: Uac;
  #active = 0;

  constructor(options: _ReferCallsOptions) {
    this.#o = options;
    this.#uac = new Uac({
      user: "sipecho",
      timers: options.timers,
      timeout: REFER_CALL_TIMEOUT,
      local: (transport) => this.#local(transport),
      send: (_request, data, to, transport) => options.send(data, to, transport),
      timeoutError: (what, timeout) => new Error(`no final response to ${what} in ${timeout} ms`),
    });
  }

  /** The peer's `onRefer`: calls the target, if allowed, and reports the outcome. */
  readonly onRefer = (refer: ReferRequest): void => {
    const callId = refer.callId;
    const uri = refer.target.uri;
    const refused = this.#refused(refer);
    if (refused !== undefined) {
      this.#o.event("rule", `REFER ${callId}: not calling ${uri}: ${refused}`);
      return this.#report(refer, refused.startsWith("limit") ? 503 : 403);
    }
    this.#active++;
    this.#o.event("rule", `REFER ${callId}: calling ${uri}`);
    const headers: [string, string][] = [];
    // RFC 3892 §3: the referenced request carries the REFER's Referred-By.
    if (refer.target.referredBy !== undefined) headers.push(["Referred-By", `<${refer.target.referredBy}>`]);
    const target = _withoutHeaders(uri);
    this.#uac.request({ method: "INVITE", uri: target, sdp: true, headers, credentials: false }).then(
      (result) => {
        this.#o.event("rule", `REFER ${callId}: ${uri} answered ${result.status}`);
        this.#report(refer, result.status);
        if (result.status >= 200 && result.status < 300) {
          // Acknowledged, then ended: the transfer is shown to work; the call itself is not kept.
          result.bye().catch((e) => this.#o.event("timeout", `REFER ${callId}: BYE to ${uri}: ${e}`));
        }
      },
      (e) => {
        this.#o.event("timeout", `REFER ${callId}: calling ${uri}: ${(e as Error).message}`);
        this.#report(refer, /no final response/.test(String(e)) ? 408 : 503);
      },
    ).finally(() => this.#active--);
  };

  /** A response that arrived: ours (true) or not. */
  receive(response: SipResponse): boolean {
    return this.#uac.receive(response);
  }

  /** Stops every call's transactions and timers. */
  close(): void {
    this.#uac.close();
  }

  /** Why the target may not be called (`limit...` for the limit), or undefined. */
  #refused(refer: ReferRequest): string | undefined {
    if (this.#active >= MAX_REFER_CALLS) return `limit: ${MAX_REFER_CALLS} calls to Refer-To targets in progress`;
    let uri: SipUri;
    try {
      const parsed = parseUri(refer.target.uri);
      if (parsed.scheme !== "sip") return `only sip: URIs are called, not ${parsed.scheme}:`;
      uri = parsed as SipUri;
    } catch (e) {
      return `unreadable URI: ${(e as Error).message}`;
    }
    const host = unbracket(uri.host);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host) && !host.includes(":")) return "its host is not an IP address";
    const transport = (uri.params.transport ?? "udp").toLowerCase() as ListenTransport;
    if (transport !== "udp" && transport !== "tcp") return `transport ${transport} is not dialled (udp or tcp)`;
    if (!this.#o.addresses().some((a) => a.transport === transport)) {
      return `the server does not listen on ${transport}`;
    }
    if (this.#o.lab) return undefined;
    // The public profile: the caller itself, or sipecho itself; nobody else.
    const dialog = this.#o.driver()?.peer.dialogs.find((d) => d.callId === refer.callId);
    const caller = (dialog?.source as { address?: string } | undefined)?.address;
    if (caller !== undefined && _sameIp(caller, host)) return undefined;
    const port = uri.port ?? 5060;
    const own = this.#o.addresses().some((a) =>
      a.port === port && (_sameIp(a.address, host) || this.#isAdvertised(host))
    );
    return own ? undefined : "on the public edge profile only the caller's address or sipecho's own are called";
  }

  #isAdvertised(host: string): boolean {
    return _sameIp(unbracket(this.#o.advertise), host);
  }

  /** The outcome into the last NOTIFY, sent at once. */
  #report(refer: ReferRequest, status: number): void {
    const driver = this.#o.driver();
    if (driver === undefined) return;
    driver.run(() => {
      driver.peer.referOutcome(refer.id, status, _now());
      driver.send(driver.peer.takeRequests());
    }, `reporting the outcome of REFER ${refer.callId}`);
  }

  /** Our address on a transport (Via, Contact): its listener's, or the advertised one for a wildcard. */
  #local(transport: ListenTransport): SocketAddress {
    const bound = this.#o.addresses().find((a) => a.transport === transport);
    if (bound === undefined) throw new RangeError(`the server does not listen on ${transport}`);
    const wildcard = bound.address === "0.0.0.0" || bound.address === "::" || bound.address === "";
    return { address: wildcard ? unbracket(this.#o.advertise) : bound.address, port: bound.port };
  }
}

/** The URI without its `?headers` (RFC 3261 §19.1.5: they are for the request, not its Request-URI). */
function _withoutHeaders(uri: string): string {
  const q = uri.indexOf("?");
  return q < 0 ? uri : uri.slice(0, q);
}

/** Two IP addresses alike, an IPv4-mapped IPv6 one as its IPv4 address. */
function _sameIp(a: string, b: string): boolean {
  const plain = (x: string) => unbracket(x).toLowerCase().replace(/^::ffff:/, "");
  return plain(a) === plain(b);
}
