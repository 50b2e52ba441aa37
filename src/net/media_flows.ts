/**
 * The media flows of `serve()` beside the echo: DTMF digits of a call read from its RTP
 * telephone-events (RFC 4733) and from SIP INFO requests, reported as `dtmf` events and acted
 * on as the answering rule's `dtmf` says (a BYE on `#`, an announcement on `1`, the echo again
 * on `0`, for keys or key sequences); the announcement of a rule's `play`,
 * sent instead of the echo from the first RTP packet the caller sends (to where it came from,
 * RFC 4961 §3), paced at the answer's ptime, then a BYE or the echo.
 *
 * @module
 */

import { _now } from "./clock.ts";
import type { SocketAddress } from "./transport.ts";
import { getPtime, getRtpmap } from "../media/sdp_attributes.ts";
import { Announcement } from "../media/announcement.ts";
import { MAX_WAV_BYTES, parseWav } from "../media/wav.ts";
import { Recording } from "../media/recording.ts";
import type { MediaDescription } from "../media/sdp_types.ts";
import { readRtpHeader } from "../media/rtp_header.ts";
import { DtmfDetector, type DtmfDigit } from "../media/telephone_event.ts";
import { parseDtmfInfo } from "../media/dtmf_info.ts";
import { _matchDtmf, _pushDtmf, type DtmfAction, type MediaFlows, type PlaySpec } from "../rules/media_flows.ts";
import type { SipRequest } from "../sip/message.ts";
import type { PeerEvent, Remote } from "../ua/types.ts";

// The INFO requests remembered to tell a retransmission from a new INFO (by Call-ID and CSeq).
const SEEN_INFOS = 64;
// The announcement files kept read and decoded, by path; the oldest goes first.
const CACHED_FILES = 16;

/** What the flows need from the server. */
export interface _MediaFlowsOptions {
  /** `ServeOptions.onEvent`. */
  onEvent: ((event: PeerEvent) => void) | undefined;
  /** Ends a call with a BYE (the media wiring's `hangUp`); absent without media. */
  hangUp: ((callId: string) => void) | undefined;
  /** Sends a packet from a stream's RTP port (`MediaEcho.send`); absent without media. */
  send?: (callId: string, index: number, data: Uint8Array, to: SocketAddress) => boolean;
  /** Where each call's received RTP is written as a WAV file when it ends; absent: not recorded. */
  recordDir?: string;
  /** The longest recording, seconds (default 60). */
  recordSeconds?: number;
  /** Writes a file (`RuntimeNet.writeFile`); absent: nothing is recorded. */
  writeFile?: (path: string, data: Uint8Array) => Promise<void>;
  /** Reads a file (`RuntimeNet.readFile`); absent: no announcement is played. */
  readFile?: (path: string, maxBytes: number) => Promise<Uint8Array>;
}

/** The announcement of a call. */
interface _Play {
  file: string;
  then: "hangup" | "echo";
  index: number;
  encoding: "PCMU" | "PCMA";
  payloadType: number;
  ptime: number;
  state: "waiting" | "playing" | "done";
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Packets sent so far. */
  sent: number;
}

/** The stream an announcement plays on: the first with PCMU or PCMA, and where its RTP comes from. */
interface _Audio {
  index: number;
  encoding: "PCMU" | "PCMA";
  payloadType: number;
  ptime: number;
  /** The source of the last RTP packet on it (RFC 4961 §3: where the announcement goes). */
  to: SocketAddress | undefined;
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
  play?: _Play;
  closed?: boolean;
  /** The stream an announcement would play on; absent without one, or without `send`. */
  audio?: _Audio;
  /** The last keys received, for the rule's key sequences (at most `MAX_DTMF_SEQUENCE`). */
  keys?: string;
  /** The recording of the first audio stream: its index, its G.711 payload types. */
  record?: { index: number; types: Map<number, "PCMU" | "PCMA">; recording: Recording };
}

