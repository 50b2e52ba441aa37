/**
 * Addresses as the mock peer writes and reads them: an IP address in text (IPv6 in brackets),
 * the address the mock gives as its own on a transport, and where a request to a SIP URI goes
 * (an IP host and port, over the transport the URI names; host names are never resolved).
 *
 * @module
 */

import type { SipUri } from "../sip/uri.ts";
import { unbracket } from "../sip/routing.ts";
import type { SocketAddress } from "../sip/routing.ts";
import type { BoundAddress, ListenTransport } from "../net/serve.ts";

/** An IP address as the host of a URI, a Via or a Call-ID: IPv6 in brackets (RFC 3261 §25.1 `IPv6reference`). */
export function _hostText(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** `HOST:PORT`, IPv6 in brackets. */
export function _hostPort(address: string, port: number): string {
  return `${_hostText(address)}:${port}`;
}

/**
 * The address the mock writes as its own on a transport (Via sent-by, Contact): the bound
 * address, or for a wildcard bind (`0.0.0.0`, `::`) the `advertise` option, else loopback.
 */
export function _ownAddress(bound: BoundAddress, advertise: string | undefined): SocketAddress {
  const wildcard = bound.address === "0.0.0.0" || bound.address === "::" || bound.address === "";
  return { address: wildcard ? advertise ?? "127.0.0.1" : bound.address, port: bound.port };
}

/** The transport a SIP URI asks for (its `transport` parameter), `udp` by default; tls and the rest are refused. */
export function _transportOf(uri: SipUri | undefined): ListenTransport {
  const t = uri?.params.transport;
  if (t === undefined || t === null) return "udp";
  const lower = t.toLowerCase();
  if (lower === "udp" || lower === "tcp" || lower === "ws") return lower;
  throw new TypeError(`request(): transport "${t}" is not supported (udp, tcp or ws)`);
}

/**
 * Where a request to a SIP URI goes: its host, which must be an IP address (or `localhost`),
 * and its port, 5060 by default. The mock does not look names up (RFC 3263 is not done here):
 * a test gives an address it knows.
 */
export function _destination(uri: SipUri): SocketAddress {
  const host = unbracket(uri.host);
  const ip = host === "localhost" ? "127.0.0.1" : host;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) && !ip.includes(":")) {
    throw new TypeError(`request(): cannot send to "${uri.host}": host names are not resolved; give a destination`);
  }
  return { address: ip, port: uri.port ?? 5060 };
}
