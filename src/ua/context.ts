/**
 * What the peer keeps of a server transaction (RFC 3261 §17.2) while it works and after: the
 * transaction user's context for one request, the tombstone that absorbs retransmissions until
 * the last timer, the queue of tombstones in order of expiry, and the responses as written.
 * Internal to src/ua.
 *
 * @module
 */

import type { ReferMode, TransferSpec } from "../rules/call_flows.ts";
import type { MediaFlows } from "../rules/media_flows.ts";
import { _detach, SipRequest, type SipResponse } from "../sip/message.ts";
import { _responseFromWire, ResponseHead } from "../sip/response.ts";
import type { SessionDescription } from "../media/sdp.ts";
import { responseDestination, type SocketAddress, type ViaRouting } from "../sip/routing.ts";
import type { Dialog } from "./dialog.ts";
import type { SessionInterval } from "./extensions.ts";
import type { SourceRecord } from "./guard.ts";
import type { Job } from "./scheduler.ts";
import type { ServerTransaction, TransactionInfo } from "./transaction.ts";
import type { Output, Remote } from "./types.ts";

/**
 * A response the peer sends: its status and wire bytes, written once
 * ({@linkcode ResponseHead.format}). The message is read back from the bytes only when someone
 * asks for it (a log, a test), so that the hot path builds no `SipResponse`.
 */
export class _Reply {
  readonly status: number;
  readonly data: Uint8Array;
  /**
   * Made from the request, status and To tag alone (standard reason, no extra header, no
   * body): the same bytes can be made again from a retransmission of the request.
   */
  readonly plain: boolean;
  /** The RSeq of a reliable provisional response (RFC 3262 §3); undefined for any other. */
  rseq: number | undefined = undefined;
  #message: SipResponse | undefined = undefined;

  constructor(status: number, data: Uint8Array, plain = false) {
    this.status = status;
    this.data = data;
    this.plain = plain;
  }

  get message(): SipResponse {
    return this.#message ??= _responseFromWire(this.data);
  }
}

/** One {@linkcode Output}. */
export class _Output implements Output {
  readonly at: number;
  readonly data: Uint8Array;
  readonly remote: Remote;
  readonly via: ViaRouting | undefined;
  readonly #reply: _Reply;

  constructor(at: number, reply: _Reply, remote: Remote, via: ViaRouting | undefined) {
    this.at = at;
    this.data = reply.data;
    this.remote = remote;
    this.via = via;
    this.#reply = reply;
  }

  get message(): SipResponse {
    return this.#reply.message;
  }

  /** RFC 3261 §18.2.2, RFC 3581 §4: where it goes on UDP. */
  get to(): SocketAddress {
    return responseDestination(this.via ?? SOURCE, this.remote);
  }
}

/** A top Via that could not be read (the request is answered 400 for it): back to the source. */
const SOURCE: ViaRouting = Object.freeze({ rport: null });

