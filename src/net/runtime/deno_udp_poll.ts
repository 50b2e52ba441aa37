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
 * The reactor: while datagrams come, one timer tick asks `epoll_wait()` without waiting which
 * sockets have something and reads each in turn, a fair share of a batch each; after a few
 * empty looks, one `epoll_wait()` run off the main thread (a `nonblocking` FFI call, on Deno's
 * blocking pool) waits for the next datagram on any socket, so an idle process costs nothing
 * and the first datagram after a quiet spell is read as soon as it comes. When the last socket
 * closes, the reactor ends: its wait is woken, its descriptors closed, and a process with
 * nothing else to do exits.
 *
 * Used for the SIP listeners of `serve()` and the RTP echo's sockets (`ListenOptions.poll`). It
 * is only taken where it can work: Linux, a little-endian CPU, FFI allowed (`--allow-ffi`, part
 * of `-A`), a numeric address to bind. Anywhere else {@linkcode listenPolledDatagram} returns
 * undefined and the shim uses `Deno.listenDatagram`.
 *
 * @module
 */

import type { DatagramEndpoint, ListenOptions, SocketAddress } from "../transport.ts";
import { formatIpv6, parseIpv4, parseIpv6 } from "../../sip/ip.ts";

// Linux constants (the same on x86_64 and aarch64).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLLIN = 1;
const SO_RCVBUF = 8;
/**
 * The receive buffer asked for, bytes: datagrams wait in it between two looks (a timer tick, or
 * while the main thread is busy), and the system default (208 KiB) holds only 256 small ones. The
 * system caps it at net.core.rmem_max (and doubles it for its bookkeeping). It is a limit, not
 * memory taken: a socket uses what waits in it.
 */
const RECEIVE_BUFFER = 1 << 20;
const EINTR = 4;
const EAGAIN = 11;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const EACCES = 13;

/**
 * How often the sockets are looked at while datagrams come, ms: every timer tick (which Deno's
 * timers make about 2 ms).
 */
const POLL_INTERVAL = 1;
/**
 * Empty looks in a row after which the reactor leaves the sockets to a waiting `epoll_wait()`
 * until the next datagram (about 10 ms of quiet): a look on a timer costs less than a wake-up
 * from another thread while datagrams keep coming, and nothing at all is better when none come.
 */
const IDLE_POLLS = 5;
/**
 * Datagrams read in one look, in all, before the event loop gets a turn (timers, the sends the
 * datagrams caused), and at most from one socket: a flooded socket must not hold back the
 * others (each ready socket gets an equal share, at least one datagram).
 */
const BATCH = 1024;
const SOCKET_BATCH = 64;
/** Ready sockets taken from one `epoll_wait()`; with more, the kernel reports the others next. */
const MAX_EVENTS = 1024;
/**
 * How long a look may go round while sockets have more than their share, ms: then timers and
 * the other work of the event loop get their turn.
 */
const LOOK_TIME = 8;
/**
 * The waiting `epoll_wait()` ends after this long anyway, ms, and starts again: an idle
 * process looks once a second.
 */
const WAIT = 1000;
/**
 * The receive buffer of every polled socket, bytes: each datagram is copied out at its own
 * size before the next read. A UDP datagram holds at most 65,507 bytes over IPv4 and 65,527
 * over IPv6 (RFC 768, RFC 8200 §5 without jumbograms), so none is ever cut short.
 */
const RECEIVE_SIZE = 65536;
/** The data word of the eventfd in the epoll set; sockets are numbered from 1. */
const WAKE_ID = 0;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvfrom: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"], result: "isize" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  // The same function run on a thread of Deno's blocking pool; the promise settles when it returns.
  epoll_wait_blocking: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | null | undefined;

/** The C library, opened once; null where this path cannot be used. */
function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  try {
    const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (Deno.build.os !== "linux" || !littleEndian || typeof Deno.dlopen !== "function") return null;
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch {
    libc = null;
  }
  return libc;
}

/**
 * A size_t argument. Deno accepts a number too, but its optimised fast call for a 64-bit
 * argument takes a bigint: a number there throws the compiled caller away ("not a BigInt") and
 * it is compiled again, over and over.
 */
