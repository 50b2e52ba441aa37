/**
 * The public types of {@linkcode SipPeer}: where messages come from and go (`Remote`), what it
 * sends (`Output`, `PeerRequest`), what it reports (`PeerEvent`), and its options.
 *
 * @module
 */

import type { DtmfDigit } from "../media/telephone_event.ts";
import type { MediaFlows } from "../rules/media_flows.ts";
import type { MediaCallStats } from "../media/echo.ts";
import type { Codec, MediaDescription, SdpDirection } from "../media/sdp.ts";
import type { Rule, Transport } from "../rules/rules.ts";
import type { SipMessage, SipRequest, SipResponse } from "../sip/message.ts";
import type { SocketAddress, ViaRouting } from "../sip/routing.ts";
import type { RegistrarOptions } from "./registrar.ts";
import type { Timers } from "./transaction.ts";
import type { SourceGuard } from "./guard.ts";
import type { SessionTimerLimits } from "./extensions.ts";
import type { ReferRequest } from "./refer.ts";
import type { ReferMode } from "../rules/call_flows.ts";
import type { PeerAuthOptions } from "./auth_gate.ts";

/**
 * Where a message came from or goes to. Extra fields (a connection id, say) are kept: the
 * object given to {@linkcode SipPeer.receive} comes back as is in the outputs it causes.
 *
 * @example
 * ```ts
 * import { type Remote, SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const peer = new SipPeer();
 * const remote: Remote & { conn: number } = { address: "192.0.2.9", port: 5060, transport: "udp", conn: 7 };
 * const options = "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * const [out] = peer.receive(new TextEncoder().encode(options), remote, 0);
 * assert.equal(out.remote, remote); // the same object, so the caller knows which connection to answer on
 * ```
 */
export interface Remote {
  /** IPv4 or IPv6 address, without brackets. */
  address: string;
  /** Port. */
  port: number;
  /** Transport. */
  transport: Transport;
}

/**
 * One message to send.
 *
 * @example
 * ```ts
 * import { type Output, SipPeer } from "@sipecho/sipecho";
 * import { responseDestination } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const options = "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@10.0.0.2>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * const remote = { address: "198.51.100.7", port: 40000, transport: "udp" as const }; // behind a NAT
 * const [out]: Output[] = new SipPeer().receive(new TextEncoder().encode(options), remote, 250);
 * assert.equal(out.at, 250);
 * assert.equal(out.message.status, 200);
 * assert.equal(new TextDecoder().decode(out.data).split("\r\n")[0], "SIP/2.0 200 OK");
 * assert.equal(out.via?.received, "198.51.100.7");
 * assert.deepEqual(responseDestination(out.via!, out.remote), { address: "198.51.100.7", port: 5062 });
 * ```
 */
export interface Output {
  /** When it was due, ms on the caller's clock (never later than the call that returned it). */
  at: number;
  /** The wire bytes. */
  data: Uint8Array;
  /** The response (read back from `data` when first asked for). */
  message: SipResponse;
  /** Where to send it: the source of the request (symmetric response, RFC 3581). */
  remote: Remote;
  /**
   * The routing parameters of the response's top Via as sent: sent-by port, `maddr`, and
   * `received`/`rport` as the peer stamped them (RFC 3261 §18.2.1, RFC 3581 §4). With
   * `remote`, they give the address a response goes to on UDP (RFC 3261 §18.2.2, see
   * `responseDestination`). Undefined when the request's top Via could not be read.
   */
  via?: ViaRouting;
  /**
   * Where it goes on UDP: from `via` and `remote`, as RFC 3261 §18.2.2 and RFC 3581 §4 say
   * (`responseDestination`; back to the source when the top Via could not be read). On a
   * connection it goes back on the request's connection, whatever this says.
   */
  readonly to: SocketAddress;
}

/**
 * A request the peer sends on its own: the BYE of {@linkcode SipPeer.bye}. It goes to where the
 * dialog's requests came from (`remote`, the object given to {@linkcode SipPeer.receive} with
 * the INVITE), so a caller behind a NAT gets it on the same path as our responses.
 *
 * @example
 * ```ts
 * import { type PeerRequest, SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const peer = new SipPeer();
 * const caller = { address: "192.0.2.9", port: 5060, transport: "udp" as const };
 * const send = (text: string) => peer.receive(new TextEncoder().encode(text), caller, 0);
 * const common = "From: <sip:a@192.0.2.9>;tag=a1\r\nCall-ID: c1\r\nContact: <sip:a@192.0.2.9>\r\n";
 * const ok = send("INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" + common +
 *   "To: <sip:echo@192.0.2.1>\r\nCSeq: 1 INVITE\r\n\r\n").at(-1)!;
 * send("ACK sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n" + common +
 *   `To: <sip:echo@192.0.2.1>;tag=${ok.message.to.tag}\r\nCSeq: 1 ACK\r\n\r\n`);
 * const [bye]: PeerRequest[] = peer.bye("c1", 1000);
 * assert.equal(bye.at, 1000);
 * assert.equal(bye.message.method, "BYE");
 * assert.equal(bye.message.via[0].branch, bye.branch);
 * assert.equal(bye.remote, caller);
 * ```
 */
