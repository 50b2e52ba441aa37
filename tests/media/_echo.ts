// The harness of the MediaEcho tests on real loopback UDP: the runtime's socket shim on the
// echo side, node:dgram sockets as the callers; RTP and RTCP packets to send.
import dgram from "node:dgram";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { type MediaCallStats, MediaEcho, type MediaEchoOptions } from "../../src/media/echo.ts";
import type { RuntimeNet, SocketAddress } from "../../src/net/transport.ts";
import { sleep, within } from "../_wait.ts";

/** The runtime's socket shim. */
export const runtime: RuntimeNet = await detectRuntime();
/** How long to wait for a datagram, ms. */
export const TIMEOUT = 3000;
const encoder = new TextEncoder();

/** An RTP packet (RFC 3550 §5.1): version 2, no padding, extension or CSRC. */
export function rtp(seq: number, ssrc: number, payload: string | number = 160, payloadType = 0): Uint8Array {
  const body = typeof payload === "string" ? encoder.encode(payload) : new Uint8Array(payload).fill(0xd5);
  const packet = new Uint8Array(12 + body.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = payloadType;
  view.setUint16(2, seq);
  view.setUint32(4, seq * 160);
  view.setUint32(8, ssrc);
  packet.set(body, 12);
  return packet;
}

/** An empty receiver report (RFC 3550 §6.4.2): 8 bytes, RC = 0, PT = 201. */
export function rtcpRr(ssrc: number): Uint8Array {
  const packet = new Uint8Array(8);
  packet[0] = 0x80;
  packet[1] = 201;
  new DataView(packet.buffer).setUint16(2, 1);
  new DataView(packet.buffer).setUint32(4, ssrc);
  return packet;
}

/** A compound RTCP packet: an SR with no report block (28 bytes) and an SDES with one CNAME chunk. */
export function rtcpSrSdes(ssrc: number): Uint8Array {
  const cname = encoder.encode("a@b");
  // SDES: header, SSRC, CNAME item (type 1, length, text), end (0) and padding to 32 bits.
  const sdesLength = 4 + 4 + Math.ceil((2 + cname.length + 1) / 4) * 4;
  const packet = new Uint8Array(28 + sdesLength);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = 200;
  view.setUint16(2, 28 / 4 - 1);
  view.setUint32(4, ssrc);
  packet[28] = 0x81;
  packet[29] = 202;
  view.setUint16(30, sdesLength / 4 - 1);
  view.setUint32(32, ssrc);
  packet[36] = 1;
  packet[37] = cname.length;
  packet.set(cname, 38);
  return packet;
}

export interface Datagram {
  data: Uint8Array;
  from: SocketAddress;
  at: number;
}

/** A caller's UDP socket that queues what it receives. */
export class Client {
  readonly socket: dgram.Socket;
  readonly host: string;
  #inbox: Datagram[] = [];
  #waiter: (() => void) | undefined;

  private constructor(host: string) {
    this.host = host;
    this.socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    this.socket.on("message", (data, info) => {
      this.#inbox.push({
        data: new Uint8Array(data),
        from: { address: info.address, port: info.port },
        at: performance.now(),
      });
      this.#waiter?.();
    });
  }

  static async open(host = "127.0.0.1"): Promise<Client> {
    const client = new Client(host);
    await within(
      new Promise<void>((resolve, reject) => {
        client.socket.once("error", reject);
        client.socket.bind(0, host, () => resolve());
      }),
      "the client socket to bind",
    );
    return client;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /**
   * Sends one datagram; resolves, once it is sent, with the time just before sending. Awaiting
   * each send keeps a burst in order: Deno's node:dgram sends a burst of unawaited datagrams in
   * reverse order.
   */
  send(data: Uint8Array, port: number): Promise<number> {
    const at = performance.now();
    return within(
      new Promise<number>((resolve, reject) => {
        this.socket.send(data, port, this.host, (error) => (error ? reject(error) : resolve(at)));
      }),
      "a send",
    );
  }

  async next(what: string, ms = TIMEOUT): Promise<Datagram> {
    const deadline = performance.now() + ms;
    while (this.#inbox.length === 0) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await within(new Promise<void>((resolve) => (this.#waiter = resolve)), what, left).finally(() => {
        this.#waiter = undefined;
      });
    }
    return this.#inbox.shift()!;
  }

  close(): void {
    try {
      this.socket.close();
    } catch { /* already closed */ }
  }
}

/** Whether a UDP port can be bound now (no socket of ours holds it), retrying for a moment. */
export async function portIsFree(host: string, port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const free = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      socket.once("error", () => {
        socket.close();
        resolve(false);
      });
      socket.bind(port, host, () => socket.close(() => resolve(true)));
    });
    if (free) return true;
    await sleep(10);
  }
  return false;
}

/** The runtime's shim, noting the port of each socket it binds and closes. */
export function countingNet(): { net: RuntimeNet; bound: number[]; closed: number[] } {
  const bound: number[] = [];
  const closed: number[] = [];
  const net: RuntimeNet = {
    ...runtime,
    async listenDatagram(options, onData, onError) {
      const endpoint = await runtime.listenDatagram(options, onData, onError);
      bound.push(options.port);
      return {
        local: endpoint.local,
        send: (data, to) => endpoint.send(data, to),
        close() {
          closed.push(options.port);
          endpoint.close();
        },
      };
    },
  };
  return { net, bound, closed };
}

/** A MediaEcho on the runtime's shim on 127.0.0.1 (unless told otherwise), socket errors ignored. */
export function media(options: Partial<MediaEchoOptions> & { portRange: [number, number] }): MediaEcho {
  return new MediaEcho({
    net: runtime,
    hostname: "127.0.0.1",
    onError: () => {},
    ...options,
  });
}

/** Records the stats given to `onEnd`; `next()` resolves with each in turn, waiting if need be. */
export function onEndRecorder(): {
  ended: MediaCallStats[];
  next: () => Promise<MediaCallStats>;
  onEnd: (s: MediaCallStats) => void;
} {
  const ended: MediaCallStats[] = [];
  let read = 0;
  let wake: (() => void) | undefined;
  return {
    ended,
    onEnd(s) {
      ended.push(s);
      wake?.();
    },
    async next() {
      while (ended.length <= read) await new Promise<void>((resolve) => (wake = resolve));
      return ended[read++];
    },
  };
}