function size(n: number): bigint {
  return BigInt(n);
}

function errno(c: Libc): number {
  const where = c.__errno_location();
  return where === null ? 0 : new Deno.UnsafePointerView(where).getInt32();
}

/** An Error with the errno name as `code`, as the runtimes' own socket errors have. */
function socketError(what: string, code: number): Error & { code: string } {
  const name = code === EADDRINUSE
    ? "EADDRINUSE"
    : code === EADDRNOTAVAIL
    ? "EADDRNOTAVAIL"
    : code === EACCES
    ? "EACCES"
    : `errno ${code}`;
  return Object.assign(new Error(`${what}: ${name}`), { code: name });
}

// ---- addresses: text <-> sockaddr_in / sockaddr_in6 (family in host order, port in network order)

/** The sockaddr for an IP address and port, or undefined for a name. */
function sockaddr(address: string, port: number): Uint8Array | undefined {
  const v4 = parseIpv4(address);
  const v6 = v4 === undefined ? parseIpv6(address) : undefined;
  if (v4 === undefined && v6 === undefined) return undefined;
  // sockaddr_in: family, port, 4 octets, 8 zeros; sockaddr_in6: family, port, flowinfo, 16 octets, scope.
  const sa = new Uint8Array(v4 !== undefined ? 16 : 28);
  sa[0] = v4 !== undefined ? AF_INET : AF_INET6;
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  if (v4 !== undefined) sa.set(v4, 4);
  else {
    for (let i = 0; i < 8; i++) {
      sa[8 + 2 * i] = v6![i] >> 8;
      sa[9 + 2 * i] = v6![i] & 0xff;
    }
  }
  return sa;
}

/** The address and port in a sockaddr. */
function fromSockaddr(sa: Uint8Array): SocketAddress {
  const port = sa[2] << 8 | sa[3];
  if (sa[0] === AF_INET) return { address: `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}`, port };
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(sa[8 + 2 * i] << 8 | sa[9 + 2 * i]);
  return { address: formatIpv6(groups), port };
}

// ---- the reactor: one epoll instance for every polled socket of the process

/** What every socket shares, made once: the receive buffer, the source address, the events. */
interface Shared {
  buffer: Uint8Array;
  from: Uint8Array;
  fromLength: Uint32Array;
  /** epoll_wait(2)'s array of struct epoll_event. */
  events: Uint8Array;
  eventView: DataView;
  /** The bytes of one struct epoll_event, and where its data word is (see eventLayout()). */
  eventSize: number;
  dataOffset: number;
}
let shared: Shared | undefined;

/**
 * <sys/epoll.h> packs `struct epoll_event { uint32_t events; epoll_data_t data; }` on x86_64
 * (12 bytes, the data word at offset 4); elsewhere it is aligned as C aligns it (16 bytes, at 8).
 */
function eventLayout(): { eventSize: number; dataOffset: number } {
  return Deno.build.arch === "x86_64" ? { eventSize: 12, dataOffset: 4 } : { eventSize: 16, dataOffset: 8 };
}

function makeShared(): Shared {
  const { eventSize, dataOffset } = eventLayout();
  // In ArrayBuffers, which never move: the waiting epoll_wait() writes into `events` from another thread.
  const events = new Uint8Array(MAX_EVENTS * eventSize);
  return {
    buffer: new Uint8Array(RECEIVE_SIZE),
    from: new Uint8Array(28),
    fromLength: new Uint32Array(1),
    events,
    eventView: new DataView(events.buffer),
    eventSize,
    dataOffset,
  };
}

const RECEIVE_SIZE_ARG = size(RECEIVE_SIZE);
const RECEIVE_BUFFER_ARG = new Int32Array([RECEIVE_BUFFER]);
/** getsockname(2)'s answer, read at once into the socket's `local`. */
const BOUND = new Uint8Array(28);
const BOUND_LENGTH = new Uint32Array(1);
const EIGHT = size(8);
/** An eventfd(2) is written and read 8 bytes at a time: a count added, the whole count taken. */
const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const COUNT = new Uint8Array(8);

