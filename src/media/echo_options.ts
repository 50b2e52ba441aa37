/**
 * The options of `MediaEcho`: what they are ({@linkcode MediaEchoOptions}), their defaults,
 * and the checks that turn them into the settings the echo runs with.
 *
 * @module
 */

import type { RuntimeNet, SocketAddress } from "../net/transport.ts";
import type { MediaCallStats } from "./stats.ts";
import { _isPort } from "./options.ts";

/**
 * Options of a {@linkcode MediaEcho}.
 *
 * @example
 * ```ts
 * import type { MediaEchoOptions } from "@sipecho/sipecho/media";
 * import type { RuntimeNet } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const net = {} as RuntimeNet; // the runtime's shim, as given to serve()
 * const options: MediaEchoOptions = { net, hostname: "0.0.0.0", portRange: [20000, 29999], delay: 500 };
 * assert.equal(options.portRange[1] - options.portRange[0] + 1, 10000);
 * ```
 */
export interface MediaEchoOptions {
  /** The socket shim of the runtime. */
  net: RuntimeNet;
  /** The address to bind the media sockets to: `0.0.0.0`, `::`, `127.0.0.1`, ... */
  hostname: string;
  /** The ports to use, both included; each stream takes an even port and the odd one after it. */
  portRange: readonly [number, number];
  /** Hold each echo back this long, ms (default 0: at once). */
  delay?: number;
  /** Most packets held back per socket while `delay` runs (default 1000); more are dropped. */
  maxQueue?: number;
  /** End a call that receives no RTP or RTCP for this long, ms (default 30,000); 0: never. */
  inactivityTimeout?: number;
  /**
   * Most port pairs kept bound between calls, for the next calls to take without binding
   * (default 128; 0: each call binds its sockets and closes them). A pair comes back bound from
   * a call ended by {@linkcode MediaEcho.close}; one unused for 5 s is closed.
   */
  poolSize?: number;
  /** Write our own SSRC into the echoes (a random one per stream, RFC 3550 §8.1); default false. */
  rewriteSsrc?: boolean;
  /** Called once when the media of a call ends, for any reason, with its final counters. */
  onEnd?: (stats: MediaCallStats) => void;
  /** Socket errors (an ICMP port unreachable after the caller left, ...), and errors thrown by `onEnd`. */
  onError?: (error: unknown, callId: string) => void;
  /** The clock for the times in the stats, ms (default `Date.now`). */
  now?: () => number;
  /**
   * Sees every RTP packet (version 2, a whole fixed header; not RTCP) before it is echoed, for
   * the media flows that look inside (DTMF, recording, announcements). Returning `false` keeps
   * it from being echoed (it is counted as dropped). The packet's buffer may be reused by the
   * runtime once this returns: copy what is kept.
   */
  onRtp?: (callId: string, index: number, packet: Uint8Array, from: SocketAddress) => boolean | void;
}

// RFC 3550 §6.3.5 times out a participant after 5 RTCP report intervals of silence, and §6.2
// makes that interval at least 5 s (randomized to 2.5-7.5 s by §6.3.1): 30 s without RTP or
// RTCP means the other side is gone.
const DEFAULT_INACTIVITY_TIMEOUT = 30_000;
const DEFAULT_MAX_QUEUE = 1000;
// Port pairs kept bound between calls. A few dozen calls are up at once at 2,500 calls/s of a
// few ms each. A pooled pair holds two descriptors and a few small objects (on Deno its sockets
// are polled: read by the shim's one reactor, with no receive buffer of their own).
const DEFAULT_POOL_SIZE = 128;
const MAX_TIMER = 2 ** 31 - 1;

/** The options of a `MediaEcho`, checked, with their defaults filled in. */
export interface _EchoSettings {
  net: RuntimeNet;
  hostname: string;
  portRange: readonly [number, number];
  delay: number;
  maxQueue: number;
  inactivityTimeout: number;
  poolSize: number;
  rewriteSsrc: boolean;
  onEnd: ((stats: MediaCallStats) => void) | undefined;
  onError: ((error: unknown, callId: string) => void) | undefined;
  now: () => number;
  onRtp: MediaEchoOptions["onRtp"];
}

/**
 * Checks the options of a `MediaEcho` and fills in the defaults.
 *
 * @param options The options.
 * @returns The settings.
 * @throws {TypeError} If `net` is not a socket shim or `hostname` is empty.
 * @throws {RangeError} If the port range is not two ports from 1 to 65535, low to high, holding
 *   an even port and the odd one after it; or `delay`, `maxQueue`, `inactivityTimeout` or
 *   `poolSize` is out of range.
 */
export function _echoSettings(options: MediaEchoOptions): _EchoSettings {
  if (typeof options?.net?.listenDatagram !== "function") {
    throw new TypeError("Cannot create MediaEcho: net is not a RuntimeNet");
  }
  if (typeof options.hostname !== "string" || options.hostname === "") {
    throw new TypeError("Cannot create MediaEcho: hostname is empty");
  }
  const [low, high] = options.portRange ?? [];
  if (!_isPort(low) || !_isPort(high) || low > high) {
    throw new RangeError(
      `Cannot create MediaEcho: portRange must be two ports from 1 to 65535, low to high, not ${
        JSON.stringify(options.portRange)
      }`,
    );
  }
  // RFC 3550 §11: RTP on an even port, RTCP on the next higher (odd) port.
  if ((low % 2 === 0 ? low : low + 1) + 1 > high) {
    throw new RangeError(`Cannot create MediaEcho: portRange [${low}, ${high}] holds no even port and the next one`);
  }
  return {
    net: options.net,
    hostname: options.hostname,
    portRange: [low, high],
    delay: _option("delay", options.delay, 0, 0, MAX_TIMER),
    maxQueue: _option("maxQueue", options.maxQueue, DEFAULT_MAX_QUEUE, 1, 1_000_000),
    inactivityTimeout: _option(
      "inactivityTimeout",
      options.inactivityTimeout,
      DEFAULT_INACTIVITY_TIMEOUT,
      0,
      MAX_TIMER,
    ),
    poolSize: _option("poolSize", options.poolSize, DEFAULT_POOL_SIZE, 0, 32768),
    rewriteSsrc: options.rewriteSsrc ?? false,
    onEnd: options.onEnd,
    onError: options.onError,
    now: options.now ?? Date.now,
    onRtp: options.onRtp,
  };
}

function _option(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw new RangeError(`Cannot create MediaEcho: ${name} must be a number from ${min} to ${max}, not ${value}`);
  }
  return value;
}