export interface PeerRequest {
  /** When it was made, ms. */
  at: number;
  /** The wire bytes. */
  data: Uint8Array;
  /** The request. */
  message: SipRequest;
  /** Where to send it. */
  remote: Remote;
  /** Where it goes on UDP: `remote`'s address and port (where the dialog's requests came from). */
  readonly to: SocketAddress;
  /** The branch of its Via: its responses carry it (RFC 3261 §17.1.3). */
  branch: string;
}

/**
 * Why the peer gives back the RTP ports of a call (`PeerOptions.rtpRelease`): the dialog ended
 * by a BYE (received, or sent by {@linkcode SipPeer.bye}); the INVITE got 487 after a CANCEL;
 * it got a 408 (Timer C); it got another final response that is not a 2xx (or a request other
 * than INVITE used the ports for its answer); the 2xx was never acknowledged and the dialog was
 * dropped (RFC 3261 §13.3.1.4).
 *
 * @example
 * ```ts
 * import { type RtpReleaseReason } from "@sipecho/sipecho/peer";
 * import { SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const released: RtpReleaseReason[] = [];
 * const peer = new SipPeer({ rtpRelease: (_callId, reason) => void released.push(reason) });
 * const invite = "INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n";
 * peer.receive(new TextEncoder().encode(invite), { address: "192.0.2.9", port: 5060, transport: "udp" }, 0);
 * peer.tick(32000); // Timer L: the 200 OK (with our offer) was never acknowledged
 * assert.deepEqual(released, ["no-ack"]);
 * ```
 */
export type RtpReleaseReason = "bye" | "cancelled" | "timeout" | "rejected" | "no-ack";

/**
 * Something worth logging: a message that could not be parsed or was dropped, a transaction
 * that timed out, the rule that answered a request, the check of an SDP answer in an ACK, the
 * end of a call's media and its counters (from `serve()`), a BYE the peer sent and its answer.
 *
 * @example
 * ```ts
 * import { type PeerEvent, SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const events: PeerEvent[] = [];
 * const peer = new SipPeer({ onEvent: (event) => void events.push(event) });
 * peer.receive(new TextEncoder().encode("hello"), { address: "192.0.2.9", port: 5060, transport: "udp" }, 5);
 * assert.equal(events.length, 1);
 * assert.equal(events[0].kind, "parse-error");
 * assert.equal(events[0].at, 5);
 * assert.equal(events[0].remote?.address, "192.0.2.9");
 * ```
 */
export interface PeerEvent {
  /** When, ms. */
  at: number;
  /**
   * What kind (`bye`: a request the peer sent in a dialog, a BYE, NOTIFY or REFER, and its
   * answer; `refresh`: the peer refreshes a session (RFC 4028 §7.4), and its answer; `auth`: a request that authenticated, or was challenged or refused, RFC 3261 §22;
   * `dtmf`, `play`, `record`: the media flows of `serve()`, a digit received, an announcement, a
   * recording written).
   */
  kind:
    | "parse-error"
    | "dropped"
    | "timeout"
    | "rule"
    | "answer"
    | "media"
    | "bye"
    | "refresh"
    | "limit"
    | "auth"
    | "dtmf"
    | "play"
    | "record";
  /** What happened, in words. */
  message: string;
  /** Who it concerns. */
  remote?: Remote;
  /** The Call-ID of the call or request it concerns (`rule`, `answer`, `bye`, `media`). */
  callId?: string;
  /**
   * Why, in a word, where the message gives one: with kind `media`, why the call's media ended
   * (`bye`, `cancelled`, `rejected`, `no-ack`, `timeout` of the SIP side or of the media,
   * `error`, `shutdown`), as the message says it; with kind `auth`, `ok` or why the credentials
   * were refused (`missing`, `wrong-response`, `stale-nonce`, ...: `DigestRefusalReason`).
   */
  reason?: string;
  /** With kind `auth`: the user the credentials named, when they named one. */
  user?: string;
  /** With kind `media`: the final counters of the call's media. */
  media?: MediaCallStats;
  /** With kind `dtmf`: the digit received (RFC 4733 telephone-event, or SIP INFO). */
  dtmf?: DtmfDigit;
}

/** The fields of an event besides its kind and message (see {@linkcode PeerEvent}). */
export type _EventDetails = Pick<PeerEvent, "callId" | "reason" | "user">;

