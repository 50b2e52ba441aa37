/**
 * The session side of the peer: SDP answers to the offers of INVITE and UPDATE (RFC 3264 §6),
 * our own offer when an INVITE has none (RFC 3261 §13.2.1), the RTP port of each stream (asked
 * of `rtpPort`), which calls hold ports and when they go back (`rtpRelease`), each source's
 * share of the streams, and the answer kept for the last offer (a load generator sends the
 * same offer call after call); the check of the SDP answer an ACK brings to our offer.
 * Internal to src/ua.
 *
 * @module
 */

import {
  type AcceptedStream,
  answerSdp,
  checkAnswer,
  type Codec,
  createOffer,
  formatSdp,
  type MediaDescription,
  parseSdp,
  type SdpDirection,
  SdpError,
  type SessionDescription,
} from "../media/sdp.ts";
import type { MediaFlows } from "../rules/media_flows.ts";
import type { SipRequest } from "../sip/message.ts";
import type { _Context, _MediaHold, _Reject } from "./context.ts";
import type { SourceGuard } from "./guard.ts";
import type { _EventDetails, PeerEvent, Remote, RtpReleaseReason } from "./types.ts";

/** What {@linkcode SessionAnswers} needs of the peer. */
export interface SessionOptions {
  /** Our media address, for `c=` and `o=`. */
  address: string;
  codecs: readonly Codec[];
  /** Most streams accepted per offer (the others are answered with port 0). */
  streamsPerCall: number;
  /** RTP streams in all, for each source's share (with a guard). */
  streams: number;
  /** Retry-After of a 503, seconds. */
  retryAfter: number;
  rtpPort: (
    callId: string,
    index: number,
    media: MediaDescription | undefined,
    flows?: MediaFlows,
  ) => number | undefined;
  rtpRelease: ((callId: string, reason: RtpReleaseReason) => void) | undefined;
  /** Our direction for each accepted stream of an answer (hold and resume, RFC 3264 §8.4). */
  rtpDirection?: ((callId: string, index: number, direction: SdpDirection) => void) | undefined;
  guard: SourceGuard | undefined;
  event: (kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails) => void;
}

/** SDP offer/answer and RTP port accounting for the peer (see the module documentation). */
export class SessionAnswers {
  readonly #o: SessionOptions;
  /** The dialogs and INVITEs that hold RTP ports, by Call-ID (only with `rtpRelease`). */
  #holders = new Map<string, _MediaHold>();
  /** The last offer parsed, and its bytes. */
  #offerBytes: Uint8Array | undefined = undefined;
  #offer: SessionDescription | undefined = undefined;
  /** The last answer written to an offer, to write it again for the same offer. */
  #answer: _Answer | undefined = undefined;

  constructor(options: SessionOptions) {
    this.#o = options;
  }

  /** Forgets every call's ports (without releasing them) and the caches. */
  clear(): void {
    this.#holders.clear();
    this.#offerBytes = undefined;
    this.#offer = undefined;
    this.#answer = undefined;
  }

  /**
   * The offer in a body (RFC 3264 §5), parsed; the last one is kept with its bytes, since a
   * load generator sends the same offer call after call. The result is shared: never changed.
   */
  parseOffer(body: Uint8Array): SessionDescription {
    const last = this.#offerBytes;
    if (last !== undefined && _sameBytes(last, body)) return this.#offer as SessionDescription;
    const offer = parseSdp(_decoder.decode(body));
    this.#offerBytes = body.slice();
    this.#offer = offer;
    return offer;
  }

  /** The SDP offer in a request's body, or undefined when it has none or it does not parse. */
  readOffer(request: SipRequest): SessionDescription | undefined {
    if (request.body.length === 0 || request.contentType?.mediaType !== "application/sdp") return undefined;
    try {
      return this.parseOffer(request.body);
    } catch {
      return undefined;
    }
  }