/** The reactor of the process while it has sockets, or until its last wait has ended. */
let reactor: Reactor | undefined;

/**
 * One epoll instance (epoll(7)) watching every polled socket for input, level-triggered: a
 * socket left with datagrams after its share of a look is reported again at the next look.
 * Each socket's data word is its number, never its descriptor: a descriptor closed and reused
 * while a wait ran must not take an event reported for the old socket.
 */
class Reactor {
  #c: Libc;
  #shared: Shared;
  #epoll: number;
  /** eventfd(2) in the epoll set: written to end the waiting epoll_wait() when the last socket goes. */
  #wake: number;
  /** One struct epoll_event for epoll_ctl(). */
  #control: DataView;
  #controlBytes: Uint8Array;
  #sockets = new Map<number, PolledSocket>();
  #nextId = WAKE_ID + 1;
  #started = false;
  #ended = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The waiting epoll_wait() on Deno's blocking pool, until it has returned and been handled. */
  #waiting: Promise<void> | undefined;
  #emptyPolls = 0;
  /** Whether the last look left a socket with datagrams past its share. */
  #full = false;

  private constructor(c: Libc, shared: Shared, epoll: number, wake: number) {
    this.#c = c;
    this.#shared = shared;
    this.#epoll = epoll;
    this.#wake = wake;
    this.#control = new DataView(new ArrayBuffer(16));
    this.#controlBytes = new Uint8Array(this.#control.buffer);
  }

