/**
 * The C library through Deno's FFI, for the polled UDP sockets (`deno_udp_poll.ts`) and their
 * reactor (`deno_reactor.ts`): the symbols, the Linux constants they share, errno and its
 * errors, and the conversions between address text and sockaddr_in / sockaddr_in6.
 *
 * Only type-checked and run on Deno: on Bun the Deno shims are never imported.
 *
 * @module
 */

import type { SocketAddress } from "../transport.ts";
import { formatIpv6, parseIpv4, parseIpv6 } from "../../sip/ip.ts";

// Linux constants (the same on x86_64 and aarch64).
/** Address family IPv4. */
export const _AF_INET = 2;
/** Address family IPv6. */
export const _AF_INET6 = 10;
/** errno: interrupted by a signal; try again. */
export const _EINTR = 4;
/** errno: nothing to read (a non-blocking socket), or no room to write. */
export const _EAGAIN = 11;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const EACCES = 13;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvfrom: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"], result: "isize" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
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

/** The symbols of the C library, bound. */
export type _Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: _Libc | null | undefined;

/** The C library, opened once; null where this path cannot be used. */
export function _libc(): _Libc | null {
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
export function _size(n: number): bigint {
  return BigInt(n);
}

/** The errno of the last call that failed on this thread. */
export function _errno(c: _Libc): number {
  const where = c.__errno_location();
  return where === null ? 0 : new Deno.UnsafePointerView(where).getInt32();
}

/** An Error with the errno name as `code`, as the runtimes' own socket errors have. */
export function _socketError(what: string, code: number): Error & { code: string } {
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
export function _sockaddr(address: string, port: number): Uint8Array | undefined {
  const v4 = parseIpv4(address);
  const v6 = v4 === undefined ? parseIpv6(address) : undefined;
  if (v4 === undefined && v6 === undefined) return undefined;
  // sockaddr_in: family, port, 4 octets, 8 zeros; sockaddr_in6: family, port, flowinfo, 16 octets, scope.
  const sa = new Uint8Array(v4 !== undefined ? 16 : 28);
  sa[0] = v4 !== undefined ? _AF_INET : _AF_INET6;
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
/** The address and port in a sockaddr. */
export function _fromSockaddr(sa: Uint8Array): SocketAddress {
  const port = sa[2] << 8 | sa[3];
  if (sa[0] === _AF_INET) return { address: `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}`, port };
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(sa[8 + 2 * i] << 8 | sa[9 + 2 * i]);
  return { address: formatIpv6(groups), port };
}
