/**
 * Where `serve()` listens: the listen addresses ({@linkcode ListenSpec}, read from text by
 * {@linkcode parseListenAddress}), their binding on the runtime's sockets, and the addresses
 * bound ({@linkcode BoundAddress}).
 *
 * @module
 */

import type { ConnectionTable } from "./connections.ts";
import type { _EventLog } from "./events.ts";
import type { _Remote } from "./outputs.ts";
import {
  type DatagramEndpoint,
  type InterfaceAddress,
  type RuntimeNet,
  type StreamListener,
  unbracket,
} from "./transport.ts";
import { parseIpv4, parseIpv6 } from "../sip/ip.ts";
import type { Transport } from "../rules/rules.ts";
import { _isTlsSpec, type ServeTlsOptions } from "./serve_tls.ts";

/** The transports `bind()` knows. */
const _TRANSPORTS = new Set<string>(["udp", "tcp", "ws", "tls", "wss"]);

/**
 * The transports `serve()` can listen on.
 *
 * @example
 * ```ts
 * import { type ListenTransport, parseListenAddress, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const transports: ListenTransport[] = ["udp", "tcp", "ws"];
 * await using server = await serve({ listen: transports.map((t) => parseListenAddress("127.0.0.1:0", t)) });
 * assert.deepEqual(server.addresses.map((a) => a.transport), transports);
 * assert.match(server.uri("echo", "ws"), /^sip:echo@127\.0\.0\.1:\d+;transport=ws$/);
 * ```
 */
export type ListenTransport = "udp" | "tcp" | "ws" | "tls" | "wss";

/**
 * One address to listen on.
 *
 * @example
 * ```ts
 * import { type ListenSpec, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const listen: ListenSpec[] = [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }];
 * await using server = await serve({ listen });
 * assert.equal(server.addresses[0].transport, "tcp");
 * assert.ok(server.addresses[0].port > 0); // port 0 picked a free port
 * ```
 */
export interface ListenSpec {
  /** The transport. */
  transport: ListenTransport;
  /** Host or IP to bind, without brackets (`0.0.0.0`, `127.0.0.1`, `::1`). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/**
 * An address a server is listening on.
 *
 * @example
 * ```ts
 * import { type BoundAddress, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * const [bound]: readonly BoundAddress[] = server.addresses;
 * assert.equal(bound.transport, "udp");
 * assert.equal(bound.address, "127.0.0.1");
 * assert.equal(server.uri("echo"), `sip:echo@127.0.0.1:${bound.port}`);
 * ```
 */
export interface BoundAddress {
  /** The transport. */
  transport: ListenTransport;
  /** The bound IP, without brackets. */
  address: string;
  /** The bound port. */
  port: number;
}

/**
 * Parses a listen address: `PORT`, `HOST:PORT`, `[IPv6]:PORT` or `[IPv6]` (port 5060, or 5061
 * for `tls`).
 *
 * @param text The address.
 * @param transport The transport it is for.
 * @param defaultHost Host when none is given (default `0.0.0.0`).
 * @returns The spec.
 * @throws {RangeError} Naming what is wrong.
 *
 * @example
 * ```ts
 * import { parseListenAddress } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseListenAddress("[::1]:5070", "tcp"), { transport: "tcp", hostname: "::1", port: 5070 });
 * assert.deepEqual(parseListenAddress("5060", "udp"), { transport: "udp", hostname: "0.0.0.0", port: 5060 });
 * ```
 */
export function parseListenAddress(text: string, transport: ListenTransport, defaultHost = "0.0.0.0"): ListenSpec {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]\s]+))?(?::?(\d{1,5}))?$/.exec(text.trim());
  const hostOnly = m !== null && m[3] === undefined;
  if (m === null || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) {
    throw new RangeError(`${transport} address "${text}": expected PORT, HOST:PORT or [IPv6]:PORT`);
  }
  // "5060" alone is a port, "host" alone is a host on 5060.
  if (m[2] !== undefined && hostOnly && /^\d+$/.test(m[2])) {
    return parseListenAddress(`:${m[2]}`, transport, defaultHost);
  }
  // RFC 3261 §19.1.2: 5061 for TLS, 5060 for the rest.
  const port = m[3] === undefined ? (transport === "tls" ? 5061 : 5060) : Number(m[3]);
  if (port > 65535) throw new RangeError(`${transport} address "${text}": port ${port} is over 65535`);
  return { transport, hostname: m[1] ?? m[2] ?? defaultHost, port };
}

