/**
 * The media flows of `serve()` beside the echo: DTMF digits of a call read from its RTP
 * telephone-events (RFC 4733) and from SIP INFO requests, reported as `dtmf` events and acted
 * on as the answering rule's `dtmf` says (a BYE on `#`).
 *
 * @module
 */

import { _now } from "./clock.ts";
import type { SocketAddress } from "./transport.ts";
import { getRtpmap } from "../media/sdp_attributes.ts";
import type { MediaDescription } from "../media/sdp_types.ts";
import { readRtpHeader } from "../media/rtp_header.ts";
import { DtmfDetector, type DtmfDigit } from "../media/telephone_event.ts";
import { parseDtmfInfo } from "../media/dtmf_info.ts";
import type { MediaFlows } from "../rules/media_flows.ts";
import type { SipRequest } from "../sip/message.ts";
import type { PeerEvent, Remote } from "../ua/types.ts";

// The INFO requests remembered to tell a retransmission from a new INFO (by Call-ID and CSeq).
const SEEN_INFOS = 64;

/** What the flows need from the server. */
export interface _MediaFlowsOptions {
  /** `ServeOptions.onEvent`. */
  onEvent: ((event: PeerEvent) => void) | undefined;
  /** Ends a call with a BYE (the media wiring's `hangUp`); absent without media. */
  hangUp: ((callId: string) => void) | undefined;
}

/** One stream of a call: its telephone-event payload type, and the digits being read. */
interface _FlowStream {
  eventType: number | undefined;
  detector: DtmfDetector | undefined;
}

/** One call with media. */
interface _FlowCall {
  callId: string;
  flows: MediaFlows | undefined;
  streams: Map<number, _FlowStream>;
  hungUp: boolean;
}

/** The media flows of a server (see the module documentation). */
export class _MediaFlows {
  readonly #o: _MediaFlowsOptions;
  readonly #calls = new Map<string, _FlowCall>();
  /** Call-ID and CSeq of the last INFO requests. */
  readonly #seen: string[] = [];

  /**
   * Makes the flows of a server.
   *
   * @param options Where events go, and how a call is ended.
   */
  constructor(options: _MediaFlowsOptions) {
    this.#o = options;
  }

  /**
   * A stream of a call got its port (the peer's `rtpPort`): its telephone-event payload type is
   * read from the offered m-line, as the answer keeps it (RFC 4733 §2.1: at the clock rate of an
   * audio codec kept).
   *
   * @param callId The Call-ID.
   * @param index The m-line index.
   * @param m The offered m-line (`undefined`: the peer makes the offer, and offers its codecs).
   * @param flows The answering rule's flows.
   */
  open(callId: string, index: number, m: MediaDescription | undefined, flows: MediaFlows | undefined): void {
    let call = this.#calls.get(callId);
    if (call === undefined) {
      call = { callId, flows, streams: new Map(), hungUp: false };
      this.#calls.set(callId, call);
    }
    call.flows ??= flows;
    if (call.streams.has(index)) return;
    const event = m === undefined ? { payloadType: 101, clockRate: 8000 } : _telephoneEvent(m);
    call.streams.set(index, {
      eventType: event?.payloadType,
      detector: event === undefined ? undefined : new DtmfDetector(event.clockRate),
    });
  }

  /**
   * An RTP packet arrived on a call's stream (the echo's `onRtp`).
   *
   * @param callId The Call-ID.
   * @param index The m-line index.
   * @param packet The packet.
   * @param from Its source.
   * @returns `false` when it is not to be echoed.
   */
  rtp(callId: string, index: number, packet: Uint8Array, from: SocketAddress): boolean | void {
    const call = this.#calls.get(callId);
    const stream = call?.streams.get(index);
    if (stream?.detector === undefined) return;
    // The payload type sits in the second byte: most packets are audio and need no more.
    if ((packet[1] & 0x7f) !== stream.eventType) return;
    const header = readRtpHeader(packet);
    if (header === undefined) return;
    const digits = stream.detector.push(header, packet.subarray(header.payloadOffset, header.payloadEnd));
    for (const digit of digits) this.#digit(call!, digit, from);
  }

  /**
   * A SIP request was received (the peer's `onReceive`): the digit of an INFO with a DTMF body.
   *
   * @param request The request.
   * @param remote Its source.
   */
  request(request: SipRequest, remote: Remote): void {
    if (request.method !== "INFO" || request.body.length === 0) return;
    const key = `${request.callId} ${request.cseq.seq}`;
    // A retransmission (RFC 3261 §17.2.2) carries the same digit again.
    if (this.#seen.includes(key)) return;
    const type = request.contentType?.mediaType;
    const digit = type === undefined ? undefined : parseDtmfInfo(type, request.bodyText);
    if (digit === undefined) return;
    this.#seen.push(key);
    if (this.#seen.length > SEEN_INFOS) this.#seen.shift();
    const call = this.#calls.get(request.callId) ??
      { callId: request.callId, flows: undefined, streams: new Map(), hungUp: false };
    this.#digit(call, digit, remote);
  }

  /**
   * A call's media ended: a digit whose end packets never came is reported, the call forgotten.
   *
   * @param callId The Call-ID.
   */
  close(callId: string): void {
    const call = this.#calls.get(callId);
    if (call === undefined) return;
    this.#calls.delete(callId);
    for (const stream of call.streams.values()) {
      const left = stream.detector?.flush();
      if (left !== undefined) this.#digit(call, left, undefined);
    }
  }

  #digit(call: _FlowCall, digit: DtmfDigit, from: SocketAddress | Remote | undefined): void {
    const where = from === undefined ? "" : ` from ${_hostPort(from)}`;
    const how = digit.source === "info"
      ? `INFO, ${digit.duration} ms`
      : `RTP, ${digit.duration} ms${digit.ended ? "" : " (no end packet)"}, volume -${digit.volume} dBm0`;
    this.#o.onEvent?.({
      at: _now(),
      kind: "dtmf",
      message: `call ${call.callId}: DTMF ${digit.digit} (${how})${where}`,
      callId: call.callId,
      remote: from !== undefined && "transport" in from ? from : undefined,
      dtmf: digit,
    });
    if (call.flows?.dtmf?.[digit.digit] === "hangup" && !call.hungUp && this.#o.hangUp !== undefined) {
      call.hungUp = true;
      this.#o.hangUp(call.callId);
    }
  }
}

/** The first telephone-event of an m-line at the clock rate of another of its formats. */
function _telephoneEvent(m: MediaDescription): { payloadType: number; clockRate: number } | undefined {
  const maps = m.formats.map((f) => getRtpmap(m, f)).filter((r) => r !== undefined);
  const rates = new Set(maps.filter((r) => r.encodingName.toLowerCase() !== "telephone-event").map((r) => r.clockRate));
  return maps.find((r) => r.encodingName.toLowerCase() === "telephone-event" && rates.has(r.clockRate));
}

function _hostPort(a: SocketAddress): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
