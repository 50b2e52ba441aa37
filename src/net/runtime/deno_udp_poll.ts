/**
 * UDP for Deno on Linux through the C library (Deno's FFI): every polled socket of the process
 * is watched by one reactor (one epoll instance), read in batches on a timer tick while
 * datagrams come, and written with one direct `sendto()` per datagram.
 *
 * Why: each `Deno.listenDatagram` receive and send is an asynchronous operation with a promise
 * and a wake-up of its own, and that costs more CPU than the rest of a call; and each of its
 * sockets holds a receive pending in the runtime, with its buffer (about 64 KiB of memory a
 * socket, 139 KiB per RTP stream of two sockets). Read in batches and sent synchronously, a SIP
 * load costs a half to a third of the CPU (`bench/wire_bench.py`), for at most one timer tick
 * (about 2 ms on Deno) of added latency on a datagram's way in; and a socket costs its
 * descriptor and a few small objects, whatever the number of sockets: one receive buffer and
 * one waiting thread serve them all.
 *
 * The reactor is in `deno_reactor.ts`; the C library's symbols, errno and the sockaddr
 * conversions in `deno_libc.ts`. This file holds the socket: its binding, its sends, and the
 * datagrams the reactor hands it.
 *
 * Used for the SIP listeners of `serve()` and the RTP echo's sockets (`ListenOptions.poll`). It
 * is only taken where it can work: Linux, a little-endian CPU, FFI allowed (`--allow-ffi`, part
 * of `-A`), a numeric address to bind. Anywhere else {@linkcode listenPolledDatagram} returns
 * undefined and the shim uses `Deno.listenDatagram`.
 *
 * @module
 */

import type { DatagramEndpoint, ListenOptions, SocketAddress } from "../transport.ts";
import { parseIpv4 } from "../../sip/ip.ts";
import {
  _AF_INET,
  _AF_INET6,
  _EINTR,
  _errno,
  _fromSockaddr,
  type _Libc,
  _libc,
  _size,
  _sockaddr,
  _socketError,
} from "./deno_libc.ts";
import { _Reactor, _reactor, type _ReactorSocket } from "./deno_reactor.ts";

export { _reactorState } from "./deno_reactor.ts";

// Linux constants (the same on x86_64 and aarch64).
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_REUSEPORT = 15;
const ONE = new Int32Array([1]);
/**
 * The receive buffer asked for, bytes: datagrams wait in it between two looks (a timer tick, or
 * while the main thread is busy), and the system default (208 KiB) holds only 256 small ones. The
 * system caps it at net.core.rmem_max (and doubles it for its bookkeeping). It is a limit, not
 * memory taken: a socket uses what waits in it.
 */
const RECEIVE_BUFFER = 1 << 20;
const RECEIVE_BUFFER_ARG = new Int32Array([RECEIVE_BUFFER]);
/** getsockname(2)'s answer, read at once into the socket's `local`. */
const BOUND = new Uint8Array(28);
const BOUND_LENGTH = new Uint32Array(1);

/** The most datagrams one sendmmsg(2) takes, and the bytes they may have together. */
const _BATCH = 32;
const _BATCH_DATA = 60000;
/** The bytes of a struct mmsghdr and of a struct iovec on a 64-bit Linux; a sockaddr's place. */
const MMSGHDR = 64;
const IOVEC = 16;
const NAME = 32;

/**
 * The one buffer behind every sendmmsg(2) of the process: the struct mmsghdr array, the iovecs,
 * the sockaddrs and the datagrams' bytes, in an ArrayBuffer (which never moves), so that of the
 * pointers in the headers only each datagram's place is written per send.
 */
class _Batch {
  readonly bytes: Uint8Array;
  readonly data: Uint8Array;
  readonly #view: DataView;
  readonly #base: number;
  readonly #dataAt: number;
  readonly #namesAt: number;

