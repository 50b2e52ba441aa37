/**
 * UDP for Deno on Linux through the C library (Deno's FFI): a non-blocking socket read in
 * batches every millisecond or so, and written with one direct `sendto()` per datagram.
 *
 * Why: each `Deno.listenDatagram` receive and send is an asynchronous operation with a promise
 * and a wake-up of its own, and that costs more CPU than the rest of a call. Read in batches
 * and sent synchronously, a SIP load costs a half to a third of the CPU (`bench/wire_bench.py`),
 * for at most one timer tick (about 2 ms on Deno) of added latency on a datagram's way in.
 * A quiet socket is not looked at on a timer: a C `poll()` run off the main thread (a
 * `nonblocking` FFI call) waits for its next datagram, so an idle server costs nothing and the
 * first datagram after a quiet spell is read as soon as it comes.
 * Used for the SIP listeners of `serve()` (`ListenOptions.poll`), never for the RTP echo.
 *
 * It is only taken where it can work: Linux, a little-endian CPU, FFI allowed (`--allow-ffi`,
 * part of `-A`), a numeric address to bind. Anywhere else {@linkcode listenPolledDatagram}
 * returns undefined and the shim uses `Deno.listenDatagram`.
 *
 * @module
 */

import type { DatagramEndpoint, ListenOptions, SocketAddress } from "../transport.ts";

// Linux constants (the same on x86_64 and aarch64).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const POLLIN = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const SO_RCVBUF = 8;
/**
 * The receive buffer asked for, bytes: datagrams wait in it between two looks (a timer tick, or
 * while the main thread is busy), and the system default (208 KiB) holds only 256 small ones. The system caps it at
 * net.core.rmem_max (and doubles it for its bookkeeping).
 */
const RECEIVE_BUFFER = 1 << 20;
const EINTR = 4;
const EAGAIN = 11;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const EACCES = 13;

/**
 * How often the socket is looked at while datagrams come, ms: every timer tick (which Deno's
 * timers make about 2 ms).
 */
const POLL_INTERVAL = 1;
/**
 * Empty looks in a row after which the socket is left to a waiting `poll()` until its next
 * datagram (about 10 ms of quiet): a look on a timer costs less than a wake-up from another
 * thread while datagrams keep coming, and nothing at all is better when none come.
 */
const IDLE_POLLS = 5;
/** Datagrams read in one go before the event loop gets a turn (timers, other sockets). */
const BATCH = 256;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvfrom: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"], result: "isize" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // Run on a thread of Deno's blocking pool; the promise settles when poll() returns.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
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

/** The 4 octets of a dotted IPv4 address, or undefined. */
function ipv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

