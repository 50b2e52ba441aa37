/**
 * Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4): the routing parameters of a top Via
 * and the one function that turns them and the request's source into an address. Host names
 * are never resolved.
 *
 * @module
 */

/**
 * An IP address (no brackets around IPv6) and a port.
 *
 * @example
 * ```ts
 * import { responseDestination, type SocketAddress } from "./routing.ts";
 * import assert from "node:assert/strict";
 *
 * const source: SocketAddress = { address: "2001:db8::9", port: 40000 }; // no brackets
 * assert.deepEqual(responseDestination({ port: 5060, rport: 40000 }, source), source);
 * assert.deepEqual(responseDestination({ port: 5062 }, source), { address: "2001:db8::9", port: 5062 });
 * ```
 */
export interface SocketAddress {
  /** `192.0.2.1` or `2001:db8::1`. */
  address: string;
  /** The port. */
  port: number;
}

/**
 * Removes the brackets of an IPv6 reference: `[::1]` -> `::1`.
 *
 * @param host A host, IPv6 in brackets or not.
 * @returns The host without brackets.
 * @example
 * ```ts
 * import { unbracket } from "./routing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(unbracket("[::1]"), "::1");
 * assert.equal(unbracket("192.0.2.1"), "192.0.2.1");
 * ```
 */
export function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
}

/**
 * Whether an IP address (text, no brackets) is multicast: IPv4 224.0.0.0/4 (RFC 5771), IPv6
 * ff00::/8 (RFC 4291 §2.7). A host name is not.
 *
 * @param address The address.
 * @returns True for a multicast address.
 * @example
 * ```ts
 * import { isMulticast } from "./routing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isMulticast("239.255.255.250"), true);
 * assert.equal(isMulticast("ff02::1"), true);
 * assert.equal(isMulticast("192.0.2.1"), false);
 * assert.equal(isMulticast("sip.example.com"), false);
 * ```
 */
export function isMulticast(address: string): boolean {
  const v4 = /^(\d{1,3})\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.exec(address);
  if (v4 !== null) {
    const first = Number(v4[1]);
    return first >= 224 && first <= 239;
  }
  return /^ff[0-9a-f]{2}:[0-9a-f:.]*$/i.test(address);
}

/**
 * The parts of a top Via that decide where a response goes (see `Via` in header_values.ts).
 *
 * @example
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { ResponseHead } from "./response.ts";
 * import { responseDestination, type ViaRouting } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP client.example.com:5062;branch=z9hG4bK1;rport\r\n" +
 *     "From: <sip:a@h>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * ) as SipRequest;
 * const source = { address: "198.51.100.7", port: 40000 };
 * const via: ViaRouting | undefined = new ResponseHead(request, source).route;
 * assert.deepEqual(via, { port: 5062, maddr: undefined, rport: 40000, received: "198.51.100.7" });
 * assert.deepEqual(responseDestination(via!, source), source); // rport: back where it came from
 * ```
 */
export interface ViaRouting {
  /** sent-by port, if given. */
  port?: number;
  /** The received parameter. */
  received?: string;
  /** The rport parameter: a port, `null` when present without a value. */
  rport?: number | null;
  /** The maddr parameter. */
  maddr?: string;
}

/**
 * Where a response goes on an unreliable transport (UDP), from the top Via of the response
 * (with `received` and `rport` already filled in by the server) and the request's source.
 *
 * - RFC 3261 §18.2.2: `maddr` wins, at the sent-by port (default 5060), but only where it must:
 *   a multicast address, or the source address itself. Any other `maddr` would let a request
 *   aim our response at a third party (a reflector that needs no spoofing): it is ignored and
 *   the response routed as without it. A host name in `maddr` is ignored too;
 * - RFC 3581 §4: with `rport` the response goes back to the source address and port;
 * - RFC 3261 §18.2.2: otherwise to the `received` address (the source address, which is also the
 *   sent-by host when no `received` was needed) at the sent-by port (default 5060).
 *
 * Host names are never resolved: the answer is always the source address unless a multicast
 * `maddr` says otherwise, so only the port can differ from the source.
 *
 * @example
 * ```ts
 * import { responseDestination } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const source = { address: "192.0.2.7", port: 40000 };
 * assert.deepEqual(responseDestination({ port: 5062 }, source), { address: "192.0.2.7", port: 5062 });
 * assert.deepEqual(responseDestination({ rport: 40000, received: "192.0.2.7" }, source), source);
 * assert.deepEqual(responseDestination({ maddr: "239.1.1.1" }, source), { address: "239.1.1.1", port: 5060 });
 * // A unicast maddr other than the source is not followed: back to the source, as without it.
 * assert.deepEqual(responseDestination({ maddr: "198.51.100.1", rport: 40000 }, source), source);
 * ```
 */
export function responseDestination(via: ViaRouting, source: SocketAddress): SocketAddress {
  if (via.maddr !== undefined) {
    const maddr = unbracket(via.maddr);
    if (isMulticast(maddr) || maddr === source.address || `::ffff:${maddr}` === source.address) {
      return { address: maddr, port: via.port ?? 5060 };
    }
  }
  if (via.rport !== undefined && via.rport !== null) {
    return { address: via.received !== undefined ? unbracket(via.received) : source.address, port: via.rport };
  }
  if (via.rport === null) return source;
  return { address: via.received !== undefined ? unbracket(via.received) : source.address, port: via.port ?? 5060 };
}