/** The media flows of a server (see the module documentation). */
export class _MediaFlows {
  readonly #o: _MediaFlowsOptions;
  readonly #calls = new Map<string, _FlowCall>();
  /** Call-ID and CSeq of the last INFO requests. */
  readonly #seen: string[] = [];
  /** The announcement files read, by path. */
  readonly #files = new Map<string, Promise<Int16Array>>();
  /** The recordings being written. */
  readonly #writing = new Set<Promise<void>>();

  /**
   * Makes the flows of a server.
   *
   * @param options Where events go, and how a call is ended.
   */
  constructor(options: _MediaFlowsOptions) {
    // The length limit is checked now, not at the first call (RangeError).
    if (options.recordDir !== undefined) new Recording(options.recordSeconds);
    this.#o = options;
  }

  /** Resolves once the recordings being written are written. */
  async settle(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all(this.#writing);
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
    const o = this.#o;
    if (o.recordDir !== undefined && o.writeFile !== undefined && call.record === undefined && m?.media === "audio") {
      const types = new Map(_g711s(m).map((c) => [c.payloadType, c.encoding]));
      call.record = { index, types, recording: new Recording(o.recordSeconds) };
    }
    if (call.audio === undefined && m !== undefined && this.#o.send !== undefined) {
      const codec = _g711(m);
      if (codec !== undefined) {
        const ptime = Math.min(200, Math.max(10, Math.round(getPtime(m) ?? 20)));
        call.audio = { index, ...codec, ptime, to: undefined };
      }
    }
    const play = call.flows?.play;
    if (play !== undefined && call.play === undefined && call.audio?.index === index) {
      call.play = _newPlay(play, call.audio);
    }
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
    if (call === undefined) return;
    const audio = call.audio;
    if (
      audio !== undefined && audio.index === index &&
      (audio.to?.port !== from.port || audio.to.address !== from.address)
    ) {
      audio.to = { address: from.address, port: from.port };
    }
    const stream = call.streams.get(index);
    // The payload type sits in the second byte: most packets are audio and need no more.
    if (stream?.detector !== undefined && (packet[1] & 0x7f) === stream.eventType) {
      const header = readRtpHeader(packet);
      if (header !== undefined) {
        const digits = stream.detector.push(header, packet.subarray(header.payloadOffset, header.payloadEnd));
        for (const digit of digits) this.#digit(call, digit, from);
      }
    }
    const record = call.record;
    if (record !== undefined && record.index === index) {
      const encoding = record.types.get(packet[1] & 0x7f);
      const header = encoding === undefined ? undefined : readRtpHeader(packet);
      if (header !== undefined) {
        record.recording.add(header, packet.subarray(header.payloadOffset, header.payloadEnd), encoding!);
      }
    }
    const play = call.play;
    if (play === undefined || play.index !== index || play.state === "done") return;
    if (play.state === "waiting") {
      play.state = "playing";
      void this.#play(call, play, { address: from.address, port: from.port });
    }
    // While the announcement plays, nothing is echoed.
    return false;
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
    call.closed = true;
    if (call.play !== undefined) clearTimeout(call.play.timer);
    if (call.record !== undefined && call.record.recording.packets > 0) {
      const writing: Promise<void> = this.#write(call, call.record.recording).finally(() =>
        this.#writing.delete(writing)
      );
      this.#writing.add(writing);
    }
    for (const stream of call.streams.values()) {
      const left = stream.detector?.flush();
      if (left !== undefined) this.#digit(call, left, undefined);
    }
  }