/**
 * A listen address that could not be bound: `serve()` rejects with it whatever the runtime or
 * shim, with a message of one form naming the transport, the address and the port, and why:
 * `cannot listen on udp 127.0.0.1:5060: address in use`. The shim's own error is the `cause`.
 *
 * @example
 * ```ts
 * import { ListenError, serve } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * await using first = await serve({ listen: [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }] });
 * const port = first.addresses[0].port;
 * const error = await serve({ listen: [{ transport: "tcp", hostname: "127.0.0.1", port }] }).catch((e) => e);
 * assert.ok(error instanceof ListenError);
 * assert.equal(error.message, `cannot listen on tcp 127.0.0.1:${port}: address in use`);
 * assert.equal(error.code, "EADDRINUSE");
 * ```
 */
export class ListenError extends Error {
  /** `ListenError`. */
  override name = "ListenError";
  /** The transport asked for. */
  readonly transport: ListenTransport;
  /** The address asked for, without brackets. */
  readonly address: string;
  /** The port asked for (0: any). */
  readonly port: number;
  /** Why, in words: `address in use`, `permission denied ...`, or the shim's own message. */
  readonly reason: string;
  /** The system's error code when known (`EADDRINUSE`, `EADDRNOTAVAIL`, `EACCES`, `ENOTFOUND`). */
  readonly code: string | undefined;

  /**
   * The error for a listen spec that could not be bound, its reason taken from what the shim threw.
   *
   * @param spec What could not be bound.
   * @param cause What the shim threw.
   */
  constructor(spec: ListenSpec, cause: unknown) {
    const address = unbracket(spec.hostname);
    const { reason, code } = _bindProblem(cause);
    const host = address.includes(":") ? `[${address}]` : address;
    super(`cannot listen on ${spec.transport} ${host}:${spec.port}: ${reason}`, { cause });
    this.transport = spec.transport;
    this.address = address;
    this.port = spec.port;
    this.reason = reason;
    this.code = code;
  }
}

/**
 * Why a bind failed, in the same words on every runtime: each says it its own way (Deno's
 * `AddrInUse` "Address already in use (os error 98)", Bun's "Failed to listen at 127.0.0.1" with
 * code EADDRINUSE, node:dgram's "bind EADDRINUSE 127.0.0.1:5060", ...), some without the address.
 *
 * @param error What the shim threw.
 * @returns The reason in words, and the system's error code when one is known.
 */
export function _bindProblem(error: unknown): { reason: string; code: string | undefined } {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : String(error);
  const code = typeof e?.code === "string" ? e.code : _DENO_ERROR_CODES[String(e?.name)];
  if (code === "EADDRINUSE") return { reason: "address in use", code };
  if (code === "EADDRNOTAVAIL") return { reason: "no interface of this machine has the address", code };
  if (code === "EACCES" || code === "EPERM") {
    return { reason: "permission denied (a port below 1024 needs privileges)", code };
  }
  // Bun's UDP socket says ENOENT for a name it cannot resolve; Deno.listen gives no code.
  if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "ENOENT" || /failed to lookup address/i.test(message)) {
    return { reason: "host not found", code };
  }
  return { reason: message, code };
}

/** The codes of the `Deno.errors` a bind throws, which carry a name but (before Deno 2.1) no code. */
const _DENO_ERROR_CODES: Record<string, string> = {
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  PermissionDenied: "EACCES",
};

/** Whether a bound address is the wildcard (any address): not one to put in a URI. */
export function _isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "";
}

/**
 * The address a server puts in Contact and in the SDP `c=` line, and why that one
 * ({@linkcode chooseAdvertised}): `given` (`advertise`), `bound` (the first bound address),
 * `interface` (behind a wildcard bind, the first interface address other machines can reach,
 * `name` is its interface), or `loopback` (a wildcard bind with no such address found:
 * 127.0.0.1, which callers on other machines cannot reach).
 *
 * @example
 * ```ts
 * import { serve } from "@sipecho/sipecho";
 * import type { AdvertisedAddress } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * const advertised: AdvertisedAddress = server.advertised;
 * assert.deepEqual(advertised, { address: "127.0.0.1", why: "bound" });
 * ```
 */
export interface AdvertisedAddress {
  /** The address, without brackets. */
  address: string;
  /** Why this one. */
  why: "given" | "bound" | "interface" | "loopback";
  /** With `interface`: the interface's name. */
  name?: string;
}

