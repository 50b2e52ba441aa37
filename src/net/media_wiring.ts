/**
 * The RTP echo of `serve({ media })` wired to the peer: the echo ({@linkcode MediaEcho}) made
 * from the options, its ports reserved for the peer's SDP answers and released when the peer
 * ends a call, its counters logged, and the BYE the peer sends when a call's media goes silent
 * (or fails), not before the ACK (RFC 3261 §15).
 *
 * @module
 */

import { _delay, _now } from "./clock.ts";
import type { _EventLog } from "./events.ts";
import { _isWildcard, type BoundAddress } from "./listeners.ts";
import type { _MediaFlows } from "./media_flows.ts";
import type { _PeerDriver } from "./peer_driver.ts";
import { DEFAULT_RTP_PORTS, type ServeMediaOptions } from "./serve_options.ts";
import { type RuntimeNet, unbracket } from "./transport.ts";
import { type MediaCallStats, MediaEcho } from "../media/echo.ts";
import { hasRtcpMux } from "../media/sdp.ts";
import { describeMedia } from "../media/stats.ts";
import type { PeerEvent, PeerOptions, RtpReleaseReason } from "../ua/peer.ts";

/** What the media wiring needs from its server. */
export interface _ServerMediaOptions {
  /** The socket shim. */
  net: RuntimeNet;
  /** The server's first bound address. */
  first: BoundAddress;
  /** The address the server advertises (maybe in brackets). */
  advertise: string;
  /** The peer's T1, ms: the wait for an ACK before a BYE is 64*T1. */
  t1: number;
  /** Where a media socket's errors are reported. */
  event: _EventLog;
  /** `ServeOptions.onEvent`: where a call's media counters go when it ends. */
  onEvent: ((event: PeerEvent) => void) | undefined;
  /** The peer's driver, once there is one. */
  driver: () => _PeerDriver | undefined;
  /** The media flows (DTMF) that see the calls' RTP; none: the echo alone. */
  flows?: _MediaFlows;
}

/** The RTP echo of a server and its wiring to the peer (see the module documentation). */
export class _ServerMedia {
  /** The echo. */
  readonly echo: MediaEcho;
  #options: _ServerMediaOptions;
  /** Waits before sending a BYE in a dialog whose 2xx is not acknowledged yet (RFC 3261 §15). */
  #byeWaits = new Set<ReturnType<typeof setTimeout>>();
  #stopped = false;

  /**
   * Makes the echo; it binds nothing before a call reserves a port.
   *
   * @param media `ServeOptions.media`, as options.
   * @param options What it needs from the server.
   * @throws {RangeError} What `MediaEcho` throws for options out of range.
   */
  constructor(media: ServeMediaOptions, options: _ServerMediaOptions) {
    this.#options = options;
    const { net, first, event } = options;
    const advertised = unbracket(options.advertise);
    const hostname = media.hostname ??
      (!_isWildcard(first.address) && first.address === advertised
        ? first.address
        : advertised.includes(":")
        ? "::"
        : "0.0.0.0");
    this.echo = new MediaEcho({
      net,
      hostname: unbracket(hostname),
      portRange: media.portRange ?? DEFAULT_RTP_PORTS,
      delay: media.delay,
      maxQueue: media.maxQueue,
      inactivityTimeout: media.inactivityTimeout,
      rewriteSsrc: media.rewriteSsrc,
      onEnd: (stats) => this.#ended(stats),
      onError: (e, callId) => event("dropped", `media of ${callId}: ${e}`),
      now: Date.now,
      onRtp: options.flows && ((callId, index, packet, from) => options.flows!.rtp(callId, index, packet, from)),
    });
  }

  /** The peer's `rtpPort`: a port of the echo for an m-line of a call's answer. */
  readonly reserve: NonNullable<PeerOptions["rtpPort"]> = (callId, index, m, flows) => {
    // RFC 5761 §5.1.1: with rtcp-mux offered, RTCP shares the RTP port; no odd port is bound.
    const port = this.echo.reserve(callId, index, { rtcpMux: m !== undefined && hasRtcpMux(m) });
    if (port !== undefined) this.#options.flows?.open(callId, index, m, flows);
    return port;
  };

  /** The peer's `rtpRelease`: the call's ports go back, its counters are logged. */
  readonly release = (callId: string, reason: RtpReleaseReason): void => {
    const stats = this.echo.close(callId);
    this.#options.flows?.close(callId);
    if (stats !== undefined) this.#log(stats, reason);
  };

  /**
   * The peer's `rtpDirection`: a re-INVITE or UPDATE holds or resumes a stream (RFC 3264 §8.4),
   * and the echo stops or goes on sending; then the caller's own hook, if any.
   */
  direction(
    then: PeerOptions["rtpDirection"],
  ): NonNullable<PeerOptions["rtpDirection"]> {
    return (callId, index, direction) => {
      this.echo.setDirection(callId, index, direction);
      then?.(callId, index, direction);
    };
  }

  /** Ends the dialogs of a call with a BYE from the peer, once their 2xx is acknowledged. */
  hangUp(callId: string): void {
    const driver = this.#options.driver();
    if (driver === undefined || this.#stopped) return;
    driver.run(() => {
      // The peer runs the BYE's client transaction; its resends come out of takeRequests().
      const requests = driver.peer.bye(callId, _now());
      driver.send(requests);
      if (requests.length === 0 && driver.peer.dialogs.some((d) => d.callId === callId && !d.acked)) {
        // RFC 3261 §15: no BYE before the ACK of the 2xx. By Timer L (64*T1) the ACK has come,
        // or the peer has dropped the dialog (§13.3.1.4).
        const wait = setTimeout(() => {
          this.#byeWaits.delete(wait);
          this.hangUp(callId);
        }, _delay(64 * this.#options.t1 + 1));
        this.#byeWaits.add(wait);
      }
    }, `ending the call ${callId}`);
  }

  /** Stops the waits for an ACK: no BYE is sent from now on. */
  stop(): void {
    this.#stopped = true;
    for (const wait of this.#byeWaits) clearTimeout(wait);
    this.#byeWaits.clear();
  }

  /** MediaEcho's `onEnd`: a call's media ended by itself (or at shutdown). */
  #ended(stats: MediaCallStats): void {
    // Ended by release(), which logs it with the SIP reason.
    if (stats.reason === "closed") return;
    this.#options.flows?.close(stats.callId);
    this.#log(stats, stats.reason ?? "ended", stats.reason === "error" ? `error: ${stats.error}` : undefined);
    if (stats.reason === "timeout" || stats.reason === "error") this.hangUp(stats.callId);
  }

  /** The `media` event: `reason` is the word the message gives in brackets (`error` with its detail). */
  #log(stats: MediaCallStats, reason: string, detail = reason): void {
    this.#options.onEvent?.({
      at: _now(),
      kind: "media",
      message: describeMedia(stats, detail),
      callId: stats.callId,
      reason,
      media: stats,
    });
  }
}
