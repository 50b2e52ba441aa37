/**
 * The UDP sockets of the streams: binding them (again after a short wait if the port is held,
 * from the pool when their pair waits there bound, on another pair if need be), closing them or
 * putting them into the pool, and keeping what is in flight so that shutting down can wait
 * for it.
 *
 * @module
 */

import type { DatagramEndpoint } from "../net/transport.ts";
import { _adopt, type _Pair, type _Slot, type _Socket, type _Stream } from "./call_state.ts";
import type { _EchoSettings } from "./echo_options.ts";
import { _dropHeld, _receive } from "./echo_stream.ts";
import { _PortPool } from "./port_pool.ts";

// A closed socket's port may stay bound a moment (Deno.listenDatagram, where Deno cannot poll,
// frees it once its pending receive is cancelled, on a later turn of the event loop), or another
// program holds it for a moment: a bind is tried again after these waits.
const BIND_RETRY_DELAYS = [2, 4, 8, 16, 32];
// RFC 8085 §3.2: a UDP application keeps its datagrams within the path MTU; with jumbo Ethernet
// frames (9000 bytes) a datagram carries at most 8972 bytes. Longer ones are not taken (where Deno
// reads a socket with Deno.listenDatagram, its receive buffer is this size instead of 64 KiB).
const MAX_PACKET = 9000;
// How many other pairs open() tries when a pair cannot be bound (another program holds it).
const OTHER_PAIRS = 3;

/**
 * The sockets of a `MediaEcho`'s streams, with the port pairs they are bound on
 * ({@linkcode _MediaSockets.pool}). Datagrams that arrive go to the echo of their stream
 * (`echo_stream.ts`); socket errors to `onError`.
 */
export class _MediaSockets {
  /** The port pairs: free, and bound between calls. */
  readonly pool: _PortPool<_Pair>;
  #settings: _EchoSettings;
  /** Binds and closes in flight, for settle(). */
  #pending = new Set<Promise<unknown>>();

  /**
   * Makes the sockets of an echo, none bound yet.
   *
   * @param settings The echo's settings: the socket shim, address, port range, pool size, and
   *   what the echo of a datagram needs.
   */
  constructor(settings: _EchoSettings) {
    this.#settings = settings;
    this.pool = new _PortPool<_Pair>(settings.portRange, settings.poolSize, (pair) => {
      this.#closeEndpoint(pair.rtp.endpoint);
      if (pair.rtcp !== undefined) this.#closeEndpoint(pair.rtcp.endpoint);
    });
  }