/**
 * Picks the address to advertise in Contact and SDP: the one given; else the first bound
 * address; else, behind a wildcard bind, the first interface address that callers on other
 * machines can reach: not loopback, not link-local (169.254/16, fe80::/10, which need a zone to be
 * dialled, RFC 4007 §6), of the wildcard's family (IPv6 first for `::`, then IPv4: a `::` socket
 * takes IPv4 too where the system maps it). Else `127.0.0.1`, as `loopback`.
 *
 * @param bound The bound addresses, the first one deciding.
 * @param interfaces The machine's interface addresses in order (`RuntimeNet.networkInterfaces`),
 *   or undefined when the runtime cannot list them.
 * @param given `ServeOptions.advertise` (brackets allowed).
 * @returns The address and why.
 *
 * @example
 * ```ts
 * import { chooseAdvertised } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const wildcard = [{ transport: "udp" as const, address: "0.0.0.0", port: 5060 }];
 * const lan = [{ name: "lo", address: "127.0.0.1" }, { name: "eth0", address: "192.0.2.2" }];
 * assert.deepEqual(chooseAdvertised(wildcard, lan), { address: "192.0.2.2", why: "interface", name: "eth0" });
 * assert.deepEqual(chooseAdvertised(wildcard, lan, "198.51.100.7"), { address: "198.51.100.7", why: "given" });
 * assert.deepEqual(chooseAdvertised(wildcard, lan.slice(0, 1)), { address: "127.0.0.1", why: "loopback" });
 * ```
 */
export function chooseAdvertised(
  bound: readonly BoundAddress[],
  interfaces: readonly InterfaceAddress[] | undefined,
  given?: string,
): AdvertisedAddress {
  if (given !== undefined) return { address: unbracket(given), why: "given" };
  const first = bound[0];
  if (first !== undefined && !_isWildcard(first.address)) return { address: first.address, why: "bound" };
  const reachable = (interfaces ?? []).filter((i) => _reachable(i.address));
  const v6 = (i: InterfaceAddress) => i.address.includes(":");
  const pick = first?.address === "::"
    ? reachable.find(v6) ?? reachable.find((i) => !v6(i))
    : reachable.find((i) => !v6(i));
  return pick === undefined
    ? { address: "127.0.0.1", why: "loopback" }
    : { address: pick.address, why: "interface", name: pick.name };
}

/** Whether another machine can reach an interface address: not loopback, link-local or unspecified. */
function _reachable(address: string): boolean {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return v4[0] !== 127 && v4[0] !== 0 && !(v4[0] === 169 && v4[1] === 254);
  const v6 = parseIpv6(address);
  if (v6 === undefined) return false;
  const loopbackOrUnspecified = v6.slice(0, 7).every((g) => g === 0) && v6[7] <= 1;
  return !loopbackOrUnspecified && (v6[0] & 0xffc0) !== 0xfe80;
}

/**
 * The sockets of a server's listen addresses: its UDP endpoints and stream listeners, and the
 * addresses bound, in the order of `listen`.
 */
export class _Listeners {
  /** The bound UDP sockets. */
  readonly endpoints: DatagramEndpoint[] = [];
  /** The TCP listeners (plain, or carrying WebSocket). */
  readonly streams: StreamListener[] = [];
  /** The bound addresses, in the order of `listen`. */
  readonly addresses: BoundAddress[] = [];
  #net: RuntimeNet;
  #connections: ConnectionTable;
  #event: _EventLog;
  /** The certificate of the TLS and WSS listeners. */
  tls: ServeTlsOptions | undefined;

  /**
   * Makes an empty set: nothing is bound before {@linkcode _Listeners.bind}.
   *
   * @param net The socket shim.
   * @param connections Where the stream listeners' connections go.
   * @param event Where a socket's errors are reported.
   */
  /** `{ reusePort: true }` when the ports are shared, else nothing: added to each ListenOptions. */
  #reuse: { reusePort?: boolean } = {};

  constructor(net: RuntimeNet, connections: ConnectionTable, event: _EventLog) {
    this.#net = net;
    this.#connections = connections;
    this.#event = event;
  }