/** The TU's state for one server transaction while it still has work to do. */
export class _Context implements TransactionInfo {
  readonly tx: ServerTransaction<_Reply>;
  request: SipRequest;
  readonly remote: Remote;
  readonly toTag: string;
  readonly duplicate: number;
  readonly silent: boolean;
  /** Delayed responses and other jobs of the TU, cancelled when the transaction ends. */
  jobs: Job[] | undefined = undefined;
  /** The job that fires the transaction's next timer, and its time (-1: none). */
  armJob: Job | undefined = undefined;
  armedAt = -1;
  /** The offer in the request, if any. */
  offer: SessionDescription | undefined = undefined;
  /** Our offer in the 2xx, when the INVITE had none. */
  ourOffer: SessionDescription | undefined = undefined;
  readonly sessionId: number;
  sessionVersion = 1;
  /** The dialog the request is in (in-dialog requests) or that its 2xx made. */
  dialog: Dialog | undefined = undefined;
  /** Holds RTP ports for its Call-ID (outside a dialog), until its final response. */
  media = false;
  /** The source's record, with a guard: the transaction counts against its share. */
  source: SourceRecord | undefined = undefined;
  /** An INVITE whose provisional responses go reliably (RFC 3262): their state. */
  rel: _Reliable | undefined = undefined;
  /** The session interval its 2xx agrees to (RFC 4028 §9), if any. */
  timer: SessionInterval | undefined = undefined;
  /** The header fields that say so in its 2xx (Session-Expires, Require: timer). */
  timerHeaders: [string, string][] | undefined = undefined;
  /** The media flows of the rule that answers (DTMF actions, an announcement), for `rtpPort`. */
  flows: MediaFlows | undefined = undefined;
  /** What a REFER taken does, as the rule that answers says (call_flows.ts); undefined: the peer's default. */
  referMode: ReferMode | undefined = undefined;
  /** Our SDP in its answer, if it has one (for a refresh by re-INVITE, session_timer.ts). */
  localSdp: string | undefined = undefined;
  /** The rule's session refresh method, when `INVITE` (RFC 4028 §7.4, see session_timer.ts). */
  refreshBy: "INVITE" | undefined = undefined;
  /** The transfer of the call its 2xx makes (the rule's `transfer`, see transfer.ts). */
  transfer: TransferSpec | undefined = undefined;
  /** The dialog its `Replaces` names (RFC 3891 §3, replaces.ts), ended once its 2xx goes. */
  replaces: Dialog | undefined = undefined;
  /** Whether its 1xx and 2xx list the peer's Supported option tags (the request used an extension). */
  supportedHeader = false;
  /** Only what is still needed of the request is kept (`compact()`). */
  compacted = false;
  /** When the request arrived, ms (for the response-time histogram, see counters.ts). */
  arrivedAt = 0;
  #head: ResponseHead | undefined = undefined;

  constructor(
    tx: ServerTransaction<_Reply>,
    remote: Remote,
    toTag: string,
    duplicate: number,
    silent: boolean,
    sessionId: number,
  ) {
    this.tx = tx;
    this.request = tx.request;
    this.remote = remote;
    this.toTag = toTag;
    this.duplicate = duplicate;
    this.silent = silent;
    this.sessionId = sessionId;
  }

  get key(): string {
    return this.tx.key;
  }

  get invite(): boolean {
    return this.tx.invite;
  }

  get state(): ServerTransaction["state"] {
    return this.tx.state;
  }

  /** What every response to the request copies from it, read once. */
  get head(): ResponseHead {
    return this.#head ??= new ResponseHead(this.request, this.remote);
  }

  /**
   * Keeps only what the transaction can still need of its request: the fields every response
   * copies (RFC 3261 §8.2.6.2) and those a dialog is made of (§12.1.1), as copies, with no body.
   * A transaction that waits (for its ACK, or for an answer held back) then holds a few hundred
   * bytes instead of the whole request, its bytes and their text.
   */
  compact(): void {
    if (this.compacted) return;
    this.compacted = true;
    const r = this.request;
    const headers: [string, string][] = [];
    for (const field of r.headers.fields) if (_KEPT.has(field.name)) headers.push([field.name, _detach(field.value)]);
    const kept = new SipRequest({ method: _detach(r.method), uri: _detach(r.uri), version: r.version, headers });
    this.request = kept;
    this.tx.request = kept;
    this.#head = undefined;
    this.offer = undefined;
  }
}

/** The header fields a transaction that waits keeps of its request (see `_Context.compact`). */
const _KEPT = new Set(["Via", "From", "To", "Call-ID", "CSeq", "Contact", "Record-Route", "Timestamp"]);

/**
 * What is kept of a transaction that has done its work but must still see its retransmissions
 * through to its last timer: a non-INVITE transaction in Completed until Timer J (RFC 3261
 * §17.2.2: a retransmitted request gets the final response again), an INVITE transaction in
 * Confirmed until Timer I (§17.2.1: retransmissions absorbed), an INVITE transaction whose 2xx
 * was acknowledged, in Accepted until Timer L (RFC 6026 §7.1: retransmitted INVITEs absorbed).
 * No request, parsed views, SDP or response objects: a few fields and, for a non-INVITE final
 * response that cannot be made again from the retransmitted request alone, its bytes.
 */