  /**
   * Binds a stream's sockets, or takes them from the pool when its pair waits there (then at
   * once); resolves with `undefined`, or the error (and nothing stays bound).
   *
   * @param stream A stream whose pair was just taken from {@linkcode _MediaSockets.pool}.
   * @returns `undefined` once bound, or the error that stopped it.
   */
  bind(stream: _Stream): Promise<unknown> {
    const pooled = this.pool.takeBound(stream.port);
    if (pooled !== undefined) {
      const [rtp, rtcp] = stream.sockets;
      _adopt(rtp, pooled.rtp);
      if (rtcp !== undefined && pooled.rtcp !== undefined) _adopt(rtcp, pooled.rtcp);
      // RFC 5761 §5.1.1: a multiplexed stream leaves the odd port unbound.
      else if (pooled.rtcp !== undefined) this.#closeEndpoint(pooled.rtcp.endpoint);
      if (rtcp === undefined || rtcp.endpoint !== undefined) return Promise.resolve(undefined);
    }
    stream.binding++;
    const done = (async () => {
      const unbound = stream.sockets.filter((s) => s.endpoint === undefined);
      const results = await Promise.allSettled(unbound.map((s) => this.#bindSocket(stream, s)));
      const failed = results.find((r) => r.status === "rejected");
      if (failed === undefined) return undefined;
      for (const socket of stream.sockets) {
        if (socket.endpoint !== undefined) this.#closeEndpoint(socket.endpoint);
        socket.endpoint = undefined;
        socket.slot = undefined;
      }
      return (failed as PromiseRejectedResult).reason ?? new Error("bind failed");
    })().finally(() => {
      stream.binding--;
      this.#pending.delete(done);
      if (stream.closed) this.#release(stream);
    });
    this.#pending.add(done);
    return done;
  }

  /**
   * Binds a new stream like {@linkcode _MediaSockets.bind}, on another free pair (up to 3) if
   * its pair cannot be bound: for `MediaEcho.open()`, which answers only once bound.
   *
   * @param stream A stream whose pair was just taken from {@linkcode _MediaSockets.pool}.
   * @returns `undefined` once bound, or the last error.
   */
  async bindElsewhere(stream: _Stream): Promise<unknown> {
    let error = await this.bind(stream);
    for (let tries = 0; error !== undefined && !stream.closed && tries < OTHER_PAIRS; tries++) {
      const port = this.pool.take();
      if (port === undefined) break;
      // The taken pair goes to the end of the free list: tried last by later calls.
      this.pool.release(stream.port);
      stream.port = port;
      for (const socket of stream.sockets) socket.port = socket.rtcp ? port + 1 : port;
      error = await this.bind(stream);
    }
    return error;
  }

  /**
   * Ends a stream: drops what the delay holds, and closes its sockets, or with `pool` puts the
   * pair into the pool when it is fully bound and the pool has room. The pair is free again once
   * no bind of it is in flight.
   *
   * @param stream The stream.
   * @param pool Whether its sockets may stay bound for a next call.
   */
  close(stream: _Stream, pool = false): void {
    if (stream.closed) return;
    stream.closed = true;
    const [rtp, rtcp] = stream.sockets;
    const keep = pool && stream.binding === 0 && this.pool.hasRoom &&
      stream.sockets.every((s) => s.endpoint !== undefined && s.slot !== undefined);
    const pair: _Pair | undefined = keep
      ? {
        rtp: { endpoint: rtp.endpoint!, slot: rtp.slot! },
        rtcp: rtcp && { endpoint: rtcp.endpoint!, slot: rtcp.slot! },
      }
      : undefined;
    for (const socket of stream.sockets) {
      _dropHeld(socket);
      if (socket.slot !== undefined) socket.slot.owner = undefined;
      if (!keep && socket.endpoint !== undefined) this.#closeEndpoint(socket.endpoint);
      socket.endpoint = undefined;
      socket.slot = undefined;
    }
    this.#release(stream, pair);
  }

  /** Closes the pooled pairs and resolves once no bind or close is in flight. */
  async settle(): Promise<void> {
    this.pool.closeBound();
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #bindSocket(stream: _Stream, socket: _Socket): Promise<void> {
    const settings = this.#settings;
    // The shims may hand over a datagram before listenDatagram() resolves: the slot has its
    // owner from the start (the echo of such a datagram is dropped: no endpoint to send it yet).
    const slot: _Slot = { owner: socket };
    for (let attempt = 0;; attempt++) {
      if (stream.closed) return;
      try {
        const endpoint = await settings.net.listenDatagram(
          { hostname: settings.hostname, port: socket.port, maxDatagram: MAX_PACKET, poll: true },
          (data, from) => {
            const owner = slot.owner;
            if (owner !== undefined) _receive(settings, owner, data, from);
          },
          (error) => {
            // An error of a pair waiting in the pool (an ICMP error for an earlier call's echo) is nobody's.
            const owner = slot.owner;
            if (owner !== undefined) settings.onError?.(error, owner.stream.call.callId);
          },
        );
        if (stream.closed) {
          this.#closeEndpoint(endpoint);
        } else {
          socket.endpoint = endpoint;
          socket.slot = slot;
        }
        return;
      } catch (e) {
        if (attempt >= BIND_RETRY_DELAYS.length) throw e;
        await new Promise((resolve) => setTimeout(resolve, BIND_RETRY_DELAYS[attempt]));
      }
    }
  }

  /** Gives a closed stream's pair back, once no bind of it is in flight; `pair`: still bound. */
  #release(stream: _Stream, pair?: _Pair): void {
    if (stream.released || stream.binding > 0) return;
    stream.released = true;
    this.pool.release(stream.port, pair);
  }

  /**
   * Closes a socket; a close that returns a promise (the shim lets go of something on another
   * thread: the Deno reactor's wait, when the last polled socket goes) is awaited by settle().
   */
  #closeEndpoint(endpoint: DatagramEndpoint): void {
    const closing = endpoint.close();
    if (closing === undefined) return;
    const done: Promise<unknown> = closing.then(() => {}, () => {}).finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }
}