  /**
   * Binds every address in turn; what is bound before a failure stays bound (the caller closes it).
   *
   * @param listen The addresses.
   * @param poll Whether the shim may poll the UDP sockets (`ListenOptions.poll`).
   * @param onDatagram Called with each datagram and its source, with the socket it came on.
   * @param reusePort Whether other sockets may share each port (`ListenOptions.reusePort`).
   * @throws {RangeError} (rejects) For a transport that is not `udp`, `tcp`, `ws`, `tls` or `wss`.
   * @throws {ListenError} (rejects) When an address cannot be bound.
   */
  async bind(
    listen: readonly ListenSpec[],
    poll: boolean,
    onDatagram: (data: Uint8Array, remote: _Remote) => void,
    reusePort = false,
  ): Promise<void> {
    this.#reuse = reusePort ? { reusePort: true } : {};
    for (const spec of listen) {
      if (!_TRANSPORTS.has(spec.transport)) {
        throw new RangeError(`serve(): unknown transport "${(spec as ListenSpec).transport}"`);
      }
      try {
        await this.#bindOne(spec, poll, onDatagram);
      } catch (e) {
        // One form on every runtime and shim, naming what could not be bound.
        throw new ListenError(spec, e);
      }
    }
  }

  /** Binds one address (see `bind()`). */
  async #bindOne(
    spec: ListenSpec,
    poll: boolean,
    onDatagram: (data: Uint8Array, remote: _Remote) => void,
  ): Promise<void> {
    const hostname = unbracket(spec.hostname);
    if (spec.transport === "udp") {
      // Declared before the call: the shim may report an error (or a datagram) before it returns.
      let endpoint: DatagramEndpoint | undefined = undefined;
      endpoint = await this.#net.listenDatagram(
        { hostname, port: spec.port, poll, ...this.#reuse },
        (data, from) => {
          if (endpoint !== undefined) {
            // A datagram over maxMessageSize: the peer answers 513 (RFC 3261 §21.5.14).
            onDatagram(data, { address: from.address, port: from.port, transport: "udp", endpoint });
          }
        },
        (e) => this.#event("dropped", `udp ${hostname}:${endpoint?.local.port ?? spec.port}: ${e}`),
      );
      this.endpoints.push(endpoint);
      this.addresses.push({ transport: "udp", address: endpoint.local.address, port: endpoint.local.port });
    } else if (_isTlsSpec(spec)) {
      // RFC 3261 §26, RFC 7118 over TLS: SIP and WebSocket framing run over the TLS stream as
      // over TCP, with every limit of TCP, and those of the handshake (ConnectionLimits).
      if (this.#net.listenTlsStream === undefined) throw new Error(`the ${this.#net.name} socket shim has no TLS`);
      if (this.tls === undefined) throw new TypeError(`a ${spec.transport} listener needs tls.cert and tls.key`);
      const l = await this.#net.listenTlsStream(
        { hostname, port: spec.port, cert: this.tls.cert, key: this.tls.key, ...this.#reuse },
        this.#connections.handlers(spec.transport),
      );
      this.streams.push(l);
      this.addresses.push({ transport: spec.transport, address: l.local.address, port: l.local.port });
    } else {
      // WebSocket is served over the runtime's TCP listener (src/net/websocket.ts), so that it
      // behaves the same on every runtime.
      const l = await this.#net.listenStream(
        { hostname, port: spec.port, ...this.#reuse },
        this.#connections.handlers(spec.transport),
      );
      this.streams.push(l);
      this.addresses.push({ transport: spec.transport, address: l.local.address, port: l.local.port });
    }
  }

  /**
   * The address to put in Contact and SDP ({@linkcode chooseAdvertised}); the interfaces are
   * read only behind a wildcard bind with none given. Only once bound.
   *
   * @param advertise `ServeOptions.advertise`.
   * @returns The address and why.
   */
  advertised(advertise: string | undefined): AdvertisedAddress {
    const wildcard = advertise === undefined && _isWildcard(this.addresses[0].address);
    return chooseAdvertised(this.addresses, wildcard ? this.#net.networkInterfaces?.() : undefined, advertise);
  }

  /** The port of the first address of each transport bound (the peer's `ports`). */
  ports(): Partial<Record<Transport, number>> {
    const ports: Partial<Record<Transport, number>> = {};
    for (const a of this.addresses) ports[a.transport] ??= a.port;
    return ports;
  }

  /** The UDP socket to send to `address` from: the first one of its address family, else the first one. */
  endpointFor(address: string): DatagramEndpoint | undefined {
    const v6 = address.includes(":");
    return this.endpoints.find((e) => e.local.address.includes(":") === v6) ?? this.endpoints[0];
  }

  /** Closes the UDP sockets, then the listeners; every one even if one fails. */
  async close(): Promise<void> {
    await Promise.allSettled(this.endpoints.map(async (e) => await e.close()));
    // Every listener is closed even if one fails; `closed` must resolve.
    await Promise.allSettled(this.streams.map(async (l) => await l.close()));
  }
}
