/**
 * The registrar shared by the worker processes of `--workers` (serve()'s `reusePort`): the
 * system hands each UDP source and TCP connection to one worker, so a REGISTER reaches one of
 * them and the INVITE that looks the binding up may reach another. Each worker keeps the whole
 * table: after each REGISTER answered 200 it sends the address of record's bindings to every
 * sibling over loopback UDP (a datagram each, JSON), and each sibling puts them in place of
 * its own. Worker 0, the hub, holds the list of the siblings' ports: each other worker says
 * hello to it (again every 200 ms until answered), and it sends the list to all at each hello.
 *
 * A sibling learns of a change a loopback datagram later (well under a millisecond when the
 * box is idle); a datagram lost on loopback (a receive buffer full) loses that change in that
 * sibling until the address of record registers again. Expiry is each worker's own, on its
 * own clock: the bindings travel with the time they have left. Only loopback sources are
 * heard, and only from the ports on the list; anyone on the host could still send to the port.
 *
 * @module
 */

import type { DatagramEndpoint, RuntimeNet } from "./transport.ts";
import type { Binding, Registrar } from "../ua/registrar.ts";
import { parseUri } from "../sip/uri.ts";

/** A binding as it travels: the URI as text, and the milliseconds it has left. */
interface _WireBinding {
  uri: string;
  params: Binding["params"];
  expiresIn: number;
  callId: string;
  cseq: number;
  path: readonly string[];
  source?: string;
}

/** What the workers say to each other. */
type _SyncMessage =
  | { t: "hello" }
  | { t: "members"; ports: number[] }
  | { t: "bindings"; aor: string; bindings: _WireBinding[] };

/** How often a worker says hello until the hub answers, ms. */
const HELLO_EVERY = 200;
/** The longest sync datagram sent; the bindings of an address of record that need more are not shared. */
export const MAX_SYNC_DATAGRAM = 65000;

const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

/**
 * The datagram that carries an address of record's bindings to a sibling.
 *
 * @param aor The address of record.
 * @param bindings Its bindings.
 * @param now The time on the sender's clock, ms (`expiresAt` is on it).
 * @returns The datagram.
 * @example
 * ```ts ignore
 * const data = _encodeBindings("sip:bob@example.com", registrar.lookup("sip:bob@example.com", now), now);
 * ```
 */
export function _encodeBindings(aor: string, bindings: readonly Binding[], now: number): Uint8Array {
  const wire: _WireBinding[] = bindings.map((b) => ({
    uri: b.uri,
    params: b.params,
    expiresIn: b.expiresAt - now,
    callId: b.callId,
    cseq: b.cseq,
    path: b.path,
    ...(b.source === undefined ? {} : { source: b.source }),
  }));
  return _encoder.encode(JSON.stringify({ t: "bindings", aor, bindings: wire } satisfies _SyncMessage));
}

/**
 * Reads a sync datagram; undefined for anything else.
 *
 * @param data The datagram.
 * @returns The message.
 */
function _decode(data: Uint8Array): _SyncMessage | undefined {
  try {
    const m = JSON.parse(_decoder.decode(data)) as _SyncMessage;
    if (m === null || typeof m !== "object") return undefined;
    if (m.t === "hello") return m;
    if (m.t === "members" && Array.isArray(m.ports) && m.ports.every((p) => Number.isInteger(p))) return m;
    if (m.t === "bindings" && typeof m.aor === "string" && Array.isArray(m.bindings)) return m;
  } catch { /* not ours */ }
  return undefined;
}

/**
 * The bindings of a sync datagram, on the receiver's clock.
 *
 * @param aor The address of record.
 * @param wire The bindings as they came.
 * @param now The time on the receiver's clock, ms.
 * @returns The bindings; undefined if one of them is malformed.
 */
export function _decodeBindings(aor: string, wire: readonly _WireBinding[], now: number): Binding[] | undefined {
  const out: Binding[] = [];
  for (const w of wire) {
    if (typeof w?.uri !== "string" || typeof w.expiresIn !== "number" || typeof w.callId !== "string") return undefined;
    if (typeof w.cseq !== "number" || !Array.isArray(w.path) || typeof w.params !== "object" || w.params === null) {
      return undefined;
    }
    let parsedUri;
    try {
      parsedUri = parseUri(w.uri);
    } catch {
      return undefined;
    }
    out.push({
      aor,
      uri: w.uri,
      parsedUri,
      params: w.params,
      expiresAt: now + w.expiresIn,
      callId: w.callId,
      cseq: w.cseq,
      path: w.path,
      ...(typeof w.source === "string" ? { source: w.source } : {}),
    });
  }
  return out;
}

