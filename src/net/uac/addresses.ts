/**
 * Addresses as the mock peer writes and reads them: an IP address in text (IPv6 in brackets),
 * the address the mock gives as its own on a transport, and where a request to a SIP URI goes
 * (an IP host and port, over the transport the URI names; host names are never resolved).
 *
 * @module
 */

import type { SipUri } from "../../sip/uri.ts";
import { unbracket } from "../../sip/routing.ts";
import type { SocketAddress } from "../../sip/routing.ts";
import type { BoundAddress, ListenTransport } from "../serve.ts";

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

/**
 * The transport a SIP URI asks for (its `transport` parameter), `udp` by default; a `sips:`
 * URI goes over TLS (RFC 3261 §26.2.2, RFC 5630 §3: `transport=tcp` or none; the rest are
 * refused); `ws` and `wss` are SIP over WebSocket (RFC 7118 §5); the rest are refused.
 */
export function _transportOf(uri: SipUri | undefined): ListenTransport {
  const t = uri?.params.transport;
  const lower = t === undefined || t === null ? undefined : t.toLowerCase();
  if (uri?.scheme === "sips") {
    if (lower === undefined || lower === "tcp" || lower === "tls") return "tls";
    throw new TypeError(`request(): a sips: URI goes over TLS (RFC 5630 §3), not transport "${t}"`);
  }
  if (lower === undefined) return "udp";
  // RFC 7118 §5: ws and wss name SIP over WebSocket, plain and over TLS.
  if (lower === "udp" || lower === "tcp" || lower === "ws" || lower === "tls" || lower === "wss") return lower;
  throw new TypeError(`request(): transport "${t}" is not supported (udp, tcp, ws, tls or wss)`);
}

/**
 * Where a request to a SIP URI goes: its host, which must be an IP address (or `localhost`),
 * and its port, 5060 by default (5061 over TLS and WSS). The mock does not look names up (RFC 3263 is not done here):
 * a test gives an address it knows.
 */
export function _destination(uri: SipUri): SocketAddress {
  const host = unbracket(uri.host);
  const ip = host === "localhost" ? "127.0.0.1" : host;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) && !ip.includes(":")) {
    throw new TypeError(`request(): cannot send to "${uri.host}": host names are not resolved; give a destination`);
  }
  // RFC 3261 §19.1.2: 5061 for sips: (and for TLS), 5060 for the rest.
  const transport = uri.params.transport?.toLowerCase();
  const tls = uri.scheme === "sips" || transport === "tls" || transport === "wss";
  return { address: ip, port: uri.port ?? (tls ? 5061 : 5060) };
}
