/**
 * `serve()`: the pure {@linkcode SipPeer} on real sockets. This file assembles the parts that
 * join the core to a runtime's socket shim (`RuntimeNet`) and hold the wire behaviour
 * that is not in the core:
 *
 * - `listeners.ts`: the listen addresses and their binding;
 * - `connections.ts`: stream framing and keep-alives on TCP and WebSocket (RFC 3261 §18.3,
 *   RFC 5626 §4.4.1), connection limits, the connections `send()` opens (RFC 3261 §18.1.1);
 * - `outputs.ts`: where the peer's outputs go (response routing on UDP, RFC 3261 §18.2.2);
 * - `peer_driver.ts`: the peer fed what arrives, and the one timer that drives its clock;
 * - `media_wiring.ts`: with `media`, the RTP echo (`MediaEcho`) wired to the peer's
 *   answers, with the BYE the peer sends when a call's media goes silent;
 * - `server_send.ts`: `server.send()`; `sip_server.ts`: the server it returns;
 *   `serve_options.ts`: its options; `events.ts`: its log lines.
 *
 * @module
 */

import { ConnectionTable } from "./connections.ts";
import { _now } from "./clock.ts";
import { type _EventLog, _eventLog } from "./events.ts";
import { _Listeners, type AdvertisedAddress } from "./listeners.ts";
import { _MediaFlows } from "./media_flows.ts";
import { _ServerMedia } from "./media_wiring.ts";
import { _Outputs, type _Remote } from "./outputs.ts";
import { _PeerDriver } from "./peer_driver.ts";
import { _ReferCalls } from "./refer_calls.ts";
import { DEFAULT_TIMERS } from "../ua/transaction.ts";
import { _sendRaw } from "./server_send.ts";
import { type _ServeSettings, _serveSettings, type ServeOptions } from "./serve_options.ts";
import { _serverUri, type SipServer } from "./sip_server.ts";
import { _serverStats } from "./server_stats.ts";
import { _startHttp } from "./serve_http.ts";
import { _prepareTls } from "./serve_tls.ts";
import { RecentCalls } from "./recent_calls.ts";
import { _EventStreams } from "./event_stream.ts";
import { _liveRoutes } from "./live_routes.ts";
import type { HttpListener } from "./transport.ts";
import { unbracket } from "./transport.ts";
import { type Remote, SipPeer } from "../ua/peer.ts";

export { describeMedia } from "../media/stats.ts";
export {
  type AdvertisedAddress,
  type BoundAddress,
  chooseAdvertised,
  ListenError,
  type ListenSpec,
  type ListenTransport,
  parseListenAddress,
} from "./listeners.ts";
export {
  DEFAULT_RTP_PORTS,
  type EdgeProfile,
  type ServeHttpOptions,
  type ServeMediaOptions,
  type ServeOptions,
  type TrafficEntry,
} from "./serve_options.ts";
import type { TrafficEntry } from "./serve_options.ts";
export type { SipServer } from "./sip_server.ts";
export type { ServeTlsOptions } from "./serve_tls.ts";
export type { SelfSignedTlsOptions, SendOptions, ServerTls, ServeTls, TlsTrust } from "./serve_tls.ts";
export type { ServerStats } from "./server_stats.ts";

/**
 * Starts the SIP peer on real sockets: UDP, TCP and WebSocket (RFC 7118), IPv4 and IPv6, on
 * Deno and on Bun. Port 0 picks a free port; `addresses` tells which.
 *
 * @param options Where to listen and how to answer.
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * assert.ok(server.addresses[0].port > 0);
 * assert.match(server.uri("echo"), /^sip:echo@127\.0\.0\.1:\d+$/);
 * ```
 */