/** A worker's end of the shared registrar. */
export interface _WorkerSync {
  /** The loopback UDP port it listens on (the hub's is given to the other workers). */
  readonly port: number;
  /** The number of workers it knows of, itself included. */
  readonly members: number;
  /** Resolves once the hub has answered this worker's hello (at once for the hub). */
  readonly joined: Promise<void>;
  /** Stops sharing; the registrar stays as it is. */
  close(): Promise<void>;
}

/** Where a worker's sync socket listens and whom it tells. */
export interface _WorkerSyncOptions {
  /** The hub's port; absent: this worker is the hub. */
  hub?: number;
  /** The clock of the registrar, ms. */
  now: () => number;
  /** A problem: a change not shared, a socket error. */
  onError?: (message: string) => void;
  /** The hub only: how many workers there are, itself included; hellos from more are ignored. */
  workers?: number;
  /** The hub only: called with the number of workers after each one that joins. */
  onMembers?: (members: number) => void;
}

/**
 * Shares a registrar with the sibling workers: see the module's comment.
 *
 * @param net The socket shim.
 * @param registrar This worker's registrar.
 * @param options The hub's port (none for the hub itself), the clock, and where problems go.
 * @returns This worker's end.
 */
export async function _shareRegistrar(
  net: RuntimeNet,
  registrar: Registrar,
  options: _WorkerSyncOptions,
): Promise<_WorkerSync> {
  const hub = options.hub;
  const onError = options.onError ?? (() => {});
  /** Every worker's sync port, this one's included. */
  let ports = new Set<number>();
  const joined = Promise.withResolvers<void>();
  let socket: DatagramEndpoint | undefined = undefined;
  const sendTo = (port: number, data: Uint8Array) => socket?.send(data, { address: "127.0.0.1", port });
  socket = await net.listenDatagram({ hostname: "127.0.0.1", port: 0 }, (data, from) => {
    if (from.address !== "127.0.0.1" && from.address !== "::ffff:127.0.0.1") return;
    const m = _decode(data);
    if (m === undefined) return;
    if (m.t === "hello" && hub === undefined) {
      // Anyone on the host can send here: the list holds no more ports than there are workers.
      if (!ports.has(from.port) && options.workers !== undefined && ports.size >= options.workers) return;
      ports.add(from.port);
      const list = _encoder.encode(JSON.stringify({ t: "members", ports: [...ports] } satisfies _SyncMessage));
      for (const p of ports) if (p !== self) sendTo(p, list);
      options.onMembers?.(ports.size);
    } else if (m.t === "members" && from.port === hub) {
      ports = new Set(m.ports);
      joined.resolve();
    } else if (m.t === "bindings" && ports.has(from.port)) {
      const now = options.now();
      const bindings = _decodeBindings(m.aor, m.bindings, now);
      if (bindings === undefined) return onError(`worker sync: malformed bindings of ${m.aor} ignored`);
      if (!registrar._replace(m.aor, bindings.filter((b) => b.expiresAt > now))) {
        onError(`worker sync: the bindings of ${m.aor} not taken: the table is full (maxBindings)`);
      }
    }
  }, (e) => onError(`worker sync: ${e}`));
  const self = socket.local.port;
  ports.add(self);
  let hello: ReturnType<typeof setInterval> | undefined;
  if (hub === undefined) joined.resolve();
  else {
    const data = _encoder.encode(JSON.stringify({ t: "hello" } satisfies _SyncMessage));
    sendTo(hub, data);
    hello = setInterval(() => sendTo(hub, data), HELLO_EVERY);
    void joined.promise.then(() => clearInterval(hello));
  }
  registrar._onChange = (aor, bindings, now) => {
    const data = _encodeBindings(aor, bindings, now);
    if (data.length > MAX_SYNC_DATAGRAM) return onError(`worker sync: the bindings of ${aor} are too long to share`);
    for (const p of ports) if (p !== self) sendTo(p, data);
  };
  return {
    port: self,
    get members() {
      return ports.size;
    },
    joined: joined.promise,
    async close() {
      clearInterval(hello);
      registrar._onChange = undefined;
      await socket.close();
    },
  };
}