  #digit(call: _FlowCall, digit: DtmfDigit, from: SocketAddress | Remote | undefined): void {
    const dtmf = call.flows?.dtmf;
    let matched: { sequence: string; action: DtmfAction } | undefined;
    if (dtmf !== undefined && this.#o.hangUp !== undefined) {
      // RFC 4733 §2.5 and RFC 2976 carry single keys: a sequence is matched on the last keys of the call.
      call.keys = _pushDtmf(call.keys ?? "", digit.digit);
      const sequence = _matchDtmf(dtmf, call.keys);
      // The keys of a match are used up: the next sequence starts afresh.
      if (sequence !== undefined) [matched, call.keys] = [{ sequence, action: dtmf[sequence] }, ""];
    }
    const where = from === undefined ? "" : ` from ${_hostPort(from)}`;
    const how = digit.source === "info"
      ? `INFO, ${digit.duration} ms`
      : `RTP, ${digit.duration} ms${digit.ended ? "" : " (no end packet)"}, volume -${digit.volume} dBm0`;
    this.#o.onEvent?.({
      at: _now(),
      kind: "dtmf",
      message: `call ${call.callId}: DTMF ${digit.digit} (${how})${where}${
        matched === undefined
          ? ""
          : `; dtmf ${JSON.stringify(matched.sequence)} matched: ${this.#describe(call, matched.action)}`
      }`,
      callId: call.callId,
      remote: from !== undefined && "transport" in from ? from : undefined,
      dtmf: digit,
    });
    if (matched !== undefined) this.#act(call, matched.action);
  }

  /** The words for a matched action in the `dtmf` event. */
  #describe(call: _FlowCall, action: DtmfAction): string {
    if (typeof action === "string") return action;
    const then = `play ${action.play.file}, then ${action.play.then}`;
    return call.audio === undefined ? `${then}: not played, the call has no PCMU or PCMA stream` : then;
  }

  /** Does what a matched key sequence says. */
  #act(call: _FlowCall, action: DtmfAction): void {
    if (call.hungUp || call.closed) return;
    if (action === "hangup") {
      call.hungUp = true;
      // After the INFO that carried the key is answered 200 (RFC 2976 §2.2): its dialog still stands.
      queueMicrotask(() => this.#o.hangUp!(call.callId));
      return;
    }
    if (action !== "echo" && call.audio === undefined) return;
    this.#stop(call);
    if (action === "echo") return;
    const play = _newPlay(action.play, call.audio!);
    call.play = play;
    // Without RTP from the caller yet, it starts with the first packet (as a rule's `play`).
    if (call.audio!.to !== undefined) {
      play.state = "playing";
      void this.#play(call, play, call.audio!.to);
    }
  }

  /** Stops the announcement in progress, if any: the echo takes over. */
  #stop(call: _FlowCall): void {
    const play = call.play;
    if (play === undefined || play.state === "done") return;
    clearTimeout(play.timer);
    play.timer = undefined;
    if (play.state === "playing") {
      this.#event(call, "play", `call ${call.callId}: stopped ${play.file} after ${play.sent} packets`);
    }
    play.state = "done";
  }

  /** Plays the announcement to `to`, paced at its ptime from now; then a BYE or the echo. */
  async #play(call: _FlowCall, play: _Play, to: SocketAddress): Promise<void> {
    let samples: Int16Array;
    try {
      samples = await this.#read(play.file);
    } catch (e) {
      this.#event(call, "play", `call ${call.callId}: cannot play ${play.file}: ${(e as Error).message}; echoing`);
      play.state = "done";
      return;
    }
    // Stopped by a key while the file was read.
    if (call.closed || play.state === "done") return;
    const [ssrc, sequence, timestamp] = crypto.getRandomValues(new Uint32Array(3));
    // RFC 3550 §5.1: the first sequence number and timestamp are random.
    const a = new Announcement(samples, { ...play, ssrc, sequence: sequence & 0xffff, timestamp });
    const start = performance.now();
    let i = 0;
    const tick = () => {
      play.timer = undefined;
      if (call.closed || play.state === "done") return;
      // Every packet that is due goes now (a late timer catches up), none before its time.
      const now = performance.now();
      while (i < a.count && start + i * play.ptime <= now) {
        if (!this.#o.send!(call.callId, play.index, a.packet(i), to)) break;
        play.sent = ++i;
      }
      if (i < a.count) {
        play.timer = setTimeout(tick, Math.max(1, Math.ceil(start + i * play.ptime - performance.now())));
        return;
      }
      play.state = "done";
      const seconds = (samples.length / 8000).toFixed(1);
      this.#event(
        call,
        "play",
        `call ${call.callId}: played ${play.file} (${a.count} packets of ${play.ptime} ms, ${seconds} s, ${play.encoding}) to ${
          _hostPort(to)
        }; then ${play.then}`,
      );
      if (play.then === "hangup" && !call.hungUp) {
        call.hungUp = true;
        this.#o.hangUp?.(call.callId);
      }
    };
    tick();
  }

  /** Writes a call's recording to `<recordDir>/<Call-ID>.wav`. */
  async #write(call: _FlowCall, recording: Recording): Promise<void> {
    const dir = this.#o.recordDir!.replace(/\/+$/, "");
    const path = `${dir}/${_fileName(call.callId)}.wav`;
    const seconds = (recording.samples().length / 8000).toFixed(1);
    try {
      await this.#o.writeFile!(path, recording.wav());
      this.#event(
        call,
        "record",
        `call ${call.callId}: recorded ${seconds} s (${recording.packets} packets) to ${path}`,
      );
    } catch (e) {
      this.#event(call, "record", `call ${call.callId}: cannot write ${path}: ${(e as Error).message}`);
    }
  }

  /** A WAV file's samples, read once (the last 16 files stay). */
  #read(file: string): Promise<Int16Array> {
    let samples = this.#files.get(file);
    if (samples === undefined) {
      const read = this.#o.readFile;
      samples = read === undefined
        ? Promise.reject(new Error("the runtime reads no files"))
        : read(file, MAX_WAV_BYTES).then((bytes) => parseWav(bytes).samples);
      // A file that could not be read is tried again by the next call.
      samples.catch(() => this.#files.delete(file));
      this.#files.set(file, samples);
      if (this.#files.size > CACHED_FILES) this.#files.delete(this.#files.keys().next().value!);
    }
    return samples;
  }

  #event(call: _FlowCall, kind: PeerEvent["kind"], message: string): void {
    this.#o.onEvent?.({ at: _now(), kind, message, callId: call.callId });
  }
}

/** An announcement to play on a call's audio stream, waiting for the caller's first RTP packet. */
function _newPlay(spec: PlaySpec, audio: _Audio): _Play {
  const { index, encoding, payloadType, ptime } = audio;
  return { ...spec, index, encoding, payloadType, ptime, state: "waiting", timer: undefined, sent: 0 };
}

/** The first PCMU or PCMA format of an m-line (the answer keeps the offer's order, RFC 3264 §6.1). */
function _g711(m: MediaDescription): { encoding: "PCMU" | "PCMA"; payloadType: number } | undefined {
  return _g711s(m)[0];
}

/** The PCMU and PCMA formats of an m-line, in its order. */
function _g711s(m: MediaDescription): { encoding: "PCMU" | "PCMA"; payloadType: number }[] {
  const out: { encoding: "PCMU" | "PCMA"; payloadType: number }[] = [];
  for (const format of m.formats) {
    const map = getRtpmap(m, format);
    const name = map?.encodingName.toUpperCase();
    if (map !== undefined && map.clockRate === 8000 && (name === "PCMU" || name === "PCMA")) {
      out.push({ encoding: name, payloadType: map.payloadType });
    }
  }
  return out;
}

/** A Call-ID as a file name: letters, digits, `.`, `-`, `_`, `@` kept, the rest `_`, at most 100 characters. */
function _fileName(callId: string): string {
  return callId.replace(/[^A-Za-z0-9._@-]/g, "_").replace(/^\./, "_").slice(0, 100);
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