  /** The reactor, made with its epoll instance and eventfd, or undefined if the system refuses them. */
  static open(c: Libc): Reactor | undefined {
    const epoll = c.epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) return undefined;
    const wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) {
      c.close(epoll);
      return undefined;
    }
    const r = new Reactor(c, shared ??= makeShared(), epoll, wake);
    if (r.#watch(wake, WAKE_ID) !== 0) {
      c.close(wake);
      c.close(epoll);
      return undefined;
    }
    return r;
  }

  /** epoll_ctl(2) EPOLL_CTL_ADD for input; returns 0 or the errno. */
  #watch(fd: number, id: number): number {
    this.#control.setUint32(0, EPOLLIN, true);
    this.#control.setUint32(this.#shared.dataOffset, id, true);
    this.#control.setUint32(this.#shared.dataOffset + 4, 0, true);
    return this.#c.epoll_ctl(this.#epoll, EPOLL_CTL_ADD, fd, this.#controlBytes) === 0 ? 0 : errno(this.#c);
  }

  /** Watches a bound socket's descriptor; returns its number, or throws (the caller closes it). */
  add(socket: PolledSocket, fd: number): number {
    while (this.#sockets.has(this.#nextId) || this.#nextId === WAKE_ID) {
      this.#nextId = (this.#nextId + 1) >>> 0;
    }
    const id = this.#nextId;
    this.#nextId = (id + 1) >>> 0;
    const code = this.#watch(fd, id);
    if (code !== 0) {
      // A reactor made for this socket ends with it (one already started ends by itself).
      if (this.#sockets.size === 0 && !this.#started) this.#close();
      throw socketError("cannot watch udp socket", code);
    }
    this.#sockets.set(id, socket);
    // The first socket: wait for its first datagram (no timer runs before one comes). Later
    // ones need nothing: epoll_wait(2) notes that a descriptor added while another thread waits
    // wakes that wait when it becomes ready.
    if (!this.#started) {
      this.#started = true;
      this.#wait();
    }
    return id;
  }

  /**
   * Stops watching a socket and closes its descriptor: epoll_ctl(2) EPOLL_CTL_DEL first, so no
   * wait holds it, then close(2). With the last socket the reactor ends: the promise settles
   * once its waiting thread has returned and its descriptors are closed.
   */
  remove(id: number, fd: number): Promise<void> | undefined {
    this.#sockets.delete(id);
    this.#c.epoll_ctl(this.#epoll, EPOLL_CTL_DEL, fd, this.#controlBytes);
    this.#c.close(fd);
    if (this.#sockets.size > 0 || this.#ended) return undefined;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#waiting === undefined) {
      this.#close();
      return undefined;
    }
    // The wait ends at once; if a new socket came meanwhile, the reactor goes on with it.
    this.#c.write(this.#wake, ONE, EIGHT);
    return this.#waiting;
  }

  /** For tests: `waiting` in epoll_wait() off the main thread, else `looking` on the timer. */
  get state(): "looking" | "waiting" {
    return this.#waiting !== undefined ? "waiting" : "looking";
  }

  #close(): void {
    this.#ended = true;
    this.#c.close(this.#wake);
    this.#c.close(this.#epoll);
    if (reactor === this) reactor = undefined;
  }

  /**
   * A look on the timer: epoll_wait(2) with a timeout of 0 returns at once with what is ready,
   * and each ready socket is read for its share. While some socket had more than its share, the
   * look goes round again, for up to LOOK_TIME: a timer tick (about 2 ms on Deno, even at 0)
   * between rounds would cap what a flooded socket can drain at a share a tick, and the kernel
   * would drop the rest, other sources' datagrams among them.
   */
  #look = (): void => {
    this.#timer = undefined;
    const start = performance.now();
    let taken = 0;
    for (;;) {
      this.#full = false;
      const ready = this.#c.epoll_wait(this.#epoll, this.#shared.events, MAX_EVENTS, 0);
      // -1: EINTR (a signal), the only error a valid epoll instance gives; nothing this time.
      taken += ready > 0 ? this.#serve(ready) : 0;
      if (!this.#full || this.#ended || performance.now() - start >= LOOK_TIME) break;
    }
    this.#next(taken);
  };

  /** After a look: the next one on the timer, or the wait when the sockets have been quiet. */
  #next(taken: number): void {
    if (this.#ended) return;
    this.#emptyPolls = taken === 0 ? this.#emptyPolls + 1 : 0;
    if (this.#emptyPolls < IDLE_POLLS) this.#timer = setTimeout(this.#look, this.#full ? 0 : POLL_INTERVAL);
    else this.#wait();
  }

  /**
   * Waits off the main thread until a socket has something (or the eventfd is written), then
   * reads what is ready. The wait ends after WAIT ms anyway and starts again.
   */
  #wait(): void {
    this.#emptyPolls = 0;
    const settled = (ready: number) => {
      this.#waiting = undefined;
      if (this.#ended) return;
      if (this.#sockets.size === 0) return this.#close();
      if (ready === 0) return this.#wait();
      // -1 (EINTR; its errno is the other thread's): looked at again on the timer.
      this.#full = false;
      this.#next(ready > 0 ? this.#serve(ready) : 0);
    };
    this.#waiting = this.#c.epoll_wait_blocking(this.#epoll, this.#shared.events, MAX_EVENTS, WAIT)
      .then(settled, () => settled(-1));
  }

  /**
   * Reads the ready sockets, each up to an equal share of the batch (at most SOCKET_BATCH,
   * at least 1), so that one flooded socket delays the others by its share only. Returns the
   * datagrams taken.
   */
  #serve(ready: number): number {
    const { eventView, eventSize, dataOffset } = this.#shared;
    const share = Math.min(SOCKET_BATCH, Math.max(1, Math.floor(BATCH / ready)));
    let taken = 0;
    for (let i = 0; i < ready && !this.#ended; i++) {
      const id = eventView.getUint32(i * eventSize + dataOffset, true);
      if (id === WAKE_ID) {
        this.#c.read(this.#wake, COUNT, EIGHT);
        continue;
      }
      // Undefined: closed since the wait reported it (a callback of an earlier socket closed it).
      const socket = this.#sockets.get(id);
      if (socket === undefined) continue;
      const n = this.#read(socket, share);
      taken += n;
      if (n === share) this.#full = true;
    }
    return taken;
  }

  /** Reads up to `limit` datagrams of one socket, each handed over as a copy of its own size. */
  #read(socket: PolledSocket, limit: number): number {
    const c = this.#c;
    const { buffer, from, fromLength } = this.#shared;
    let taken = 0;
    while (taken < limit && !socket.closed) {
      fromLength[0] = 28;
      // recvfrom(2) on a non-blocking socket: EAGAIN when nothing is left.
      const n = Number(c.recvfrom(socket.fd, buffer, RECEIVE_SIZE_ARG, 0, from, fromLength));
      if (n < 0) {
        const code = errno(c);
        if (code === EINTR) continue;
        if (code !== EAGAIN) socket.failed(socketError("udp receive", code));
        break;
      }
      taken++;
      if (n <= socket.max) socket.deliver(buffer.slice(0, n), from, fromLength[0]);
    }
    return taken;
  }
}