// Some 110 lines: the order in which the parts are made and wired (listeners, media, connections,
// peer, HTTP, signals) is the point, and reads best in one place; each part is its own module.
export async function serve(options: ServeOptions = {}): Promise<SipServer> {
  const net = options.net ?? await (await import("./runtime/detect.ts")).detectRuntime();
  // A certificate to make is made first: the listeners need its PEM.
  const tls = await _prepareTls(options.tls, options.listen ?? [], options.advertise);
  const settings = _serveSettings(tls === undefined ? options : { ...options, tls: tls.options });
  // With an HTTP port, every message in and out is also recorded for the live page.
  const recent = settings.http === undefined ? undefined : new RecentCalls();
  const events = recent === undefined ? undefined : new _EventStreams(recent);
  const onTraffic = _tap(options.onTraffic, recent);
  const event = _eventLog(options.onEvent, settings.guard, () => driver?.peer._counters());
  // Made once the ports are bound, after the handlers that use it: what arrives before is dropped.
  // deno-lint-ignore prefer-const
  let driver: _PeerDriver | undefined;
  // deno-lint-ignore prefer-const
  let referCalls: _ReferCalls | undefined;
  const connections = new ConnectionTable({
    limits: settings.connections,
    maxMessageSize: settings.maxMessageSize,
    guard: settings.guard,
    now: _now,
    onEvent: (kind, message, remote) => event(kind, message, remote as Remote),
    tlsCa: settings.tls?.ca,
    onMessage(bytes, c) {
      const remote: _Remote = { address: c.conn.remote.address, port: c.conn.remote.port, transport: c.transport };
      remote.connection = c;
      driver?.receive(bytes, remote);
    },
  });
  const listeners = new _Listeners(net, connections, event);
  listeners.tls = settings.tls;
  let media: _ServerMedia | undefined;
  // The media flows (DTMF from RTP and INFO): only when someone listens, or with media.
  const flows = options.onEvent !== undefined || settings.media !== undefined
    ? new _MediaFlows({
      onEvent: options.onEvent,
      hangUp: (callId) => media?.hangUp(callId),
      send: (callId, index, data, to) => media?.echo.send(callId, index, data, to) ?? false,
      readFile: net.readFile?.bind(net),
      writeFile: net.writeFile?.bind(net),
      recordDir: settings.media?.record?.dir,
      recordSeconds: settings.media?.record?.maxSeconds,
    })
    : undefined;
  let http: HttpListener | undefined;
  let closing: Promise<void> | undefined;
  const closed = Promise.withResolvers<void>();
  const close = (): Promise<void> =>
    closing ??= (http?.close() ?? Promise.resolve())
      .then(() => _shutdown(driver, media, connections, listeners, referCalls))
      .then(() => flows?.settle())
      .then(() => {
        options.signal?.removeEventListener("abort", onAbort);
        closed.resolve();
      });
  const onAbort = () => void close();

  const sockets = { net, listeners, connections, closed: () => closing !== undefined };
  let advertised: AdvertisedAddress;
  let advertise: string;
  try {
    await listeners.bind(
      settings.listen,
      options.udpPoll ?? true,
      (data, remote) => driver?.receive(data, remote),
      options.reusePort === true,
    );
    advertised = listeners.advertised(options.advertise);
    advertise = advertised.address;
    if (settings.media !== undefined) {
      media = new _ServerMedia(settings.media, {
        net,
        first: listeners.addresses[0],
        advertise,
        t1: settings.t1,
        event,
        onEvent: options.onEvent,
        driver: () => driver,
        flows,
      });
    }
  } catch (e) {
    await close();
    throw e;
  }
  // RFC 3515 §2.4.5: a rule's "refer": "call" has sipecho call the Refer-To target itself.
  referCalls = new _ReferCalls({
    send: (data, to, transport) => _sendRaw(sockets, data, to, transport),
    addresses: () => listeners.addresses,
    advertise,
    lab: (typeof options.edge === "string" ? options.edge : options.edge?.profile) === "lab",
    timers: { ...DEFAULT_TIMERS, ...options.timers },
    driver: () => driver,
    event,
  });
  driver = new _PeerDriver(
    _peer(options, settings, listeners, advertise, media, event, onTraffic, flows, referCalls),
    new _Outputs(connections, onTraffic, event),
    event,
  );
  const stats = () => _serverStats(driver!.peer, media?.echo, connections);
  if (settings.http !== undefined) {
    try {
      http = await _startHttp(net, settings.http, {
        stats,
        listening: () => closing === undefined,
        routes: _liveRoutes(recent!, events!),
      });
    } catch (e) {
      await close();
      throw e;
    }
  }
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    peer: driver.peer,
    addresses: listeners.addresses,
    advertised,
    media: media?.echo,
    closed: closed.promise,
    close,
    send: (data, remote, transport, sendOptions) => _sendRaw(sockets, data, remote, transport, sendOptions),
    uri: (user, transport) => _serverUri(listeners.addresses, advertise, user, transport),
    stats,
    http: http?.local,
    tls: tls?.info,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Closes a server's parts: the timers first (nothing new is sent), then the sockets, the
 * connections, the media, and last the peer.
 */
async function _shutdown(
  driver: _PeerDriver | undefined,
  media: _ServerMedia | undefined,
  connections: ConnectionTable,
  listeners: _Listeners,
  referCalls?: _ReferCalls,
): Promise<void> {
  driver?.stop();
  referCalls?.close();
  media?.stop();
  connections.stopTimers();
  await listeners.close();
  // The connections the server opened have no listener to wait for: closeAll() waits (a
  // while at most) for the shim to report them closed, so that no read is left running.
  await connections.closeAll();
  await media?.echo.closeAll();
  driver?.peer.close();
}

/** `onTraffic` with the live page's record of recent calls, when there is one. */
function _tap(
  onTraffic: ((entry: TrafficEntry) => void) | undefined,
  recent: RecentCalls | undefined,
): ((entry: TrafficEntry) => void) | undefined {
  if (recent === undefined) return onTraffic;
  if (onTraffic === undefined) return (entry) => recent.record(entry);
  return (entry) => {
    recent.record(entry);
    onTraffic(entry);
  };
}

/** Ends the live page's event streams, then closes the HTTP port. */
async function _closeHttp(events: _EventStreams | undefined, http: HttpListener | undefined): Promise<void> {
  events?.close();
  await http?.close();
}

/** The peer of a server: the options given, with the server's addresses, guard, limits and media. */
function _peer(
  options: ServeOptions,
  settings: _ServeSettings,
  listeners: _Listeners,
  advertise: string,
  media: _ServerMedia | undefined,
  event: _EventLog,
  onTraffic: ((entry: TrafficEntry) => void) | undefined,
  flows: _MediaFlows | undefined,
  referCalls: _ReferCalls,
): SipPeer {
  return new SipPeer({
    ...options,
    address: unbracket(advertise),
    port: listeners.addresses[0].port,
    ports: listeners.ports(),
    rtpPort: media === undefined ? options.rtpPort : media.reserve,
    rtpRelease: media === undefined ? options.rtpRelease : media.release,
    rtpDirection: media === undefined ? options.rtpDirection : media.direction(options.rtpDirection),
    guard: settings.guard,
    maxMessageSize: settings.maxMessageSize,
    limits: { ...settings.limits, streams: options.limits?.streams ?? media?.echo.capacity ?? Infinity },
    // A response to no request of the peer's own goes to the caller's onResponse.
    // The REFERs a rule says to call, unless the caller takes them all (onRefer).
    onRefer: options.onRefer ?? referCalls.onRefer,
    refer: options.refer ?? (options.onRefer === undefined ? "notify" : "call"),
    onResponse: (message, remote, at) => {
      if (referCalls.receive(message)) return;
      if (options.onResponse !== undefined) options.onResponse(message, remote, at);
      else event("dropped", `a ${message.status} response that answers no request of ours`, remote, "stray");
    },
    onReceive: (onTraffic ?? flows) &&
      ((message, remote, _at) => {
        // DTMF in INFO (media_flows.ts): a request that parsed, before the peer answers it.
        if (flows !== undefined && message.type === "request") flows.request(message, remote);
        onTraffic?.({
          time: Date.now(),
          direction: "in",
          transport: remote.transport,
          remote: { address: remote.address, port: remote.port },
          message,
        });
      }),
  });
}