/** The 16 octets of an IPv6 address (RFC 4291 §2.2 text forms, no zone), or undefined. */
function ipv6(text: string): number[] | undefined {
  if (!text.includes(":") || text.includes("%")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = ipv4(p);
        if (v4 === undefined) return undefined;
        out.push(v4[0] << 8 | v4[1], v4[2] << 8 | v4[3]);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(missing).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** The sockaddr for an IP address and port, or undefined for a name. */
function sockaddr(address: string, port: number): Uint8Array | undefined {
  const v4 = ipv4(address);
  const v6 = v4 === undefined ? ipv6(address) : undefined;
  if (v4 === undefined && v6 === undefined) return undefined;
  // sockaddr_in: family, port, 4 octets, 8 zeros; sockaddr_in6: family, port, flowinfo, 16 octets, scope.
  const sa = new Uint8Array(v4 !== undefined ? 16 : 28);
  sa[0] = v4 !== undefined ? AF_INET : AF_INET6;
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  if (v4 !== undefined) sa.set(v4, 4);
  else sa.set(v6!, 8);
  return sa;
}

/** The text of an IPv6 address, RFC 5952 §4: lower case, the longest run of zero groups as `::`. */
function ipv6Text(b: Uint8Array, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b[at + 2 * i] << 8 | b[at + 2 * i + 1]);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  // RFC 5952 §5: an IPv4-mapped address ends in dotted decimal.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}

/** The address and port in a sockaddr. */
function fromSockaddr(sa: Uint8Array): SocketAddress {
  const port = sa[2] << 8 | sa[3];
  if (sa[0] === AF_INET) return { address: `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}`, port };
  return { address: ipv6Text(sa, 8), port };
}

/**
 * Binds a UDP socket read by polling, or returns undefined where this path cannot be used
 * (then the caller binds the runtime's own socket).
 *
 * @param options Where to bind; `maxDatagram` as for the other shims.
 * @param onData Called with each datagram (a copy) and its source.
 * @param onError Called with send errors and a failed read; never thrown.
 * @returns The endpoint, or undefined.
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
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Int32Array([RECEIVE_BUFFER]), 4);
  // A wildcard [::] takes IPv4 too (the system's default, as with Deno.listenDatagram): the
  // sources of those datagrams read ::ffff:a.b.c.d.
  if (c.bind(fd, local, local.length) !== 0) {
    const code = errno(c);
    c.close(fd);
    throw socketError(`cannot bind udp ${options.hostname}:${options.port}`, code);
  }
  const bound = new Uint8Array(28);
  const boundLength = new Uint32Array([28]);
  c.getsockname(fd, bound, boundLength);
  const max = options.maxDatagram !== undefined && options.maxDatagram >= 1 && options.maxDatagram < 65535
    ? Math.floor(options.maxDatagram)
    : 65535;
  // One byte more than the longest datagram taken: one that fills it may have been cut short.
  const buffer = new Uint8Array(max + 1);
  const bufferSize = size(buffer.length);
  const from = new Uint8Array(28);
  const fromLength = new Uint32Array(1);
  // The source of the last datagram, as bytes and as text: a load comes from few addresses.
  const lastFrom = new Uint8Array(28);
  let lastSource: SocketAddress | undefined;
  // Destinations by "address|port", bounded.
  const destinations = new Map<string, Uint8Array | null>();
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let emptyPolls = 0;
  // The wait for a datagram on a quiet socket: poll() on the socket and on an eventfd that
  // close() writes to, so that the waiting thread comes back at once (poll(2), eventfd(2)).
  // Their memory is in ArrayBuffers, which never move while the call runs.
  const wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const pollFds = new DataView(new ArrayBuffer(16));
  pollFds.setInt32(0, fd, true);
  pollFds.setInt16(4, POLLIN, true);
  pollFds.setInt32(8, wake, true);
  pollFds.setInt16(12, POLLIN, true);
  const pollFdsBytes = new Uint8Array(pollFds.buffer);
  const one = new Uint8Array(new BigUint64Array([1n]).buffer);
  let waiting: Promise<void> | undefined;
  let released: Promise<void> | undefined;

  function poll(): void {
    timer = undefined;
    let taken = 0;
    while (!closed && taken < BATCH) {
      fromLength[0] = 28;
      const n = Number(c!.recvfrom(fd, buffer, bufferSize, 0, from, fromLength));
      if (n < 0) {
        const code = errno(c!);
        if (code === EINTR) continue;
        if (code !== EAGAIN) onError(socketError("udp receive", code));
        break;
      }
      taken++;
      if (n > max) continue;
      let same = lastSource !== undefined;
      for (let i = 0; same && i < 28; i++) same = from[i] === lastFrom[i];
      if (!same) {
        lastFrom.set(from);
        lastSource = fromSockaddr(from);
      }
      try {
        onData(buffer.slice(0, n), lastSource as SocketAddress);
      } catch (e) {
        onError(e);
      }
    }
    emptyPolls = taken === 0 ? emptyPolls + 1 : 0;
    if (closed) return;
    if (emptyPolls < IDLE_POLLS) timer = setTimeout(poll, taken === BATCH ? 0 : POLL_INTERVAL);
    else if (wake >= 0) waitForData();
    // No eventfd (never seen on Linux): a quiet socket is looked at every 10 ms.
    else timer = setTimeout(poll, 10);
  }

  /**
   * Waits off the main thread until the socket (or close()) has something, then reads. The
   * wait ends after a second anyway and starts again: close() never waits longer than that.
   */
  function waitForData(): void {
    emptyPolls = 0;
    waiting = c!.poll(pollFdsBytes, 2n, 1000).then((ready) => {
      waiting = undefined;
      if (closed) return;
      if (ready === 0) waitForData();
      else poll();
    }, (e) => {
      waiting = undefined;
      onError(e);
      if (!closed) timer = setTimeout(poll, 10);
    });
  }
  // Nothing has come yet: wait for the first datagram (no timer is armed before it).
  if (wake >= 0) waitForData();
  else timer = setTimeout(poll, 0);

  function sendTo(data: Uint8Array, to: Uint8Array): void {
    for (;;) {
      const n = Number(c!.sendto(fd, data, size(data.length), 0, to, to.length));
      if (n >= 0) return;
      const code = errno(c!);
      if (code === EINTR) continue;
      // EAGAIN: the send buffer is full; the datagram is lost, as on the network.
      onError(socketError(`udp send to ${fromSockaddr(to).address}`, code));
      return;
    }
  }

  return {
    local: fromSockaddr(bound),
    send(data: Uint8Array, to: SocketAddress): void {
      if (closed) return;
      const key = `${to.address}|${to.port}`;
      let sa = destinations.get(key);
      if (sa === undefined) {
        // An IPv4 destination from an IPv6 socket: its IPv4-mapped address.
        const address = v6 && ipv4(to.address) !== undefined ? `::ffff:${to.address}` : to.address;
        sa = sockaddr(address, to.port) ?? null;
        if (destinations.size >= 1024) destinations.clear();
        destinations.set(key, sa);
      }
      if (sa !== null && (sa[0] === AF_INET6) === v6) return sendTo(data, sa);
      // A host name (Via maddr or sent-by): resolved as the runtime's own socket would.
      void resolve(to.address, v6).then((address) => {
        const resolved = address === undefined ? undefined : sockaddr(address, to.port);
        if (resolved === undefined) onError(new Error(`udp send: cannot resolve "${to.address}"`));
        else if (!closed) sendTo(data, resolved);
      }, onError);
    },
    close(): Promise<void> {
      if (released !== undefined) return released;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      // The descriptors are closed once no thread waits on them (a number could be reused).
      const release = () => {
        c.close(fd);
        if (wake >= 0) c.close(wake);
      };
      if (waiting === undefined) {
        release();
        released = Promise.resolve();
      } else {
        c.write(wake, one, 8n);
        released = waiting.then(release);
      }
      return released;
    },
  };
}

async function resolve(name: string, v6: boolean): Promise<string | undefined> {
  const { lookup } = await import("node:dns/promises");
  try {
    return (await lookup(name, { family: v6 ? 6 : 4 })).address;
  } catch {
    return undefined;
  }
}

/** @internal The address conversions, for tests. */
export const _addresses = { sockaddr, fromSockaddr };