/** A polled UDP socket: its descriptor in the reactor, the endpoint handed to the shim's caller. */
class PolledSocket implements DatagramEndpoint {
  readonly local: SocketAddress;
  readonly fd: number;
  /** The longest datagram taken; longer ones are dropped. */
  readonly max: number;
  closed = false;
  #c: Libc;
  #reactor: Reactor;
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

  constructor(
    c: Libc,
    r: Reactor,
    fd: number,
    bound: Uint8Array,
    max: number,
    onData: (data: Uint8Array, from: SocketAddress) => void,
    onError: (error: unknown) => void,
  ) {
    this.#c = c;
    this.#reactor = r;
    this.fd = fd;
    this.local = fromSockaddr(bound);
    this.#v6 = bound[0] === AF_INET6;
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
      this.#lastSource = fromSockaddr(from);
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
    for (;;) {
      const n = Number(this.#c.sendto(this.fd, data, size(data.length), 0, sa, sa.length));
      if (n >= 0) return;
      const code = errno(this.#c);
      if (code === EINTR) continue;
      // EAGAIN: the send buffer is full; the datagram is lost, as on the network.
      this.#onError(socketError(`udp send to ${to.address}`, code));
      return;
    }
  }

  /** The sockaddr to send to, or why there is none: sipecho never resolves a host name. */
  #destination(to: SocketAddress): Uint8Array | string {
    const key = `${to.address}|${to.port}`;
    let sa = this.#destinations?.get(key);
    if (sa !== undefined) return sa;
    // An IPv4 destination from an IPv6 socket: its IPv4-mapped address (RFC 4291 §2.5.5.2).
    const address = this.#v6 && parseIpv4(to.address) !== undefined ? `::ffff:${to.address}` : to.address;
    const bytes = sockaddr(address, to.port);
    sa = bytes === undefined
      ? `udp send: not an IP address: ${to.address}`
      : (bytes[0] === AF_INET6) !== this.#v6
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
  const c = load();
  if (c === null) return undefined;
  const local = sockaddr(options.hostname, options.port);
  if (local === undefined) return undefined;
  const v6 = local[0] === AF_INET6;
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  // Best effort: a smaller buffer only means drops under a burst, as on any busy UDP socket.
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, RECEIVE_BUFFER_ARG, 4);
  // A wildcard [::] takes IPv4 too (the system's default, as with Deno.listenDatagram): the
  // sources of those datagrams read ::ffff:a.b.c.d.
  if (c.bind(fd, local, local.length) !== 0) {
    const code = errno(c);
    c.close(fd);
    throw socketError(`cannot bind udp ${options.hostname}:${options.port}`, code);
  }
  // The port the system picked for port 0; the address as the system writes it.
  const bound = BOUND;
  BOUND_LENGTH[0] = 28;
  c.getsockname(fd, bound, BOUND_LENGTH);
  const max = options.maxDatagram !== undefined && options.maxDatagram >= 1 && options.maxDatagram < 65535
    ? Math.floor(options.maxDatagram)
    : 65535;
  const r = reactor ??= Reactor.open(c);
  if (r === undefined) {
    c.close(fd);
    return undefined;
  }
  try {
    return new PolledSocket(c, r, fd, bound, max, onData, onError);
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

/** @internal The address conversions, for tests. */
export const _addresses = { sockaddr, fromSockaddr };

/**
 * @internal For tests: what the reactor does, `none` when there is none (no polled socket, and
 * the last one's wait has ended).
 */
export function _reactorState(): "none" | "looking" | "waiting" {
  return reactor?.state ?? "none";
}