/**
 * Timer values of a {@linkcode SipPeer}, ms.
 *
 * @example
 * ```ts
 * import { type PeerTimers, SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const timers: Partial<PeerTimers> = { C: 1000 };
 * const peer = new SipPeer({ timers });
 * const invite = "INVITE sip:noanswer@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:noanswer@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n";
 * const caller = { address: "192.0.2.9", port: 5060, transport: "udp" as const };
 * const now = peer.receive(new TextEncoder().encode(invite), caller, 0);
 * assert.deepEqual(now.map((o) => o.message.status), [180]); // it rings at once, so no 100 Trying (RFC 3261 §17.2.1)
 * assert.equal(peer.nextTimer(), 1000);
 * assert.deepEqual(peer.tick(1000).map((o) => o.message.status), [408]);
 * ```
 */
export interface PeerTimers extends Timers {
  /**
   * How long an INVITE may stay without a final response (a `noanswer` call, a rule answering
   * only a 1xx) before the peer sends 408 Request Timeout; like a proxy's Timer C
   * (RFC 3261 §16.6 step 11), default 180000 ms.
   */
  C: number;
  /**
   * A confirmed dialog with no request in it for this long is ended by the peer with a BYE
   * (RFC 3261 §15.1.1) and freed, ms (default 7,200,000: two hours); 0: never. Dialogs are
   * looked at every quarter of it (at most every minute), so one ends up to that much later.
   * A call with the RTP echo ends sooner when its media goes silent (`media.inactivityTimeout`).
   */
  dialogIdle: number;
}

/**
 * Table sizes of a {@linkcode SipPeer}.
 *
 * @example
 * ```ts
 * import { type PeerLimits, SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const limits: Partial<PeerLimits> = { transactions: 0 };
 * const peer = new SipPeer({ limits, retryAfter: 10 });
 * const options = "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * const caller = { address: "192.0.2.9", port: 5060, transport: "udp" as const };
 * const [out] = peer.receive(new TextEncoder().encode(options), caller, 0);
 * assert.equal(out.message.status, 503);
 * assert.equal(out.message.headers.get("Retry-After"), "10");
 * ```
 */
export interface PeerLimits {
  /**
   * Most server transactions (default 100,000), tombstones included: a transaction is kept
   * until its last timer, 64*T1 (32 s) after its final response on UDP (Timers J and L), so a
   * peer answering N transactions a second holds about 32*N (a call is two: INVITE and BYE).
   * Past the limit a new request gets 503 with Retry-After. (`serve()` with the lab edge
   * profile: 1,000,000.)
   */
  transactions: number;
  /**
   * Most transactions still at work (default 5,000; lab: 100,000): not yet reduced to a tombstone, such as
   * an INVITE waiting for its ACK or for an answer held back. They hold more than a tombstone
   * (what the responses and the dialog need of the request), so they have a limit of their own.
   * Past it a new request gets 503 with Retry-After.
   */
  pending: number;
  /** Most dialogs (default 10,000; lab: 100,000). */
  dialogs: number;
  /** Most registrar bindings (default 10,000; lab: 100,000). */
  bindings: number;
  /**
   * RTP streams that can run at once (default `Infinity`; `serve()` with `media` gives the
   * echo's capacity): with a `guard`, one source may hold only its share of them.
   */
  streams: number;
  /**
   * Most streams answered per call (default 4): the m-lines of an offer past the first four
   * accepted are rejected with port 0 (RFC 3264 §6), so one INVITE cannot take hundreds of ports.
   */
  streamsPerCall: number;
}

