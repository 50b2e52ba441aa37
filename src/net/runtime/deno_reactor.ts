/**
 * The reactor of the polled UDP sockets: one epoll instance (epoll(7)) for every polled socket
 * of the process. While datagrams come, one timer tick asks `epoll_wait()` without waiting which
 * sockets have something and reads each in turn, a fair share of a batch each; after a few empty
 * looks, one `epoll_wait()` run off the main thread (a `nonblocking` FFI call, on Deno's blocking
 * pool) waits for the next datagram on any socket, so an idle process costs nothing and the first
 * datagram after a quiet spell is read as soon as it comes. When the last socket closes, the
 * reactor ends: its wait is woken, its descriptors closed, and a process with nothing else to do
 * exits.
 *
 * Only type-checked and run on Deno: on Bun the Deno shims are never imported.
 *
 * @module
 */

import { _EAGAIN, _EINTR, _errno, type _Libc, _size, _socketError } from "./deno_libc.ts";

// Linux constants (the same on x86_64 and aarch64).
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLLIN = 1;

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

/** What the reactor needs of a polled socket. */
export interface _ReactorSocket {
  /** Its descriptor. */
  readonly fd: number;
  /** The longest datagram it takes; longer ones are dropped. */
  readonly max: number;
  /** Closed: nothing more is read from it. */
  readonly closed: boolean;
  /** A datagram read; `from` is its source's sockaddr, `length` long. */
  deliver(data: Uint8Array, from: Uint8Array, length: number): void;
  /** A read failed. */
  failed(error: unknown): void;
  /** Sends what it held back while the reactor read (see `_Reactor.reading`). */
  flush(): void;
}

/** What every socket shares, made once: the receive buffer, the source address, the events. */
interface _Shared {
  buffer: Uint8Array;
  from: Uint8Array;
  fromLength: Uint32Array;
  /** epoll_wait(2)'s array of struct epoll_event. */
  events: Uint8Array;
  eventView: DataView;
  /** The bytes of one struct epoll_event, and where its data word is (see _eventLayout()). */
  eventSize: number;
  dataOffset: number;
}
let shared: _Shared | undefined;

/**
 * <sys/epoll.h> packs `struct epoll_event { uint32_t events; epoll_data_t data; }` on x86_64
 * (12 bytes, the data word at offset 4); elsewhere it is aligned as C aligns it (16 bytes, at 8).
 */
function _eventLayout(): { eventSize: number; dataOffset: number } {
  return Deno.build.arch === "x86_64" ? { eventSize: 12, dataOffset: 4 } : { eventSize: 16, dataOffset: 8 };
}

/** The buffers every socket shares, made with the first reactor. */
function _makeShared(): _Shared {
  const { eventSize, dataOffset } = _eventLayout();
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

const RECEIVE_SIZE_ARG = _size(RECEIVE_SIZE);
const EIGHT = _size(8);
/** An eventfd(2) is written and read 8 bytes at a time: a count added, the whole count taken. */
const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const COUNT = new Uint8Array(8);

/** The reactor of the process while it has sockets, or until its last wait has ended. */
let reactor: _Reactor | undefined;

/**
 * One epoll instance (epoll(7)) watching every polled socket for input, level-triggered: a
 * socket left with datagrams after its share of a look is reported again at the next look.
 * Each socket's data word is its number, never its descriptor: a descriptor closed and reused
 * while a wait ran must not take an event reported for the old socket.
 */
export class _Reactor {
  #c: _Libc;
  #shared: _Shared;
  #epoll: number;
  /** eventfd(2) in the epoll set: written to end the waiting epoll_wait() when the last socket goes. */
  #wake: number;
  /** One struct epoll_event for epoll_ctl(). */
  #control: DataView;
  #controlBytes: Uint8Array;
  #sockets = new Map<number, _ReactorSocket>();
  #nextId = WAKE_ID + 1;
  #started = false;
  #ended = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The waiting epoll_wait() on Deno's blocking pool, until it has returned and been handled. */
  #waiting: Promise<void> | undefined;
  #emptyPolls = 0;
  /** Whether the last look left a socket with datagrams past its share. */
  #full = false;
  /**
   * While the ready sockets are read: the answers made meanwhile are held back by their sockets
   * and go together when the reading ends, one sendmmsg(2) for several datagrams.
   */
  reading = false;
  /** The sockets holding datagrams back, flushed when the reading ends. */
  #holding: _ReactorSocket[] = [];

  private constructor(c: _Libc, shared: _Shared, epoll: number, wake: number) {
    this.#c = c;
    this.#shared = shared;
    this.#epoll = epoll;
    this.#wake = wake;
    this.#control = new DataView(new ArrayBuffer(16));
    this.#controlBytes = new Uint8Array(this.#control.buffer);
  }

  /** The reactor, made with its epoll instance and eventfd, or undefined if the system refuses them. */
  static open(c: _Libc): _Reactor | undefined {
    const epoll = c.epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) return undefined;
    const wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) {
      c.close(epoll);
      return undefined;
    }
    const r = new _Reactor(c, shared ??= _makeShared(), epoll, wake);
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
    return this.#c.epoll_ctl(this.#epoll, EPOLL_CTL_ADD, fd, this.#controlBytes) === 0 ? 0 : _errno(this.#c);
  }

  /** Watches a bound socket's descriptor; returns its number, or throws (the caller closes it). */
  add(socket: _ReactorSocket, fd: number): number {
    while (this.#sockets.has(this.#nextId) || this.#nextId === WAKE_ID) {
      this.#nextId = (this.#nextId + 1) >>> 0;
    }
    const id = this.#nextId;
    this.#nextId = (id + 1) >>> 0;
    const code = this.#watch(fd, id);
    if (code !== 0) {
      // A reactor made for this socket ends with it (one already started ends by itself).
      if (this.#sockets.size === 0 && !this.#started) this.#close();
      throw _socketError("cannot watch udp socket", code);
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
    this.reading = true;
    try {
      return this.#serveReady(ready);
    } finally {
      this.reading = false;
      const holding = this.#holding;
      for (let i = 0; i < holding.length; i++) holding[i].flush();
      holding.length = 0;
    }
  }

  /** A socket holds datagrams back until the reading ends. */
  hold(socket: _ReactorSocket): void {
    this.#holding.push(socket);
  }

  #serveReady(ready: number): number {
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
  #read(socket: _ReactorSocket, limit: number): number {
    const c = this.#c;
    const { buffer, from, fromLength } = this.#shared;
    let taken = 0;
    while (taken < limit && !socket.closed) {
      fromLength[0] = 28;
      // recvfrom(2) on a non-blocking socket: EAGAIN when nothing is left.
      const n = Number(c.recvfrom(socket.fd, buffer, RECEIVE_SIZE_ARG, 0, from, fromLength));
      if (n < 0) {
        const code = _errno(c);
        if (code === _EINTR) continue;
        if (code !== _EAGAIN) socket.failed(_socketError("udp receive", code));
        break;
      }
      taken++;
      if (n <= socket.max) socket.deliver(buffer.slice(0, n), from, fromLength[0]);
    }
    return taken;
  }
}

/**
 * The reactor of the process, opened when there is none.
 *
 * @param c The C library.
 * @returns The reactor, or undefined if the system refuses an epoll instance or an eventfd.
 */
export function _reactor(c: _Libc): _Reactor | undefined {
  return reactor ??= _Reactor.open(c);
}

/**
 * @internal For tests: what the reactor does, `none` when there is none (no polled socket, and
 * the last one's wait has ended).
 */
export function _reactorState(): "none" | "looking" | "waiting" {
  return reactor?.state ?? "none";
}