  /**
   * The SDP for a 2xx (or UPDATE/183/PRACK): the answer to the offer, or our own offer; a 488 when
   * no stream can be accepted, a 503 with Retry-After when `rtpPort` has no port left.
   */
  answer(ctx: _Context, previous?: number): string | _Reject {
    const request = ctx.request;
    const callId = request.callId;
    const dialog = ctx.dialog;
    const sessionId = dialog?.sessionId ?? ctx.sessionId;
    // The o= version goes up with each new answer (RFC 3264 §8): after the dialog's last, or
    // after `previous` (an early dialog's, RFC 3262 §5).
    const sessionVersion = previous !== undefined ? previous + 1 : dialog === undefined ? 1 : dialog.sessionVersion + 1;
    ctx.sessionVersion = sessionVersion;
    let full = false;
    let share = false;
    const source = ctx.source;
    const rtpPort = (index: number, media: MediaDescription | undefined): number => {
      if (this.#o.rtpRelease !== undefined) {
        const hold = this.#hold(ctx);
        if (source !== undefined && !hold.streams.includes(index)) {
          // One source holds at most its share of the RTP streams.
          if (!this.#o.guard!.take(source, "streams", this.#o.streams)) {
            share = true;
            return 9; // never sent: the answer becomes a 503
          }
          hold.streams.push(index);
        }
      }
      const port = ctx.flows === undefined
        ? this.#o.rtpPort(callId, index, media)
        : this.#o.rtpPort(callId, index, media, ctx.flows);
      if (port !== undefined) return port;
      full = true;
      return 9; // never sent: the answer becomes a 503
    };
    let sdp: SessionDescription;
    let accepted: readonly AcceptedStream[] | undefined;
    const offer = ctx.offer;
    if (offer !== undefined) {
      const again = this.#again(offer, sessionVersion, sessionId, rtpPort);
      if (again !== undefined && !full) {
        ctx.localSdp = again;
        if (dialog?.refreshSdp !== undefined) dialog.refreshSdp = again;
        this.#directions(callId, this.#answer!.indexes, this.#answer!.directions);
        return again;
      }
      const result = answerSdp(offer, {
        address: this.#o.address,
        rtpPort,
        sessionId,
        sessionVersion,
        codecs: ctx.flows?.play === undefined ? this.#o.codecs : _announced(this.#o.codecs),
        maxStreams: this.#o.streamsPerCall,
      });
      if (!result.ok) return { status: result.status, reason: result.reason };
      sdp = result.answer;
      accepted = result.accepted;
    } else {
      // RFC 3261 §13.2.1: no offer in the INVITE, so the 2xx carries one and the ACK the answer.
      sdp = ctx.ourOffer = createOffer({
        address: this.#o.address,
        port: rtpPort(0, undefined),
        sessionId,
        sessionVersion,
        codecs: this.#o.codecs,
      });
    }
    if (share) {
      this.#o.event("limit", `share: ${source!.key} holds its share of the RTP streams: 503`, ctx.remote);
      return {
        status: 503,
        reason: "Service Unavailable: too many RTP streams from this source",
        headers: [["Retry-After", String(this.#o.retryAfter)]],
      };
    }
    if (full) {
      // RFC 3261 §21.5.4: a temporary overload, with when to try again.
      return {
        status: 503,
        reason: "Service Unavailable: no RTP port free",
        headers: [["Retry-After", String(this.#o.retryAfter)]],
      };
    }
    const text = formatSdp(sdp);
    // Kept for a refresh by re-INVITE (session_timer.ts): a pointer, no copy.
    ctx.localSdp = text;
    if (dialog?.refreshSdp !== undefined) dialog.refreshSdp = text;
    if (offer !== undefined && accepted !== undefined) {
      this.#answer = _answerOf(offer, sessionVersion, accepted, text);
      this.#directions(callId, accepted.map((a) => a.index), accepted.map((a) => a.direction));
    }
    return text;
  }

  /**
   * RFC 3264 §8.4, RFC 6337 §5.3: the direction of each stream of an answer, for the media
   * (hold: the echo stops sending; resume: it sends again). Our own offer (no offer in the
   * request) changes nothing: its answer comes in the ACK, which is not read for this.
   */
  #directions(callId: string, indexes: readonly number[], directions: readonly SdpDirection[]): void {
    const hook = this.#o.rtpDirection;
    if (hook === undefined) return;
    for (let i = 0; i < indexes.length; i++) hook(callId, indexes[i], directions[i]);
  }

  /**
   * RFC 3264 §6: the answer is made of the offer and of us alone, so the same offer gets the
   * same answer but for the ports of its streams (asked for again, in the same order) and the
   * session id (RFC 4566 §5.2). The text of the last answer, when it answers this offer again.
   */
  #again(
    offer: SessionDescription,
    sessionVersion: number,
    sessionId: number,
    rtpPort: (index: number, media: MediaDescription | undefined) => number,
  ): string | undefined {
    const last = this.#answer;
    if (last === undefined || last.offer !== offer || last.sessionVersion !== sessionVersion) return undefined;
    for (let i = 0; i < last.indexes.length; i++) {
      const index = last.indexes[i];
      if (rtpPort(index, offer.media[index]) !== last.ports[i]) return undefined;
    }
    return last.before + sessionId + last.after;
  }

  /**
   * Counts the request (outside a dialog) or its dialog as holding RTP ports for its Call-ID;
   * returns what the Call-ID holds.
   */
  #hold(ctx: _Context): _MediaHold {
    const callId = ctx.request.callId;
    let hold = this.#holders.get(callId);
    if (hold === undefined) this.#holders.set(callId, hold = { holders: 0, source: ctx.source, streams: [] });
    const dialog = ctx.dialog;
    if (dialog !== undefined) {
      if (dialog.media) return hold;
      dialog.media = true;
    } else {
      if (ctx.media) return hold;
      ctx.media = true;
    }
    hold.holders++;
    return hold;
  }

  /** A holder of RTP ports is done; the last one of a Call-ID gives them back. */
  release(callId: string, reason: RtpReleaseReason): void {
    const hold = this.#holders.get(callId);
    if (hold !== undefined && hold.holders > 1) {
      hold.holders--;
      return;
    }
    this.#holders.delete(callId);
    if (hold?.source !== undefined && hold.streams.length > 0) {
      this.#o.guard!.release(hold.source, "streams", hold.streams.length);
    }
    this.#o.rtpRelease?.(callId, reason);
  }
}

const _decoder = new TextDecoder();

/** An SDP answer kept for its offer: the accepted m-lines, their ports, and its text around the session id. */
interface _Answer {
  readonly offer: SessionDescription;
  readonly sessionVersion: number;
  readonly indexes: readonly number[];
  readonly ports: readonly number[];
  readonly directions: readonly SdpDirection[];
  readonly before: string;
  readonly after: string;
}

/** The answer `text` cut around its session id, the third field of its o= line (RFC 4566 §5.2); undefined if not found. */
function _answerOf(
  offer: SessionDescription,
  sessionVersion: number,
  accepted: readonly AcceptedStream[],
  text: string,
): _Answer | undefined {
  const origin = text.indexOf("\r\no=");
  const idStart = origin < 0 ? -1 : text.indexOf(" ", origin + 4) + 1;
  const idEnd = idStart <= 0 ? -1 : text.indexOf(" ", idStart);
  if (idEnd < 0) return undefined;
  return {
    offer,
    sessionVersion,
    indexes: accepted.map((a) => a.index),
    ports: accepted.map((a) => a.port),
    directions: accepted.map((a) => a.direction),
    before: text.slice(0, idStart),
    after: text.slice(idEnd),
  };
}

function _sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The codecs of a call that plays an announcement: it is sent as PCMU or PCMA (src/net/media_flows.ts),
 * so the answer lists nothing else. A caller that put opus first would otherwise wait for opus
 * (RFC 3264 §6.1 lets the answerer leave out what it will not use); an offer with neither gets 488.
 */
function _announced(codecs: readonly Codec[]): readonly Codec[] {
  return codecs.filter((c) => /^(pcmu|pcma|telephone-event)$/i.test(c.name));
}

/**
 * What is wrong with the SDP answer an ACK carries to our offer in the 2xx (RFC 3264 §6), or
 * null when it is a right answer: none in the ACK, one that cannot be read, or one that does not
 * answer the offer.
 */
export function ackAnswerProblem(offer: SessionDescription, ack: SipRequest): string | null {
  if (ack.body.length === 0) return "the ACK has no SDP answer";
  try {
    return checkAnswer(offer, parseSdp(ack.bodyText)) ?? null;
  } catch (e) {
    if (!(e instanceof SdpError)) throw e;
    return e.message;
  }
}