/**
 * Options of a {@linkcode SipPeer}.
 *
 * @example
 * ```ts
 * import { type PeerOptions, SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const options: PeerOptions = { address: "192.0.2.1", server: "lab-peer/1.0", defaultRules: false };
 * const peer = new SipPeer(options);
 * const invite = "INVITE sip:busy@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:busy@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n";
 * const caller = { address: "192.0.2.9", port: 5060, transport: "udp" as const };
 * const out = peer.receive(new TextEncoder().encode(invite), caller, 0);
 * const final = out.at(-1)!.message;
 * assert.equal(final.status, 200); // without the built-in rules, "busy" is just another user
 * assert.equal(final.headers.get("Server"), "lab-peer/1.0");
 * ```
 */
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
  /** Registrar expiry bounds and contacts per address of record (`maxContactsPerAor`, default 10). */
  registrar?: Omit<RegistrarOptions, "maxBindings" | "retryAfter" | "maxBindingsPerSource">;
  /**
   * Option tags the peer supports, for Require (RFC 3261 §8.2.2.3) and Supported (default
   * `path`, `100rel`, `timer`, `replaces`). Without `100rel` the peer sends no provisional response reliably
   * (RFC 3262) unless a rule says `reliable`; without `timer` it runs no session timer (RFC 4028).
   */
  supported?: readonly string[];
  /**
   * Session-timer limits, seconds (RFC 4028): the shortest Session-Expires taken (`minSE`,
   * default 90, the RFC's floor; shorter: 422 with Min-SE) and the longest (`maxSE`, default
   * 7200; longer is lowered to it in the 2xx).
   */
  sessionTimer?: Partial<SessionTimerLimits>;
  /**
   * The RTP port to announce for m-line `index` of call `callId` (`media`: the offered m-line;
   * `undefined` when the peer makes the offer itself, for an INVITE without SDP). Called while
   * the answer is written, in the turn the request arrived, for every accepted stream; asked
   * again for the same stream (a 183 and its 200, a re-INVITE), it should give the same port.
   * `undefined` means no port is free: the request gets 503 Service Unavailable with
   * Retry-After (RFC 3261 §21.5.4). The default, `4000 + 2 * index`, is a placeholder for a
   * peer without media (`serve()` with `media` wires a `MediaEcho` here). `flows`: the media
   * flows of the rule that answers (its `dtmf`, its `play`), given only when it has some.
   */
  rtpPort?: (
    callId: string,
    index: number,
    media: MediaDescription | undefined,
    flows?: MediaFlows,
  ) => number | undefined;
  /**
   * Called when the ports `rtpPort` gave a call can go back: the last dialog or INVITE of
   * that Call-ID that asked for them has ended (see {@linkcode RtpReleaseReason}). Only
   * tracked when given.
   */
  rtpRelease?: (callId: string, reason: RtpReleaseReason) => void;
  /**
   * Called with our direction for each stream of every SDP answer the peer writes (RFC 3264
   * §6.1: the offer's mirrored; `inactive` for `c=0.0.0.0`), after `rtpPort`: how a re-INVITE
   * or UPDATE puts the call on hold and resumes it (RFC 3264 §8.4, RFC 6337 §5.3). `serve()`
   * with `media` gives it to `MediaEcho.setDirection`, so a held stream is not echoed.
   */
  rtpDirection?: (callId: string, index: number, direction: SdpDirection) => void;
  /** Called with every {@linkcode PeerEvent}. */
  onEvent?: (event: PeerEvent) => void;
  /**
   * Called for each REFER taken (202, RFC 3515) with a subscription: the caller sends the
   * referenced request (an INVITE to `target.uri`) and reports its outcome with
   * `SipPeer.referOutcome()`, which the last NOTIFY carries. Absent: the last NOTIFY says
   * `SIP/2.0 200 OK` at once and nobody is called.
   */
  onRefer?: (refer: ReferRequest) => void;
  /**
   * What a REFER taken with a subscription does when the rule that answers it gives no `refer`
   * (see `ReferMode`): `call`, it is handed to `onRefer` (which calls the target and reports
   * with `SipPeer.referOutcome()`); `notify`, the last NOTIFY says 200 at once. Default `call`
   * when `onRefer` is given, else `notify`. A rule's `"refer"` overrides it for its REFERs.
   */
  refer?: ReferMode;
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
  /**
   * Answer as a stateless UAS (RFC 3261 §8.2.7), for load tests: no transaction or dialog is
   * kept, so memory stays flat whatever the call rate. Each request gets its final response at
   * once (no 1xx, a rule's `after` is not waited for, a rule with only provisionals sends
   * nothing); a retransmission is answered again, with the same To tag (made from the Call-ID
   * and From tag); nothing is re-sent; ACK and CANCEL are ignored; a request inside a dialog is
   * answered as if the dialog existed. The registrar keeps its bindings. Not with `rtpRelease`
   * (no call ends to release ports at). Default false.
   */
  stateless?: boolean;
  /**
   * Largest message taken, bytes (default 65,535): a bigger datagram is answered 513 Message
   * Too Large (RFC 3261 §21.5.14) from what could be read of it, statelessly.
   */
  maxMessageSize?: number;
  /**
   * The edge limits (see {@linkcode SourceGuard}): the anti-amplification limit for UDP sources
   * not validated yet, a rate limit per source, each source's share of the tables, log
   * throttling. Absent (the default of a bare `SipPeer`): none of them. `serve()` gives one
   * with the public limits unless told otherwise.
   */
  guard?: SourceGuard;
  /**
   * Digest authentication (RFC 3261 §22; see `PeerAuthOptions`): realm, users, and which
   * methods need it outside a dialog (default REGISTER and INVITE); rules with `auth` need it
   * with or without this. Absent: only those rules (and the test user `auth`) challenge.
   */
  auth?: PeerAuthOptions;
}