  constructor() {
    const iovAt = _BATCH * MMSGHDR;
    this.#namesAt = iovAt + _BATCH * IOVEC;
    this.#dataAt = this.#namesAt + _BATCH * NAME;
    this.bytes = new Uint8Array(this.#dataAt + _BATCH_DATA);
    this.data = this.bytes.subarray(this.#dataAt);
    this.#view = new DataView(this.bytes.buffer);
    // A user-space address fits in 47 bits: a double holds it exactly.
    this.#base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.bytes)));
    for (let i = 0; i < _BATCH; i++) {
      const m = i * MMSGHDR;
      this.#pointer(m, this.#base + this.#namesAt + i * NAME); // msg_name
      this.#pointer(m + 16, this.#base + iovAt + i * IOVEC); // msg_iov
      this.#view.setUint32(m + 24, 1, true); // msg_iovlen
    }
  }

  /** Message `i`: `length` bytes at `offset` of `data`, to `sa`. */
  setMessage(i: number, offset: number, length: number, sa: Uint8Array): void {
    this.bytes.set(sa, this.#namesAt + i * NAME);
    this.#view.setUint32(i * MMSGHDR + 8, sa.length, true); // msg_namelen
    const iov = _BATCH * MMSGHDR + i * IOVEC;
    this.#pointer(iov, this.#base + this.#dataAt + offset); // iov_base
    this.#view.setUint32(iov + 8, length, true); // iov_len
  }

  /** The header array from message `i` on. */
  messagesAt(i: number): Uint8Array {
    return i === 0 ? this.bytes : this.bytes.subarray(i * MMSGHDR);
  }

  #pointer(at: number, value: number): void {
    this.#view.setUint32(at, value % 0x100000000, true);
    this.#view.setUint32(at + 4, Math.floor(value / 0x100000000), true);
  }
}

let batch: _Batch | undefined;
function _batch(): _Batch {
  return batch ??= new _Batch();
}

/** The address of a sockaddr, for an error message. */
function _addressOf(sa: Uint8Array): string {
  return _fromSockaddr(sa).address;
}

/** A polled UDP socket: its descriptor in the reactor, the endpoint handed to the shim's caller. */
class _PolledSocket implements DatagramEndpoint, _ReactorSocket {
  readonly local: SocketAddress;
  readonly fd: number;
  /** The longest datagram taken; longer ones are dropped. */
  readonly max: number;
  closed = false;
  #c: _Libc;
  #reactor: _Reactor;
  #id = 0;
  #v6: boolean;
  #onData: (data: Uint8Array, from: SocketAddress) => void;
  #onError: (error: unknown) => void;
  /** The sockaddr of the last datagram's source, and that source as text: a flow comes from one address. */
  #lastFrom: Uint8Array | undefined;
  #lastFromLength = 0;
  #lastSource: SocketAddress | undefined;
  /** The last destination and its sockaddr (or why it cannot be sent to): an echo answers one address. */
  #toAddress = "";
  #toPort = -1;
  #to: Uint8Array | string = "";
  /** Other destinations by "address|port", bounded, made with the second one. */
  #destinations: Map<string, Uint8Array | string> | undefined;
  #released: Promise<void> | undefined;
  /** The datagrams held back while the reactor reads, and their sockaddrs. */
  #held: Uint8Array[] = [];
  #heldTo: Uint8Array[] = [];

  constructor(
    c: _Libc,
    r: _Reactor,
    fd: number,
    bound: Uint8Array,
    max: number,
    onData: (data: Uint8Array, from: SocketAddress) => void,
    onError: (error: unknown) => void,
  ) {
    this.#c = c;
    this.#reactor = r;
    this.fd = fd;
    this.local = _fromSockaddr(bound);
    this.#v6 = bound[0] === _AF_INET6;
    this.max = max;
    this.#onData = onData;
    this.#onError = onError;
    this.#id = r.add(this, fd);
  }

  /** A datagram read by the reactor; `from` is its source's sockaddr, `length` long. */
  deliver(data: Uint8Array, from: Uint8Array, length: number): void {
    const last = this.#lastFrom;
    let same = last !== undefined && length === this.#lastFromLength;
    for (let i = 0; same && i < length; i++) same = from[i] === last![i];
    if (!same) {
      (this.#lastFrom ??= new Uint8Array(28)).set(from.subarray(0, length));
      this.#lastFromLength = length;
      this.#lastSource = _fromSockaddr(from);
    }
    try {
      this.#onData(data, this.#lastSource!);
    } catch (e) {
      this.#onError(e);
    }
  }

  failed(error: unknown): void {
    this.#onError(error);
  }

  send(data: Uint8Array, to: SocketAddress): void {
    if (this.closed) return;
    if (to.port !== this.#toPort || to.address !== this.#toAddress) {
      this.#to = this.#destination(to);
      this.#toAddress = to.address;
      this.#toPort = to.port;
    }
    const sa = this.#to;
    if (typeof sa === "string") return this.#onError(new Error(sa));
    if (this.#reactor.reading && data.length <= _BATCH_DATA) {
      if (this.#held.length === 0) this.#reactor.hold(this);
      this.#held.push(data);
      this.#heldTo.push(sa);
      return;
    }
    this.#sendNow(data, sa);
  }

  #sendNow(data: Uint8Array, sa: Uint8Array): void {
    for (;;) {
      const n = Number(this.#c.sendto(this.fd, data, _size(data.length), 0, sa, sa.length));
      if (n >= 0) return;
      const code = _errno(this.#c);
      if (code === _EINTR) continue;
      // EAGAIN: the send buffer is full; the datagram is lost, as on the network.
      this.#onError(_socketError(`udp send to ${_addressOf(sa)}`, code));
      return;
    }
  }

  /** Sends the datagrams held back, in order: up to _BATCH of them per sendmmsg(2). */
  flush(): void {
    const data = this.#held;
    const to = this.#heldTo;
    this.#held = [];
    this.#heldTo = [];
    if (this.closed) return;
    if (data.length === 1) return this.#sendNow(data[0], to[0]);
    const batch = _batch();
    let i = 0;
    while (i < data.length) {
      // Fill the batch: as many datagrams as fit, each in its place of the one buffer.
      let n = 0;
      let offset = 0;
      while (i + n < data.length && n < _BATCH && offset + data[i + n].length <= _BATCH_DATA) {
        const d = data[i + n];
        batch.data.set(d, offset);
        batch.setMessage(n, offset, d.length, to[i + n]);
        offset += d.length;
        n++;
      }
      let sent = 0;
      while (sent < n) {
        const r = this.#c.sendmmsg(this.fd, batch.messagesAt(sent), n - sent, 0);
        if (r > 0) {
          sent += r;
          continue;
        }
        const code = _errno(this.#c);
        if (r < 0 && code === _EINTR) continue;
        // The first datagram left failed (EAGAIN: lost, as on the network); the others go on.
        this.#onError(_socketError(`udp send to ${_addressOf(to[i + sent])}`, code));
        sent++;
      }
      i += n;
    }
  }

  /** The sockaddr to send to, or why there is none: sipecho never resolves a host name. */
  #destination(to: SocketAddress): Uint8Array | string {
    const key = `${to.address}|${to.port}`;
    let sa = this.#destinations?.get(key);
    if (sa !== undefined) return sa;
    // An IPv4 destination from an IPv6 socket: its IPv4-mapped address (RFC 4291 §2.5.5.2).
    const address = this.#v6 && parseIpv4(to.address) !== undefined ? `::ffff:${to.address}` : to.address;
    const bytes = _sockaddr(address, to.port);
    sa = bytes === undefined
      ? `udp send: not an IP address: ${to.address}`
      : (bytes[0] === _AF_INET6) !== this.#v6
      ? `udp send: cannot reach ${to.address} from an IPv4 socket`
      : bytes;
    // The first destination is the last one; a second starts the cache, with the first in it.
    if (this.#toPort !== -1) {
      if (this.#destinations === undefined) {
        this.#destinations = new Map([[`${this.#toAddress}|${this.#toPort}`, this.#to]]);
      } else if (this.#destinations.size >= 1024) {
        this.#destinations.clear();
      }
      this.#destinations.set(key, sa);
    }
    return sa;
  }

  close(): Promise<void> | undefined {
    if (this.closed) return this.#released;
    this.closed = true;
    this.#released = this.#reactor.remove(this.#id, this.fd);
    return this.#released;
  }
}

/**
 * Binds a UDP socket read by the reactor, or returns undefined where this path cannot be used
 * (then the caller binds the runtime's own socket).
 *
 * @param options Where to bind; `maxDatagram` as for the other shims.
 * @param onData Called with each datagram (a copy) and its source.
 * @param onError Called with send errors (a destination that is not an IP address, too) and a
 *   failed read; never thrown.
 * @returns The endpoint, or undefined. Its `close()` returns a promise when the reactor's
 *   waiting thread has to come back first (the last socket closed): it settles then.
 * @throws {Error} With `code` `EADDRINUSE` (or another errno name) when the bind fails.
 * @example
 * ```ts ignore
 * const endpoint = listenPolledDatagram({ hostname: "127.0.0.1", port: 0 }, (data, from) => {}, console.error);
 * ```
 */
export function listenPolledDatagram(
  options: ListenOptions,
  onData: (data: Uint8Array, from: SocketAddress) => void,
  onError: (error: unknown) => void,
): DatagramEndpoint | undefined {
  const c = _libc();
  if (c === null) return undefined;
  const local = _sockaddr(options.hostname, options.port);
  if (local === undefined) return undefined;
  const v6 = local[0] === _AF_INET6;
  const fd = c.socket(v6 ? _AF_INET6 : _AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  // Best effort: a smaller buffer only means drops under a burst, as on any busy UDP socket.
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, RECEIVE_BUFFER_ARG, 4);
  // Other sockets may bind the port too; the system spreads sources over them.
  if (options.reusePort && c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, ONE, 4) !== 0) {
    const code = _errno(c);
    c.close(fd);
    throw _socketError(`cannot share udp ${options.hostname}:${options.port} (SO_REUSEPORT)`, code);
  }
  // A wildcard [::] takes IPv4 too (the system's default, as with Deno.listenDatagram): the
  // sources of those datagrams read ::ffff:a.b.c.d.
  if (c.bind(fd, local, local.length) !== 0) {
    const code = _errno(c);
    c.close(fd);
    throw _socketError(`cannot bind udp ${options.hostname}:${options.port}`, code);
  }
  // The port the system picked for port 0; the address as the system writes it.
  const bound = BOUND;
  BOUND_LENGTH[0] = 28;
  c.getsockname(fd, bound, BOUND_LENGTH);
  const max = options.maxDatagram !== undefined && options.maxDatagram >= 1 && options.maxDatagram < 65535
    ? Math.floor(options.maxDatagram)
    : 65535;
  const r = _reactor(c);
  if (r === undefined) {
    c.close(fd);
    return undefined;
  }
  try {
    return new _PolledSocket(c, r, fd, bound, max, onData, onError);
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

/** @internal The address conversions, for tests. */
export const _addresses = { sockaddr: _sockaddr, fromSockaddr: _fromSockaddr };