export class _Tomb implements TransactionInfo {
  readonly key: string;
  readonly state: "Completed" | "Confirmed" | "Accepted";
  /** When its last timer fires, ms. */
  readonly expires: number;
  /**
   * The To tag we made (RFC 3261 §9.2: the 200 to a late CANCEL carries it), or undefined when
   * the request's To had one. Nothing cut from the request is kept: in some engines a piece of
   * a string keeps the whole string, here the whole request, alive.
   */
  readonly toTag: string | undefined;
  readonly duplicate: number;
  /** The status of the final response (non-INVITE), 0 for INVITE: retransmissions are absorbed. */
  readonly status: number;
  /** The bytes of that final response, unless it is plain (made again when needed). */
  readonly data: Uint8Array | undefined;
  /** The source's record, with a guard (the tombstone still counts against its share). */
  readonly source: SourceRecord | undefined;

  constructor(
    key: string,
    state: "Completed" | "Confirmed" | "Accepted",
    expires: number,
    toTag: string | undefined,
    duplicate: number,
    final: _Reply | undefined,
    source: SourceRecord | undefined,
  ) {
    this.key = key;
    this.source = source;

    this.state = state;
    this.expires = expires;
    this.toTag = toTag;
    this.duplicate = duplicate;
    this.status = final === undefined ? 0 : final.status;
    // A copy: the bytes are a view of a shared chunk (see ResponseHead.format).
    this.data = final === undefined || final.plain ? undefined : final.data.slice();
  }

  get invite(): boolean {
    return this.state !== "Completed";
  }
}

/**
 * Tombstones in order of expiry. Those of one queue all last as long (64*T1 for Timers J and
 * L, T4 for Timer I) and are made in time order, so the queue is a FIFO; one made late (an
 * ACK long after its 2xx: Timer L counts from the 2xx) is put in its place.
 */
export class _ExpiryQueue {
  #items: _Tomb[] = [];
  #head = 0;

  /** The earliest expiry, ms, or -1 when empty. */
  get next(): number {
    return this.#head < this.#items.length ? this.#items[this.#head].expires : -1;
  }

  push(tomb: _Tomb): void {
    const items = this.#items;
    if (items.length === this.#head || items[items.length - 1].expires <= tomb.expires) {
      items.push(tomb);
      return;
    }
    let lo = this.#head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid].expires <= tomb.expires) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, tomb);
  }

  /** Removes the first tombstone. */
  shift(): _Tomb {
    const items = this.#items;
    const tomb = items[this.#head];
    items[this.#head++] = undefined as unknown as _Tomb;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return tomb;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

/**
 * The reliable provisional responses of one INVITE (RFC 3262 §3): the next RSeq, the one sent
 * and not yet acknowledged by a PRACK, those waiting for it (a second is not sent before the
 * first is acknowledged), and the 2xx held until the last is.
 */
export class _Reliable {
  /** The RSeq of the next reliable provisional (the first one is random, §3). */
  next: number;
  /** The one sent and not yet acknowledged, and when it was first sent. */
  outstanding: _Reply | undefined = undefined;
  firstSent = 0;
  /** The retransmission job of the outstanding one. */
  job: Job | undefined = undefined;
  /** Provisionals waiting for the PRACK of the outstanding one. */
  queue: _Reply[] = [];
  /** The 2xx waiting for the PRACK of every reliable provisional. */
  held: _Reply | undefined = undefined;
  /** Whether a reliable provisional carried SDP (the offer/answer then happened in it, §5). */
  sdp = false;

  constructor(first: number) {
    this.next = first;
  }

  /** Whether a reliable provisional is still to be acknowledged. */
  get waiting(): boolean {
    return this.outstanding !== undefined || this.queue.length > 0;
  }

  /** Gives up on every unacknowledged one (a final response went). */
  abandon(): void {
    this.job?.cancel();
    this.job = undefined;
    this.outstanding = undefined;
    this.queue = [];
    this.held = undefined;
  }
}

/** What a Call-ID holds of the RTP echo: how many dialogs or INVITEs, which streams, whose. */
export interface _MediaHold {
  holders: number;
  /** The source the streams count against, with a guard. */
  source: SourceRecord | undefined;
  /** The m-line indexes counted against it. */
  streams: number[];
}

export interface _Planned {
  after: number;
  reply: _Reply;
}

export interface _Plan {
  provisional: _Planned[];
  final?: _Planned;
  /** No final response planned: Timer C applies. */
  noFinal?: boolean;
}

/** A final answer decided before any rule or built-in behaviour (a failed check). */
export interface _Reject {
  status: number;
  reason?: string;
  headers?: [string, string][];
}
