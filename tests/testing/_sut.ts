// Stand-ins for a system under test that the mock peer talks to, driven by hand, and helpers on
// recorded traffic: shared by the mock peer's tests.
import dgram from "node:dgram";
import { parseMessage, type SipMessage, type SipRequest } from "../../mod.ts";
import { type SocketAddress } from "../../src/sip/mod.ts";

const encoder = new TextEncoder();

/** Short SIP timers, so that retransmissions and timeouts take milliseconds. */
export const FAST = { T1: 10, T2: 40, T4: 50 };

/** A datagram the stand-in received: parsed, with when and whence. */
export interface Datagram {
  message: SipMessage;
  at: number;
  from: SocketAddress;
}

/** A bare UDP socket standing in for a system under test that the test drives by hand. */
export async function rawUdp() {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const inbox: Datagram[] = [];
  socket.on("message", (data, info) => {
    // When it arrived, before parsing: the gaps between retransmissions are measured with it.
    const at = Date.now();
    inbox.push({ message: parseMessage(new Uint8Array(data)), at, from: { address: info.address, port: info.port } });
  });
  return {
    port: socket.address().port,
    uri: (user: string) => `sip:${user}@127.0.0.1:${socket.address().port}`,
    inbox,
    requests: (method: string) =>
      inbox.filter((d) => d.message.type === "request" && d.message.method === method) as (Datagram & {
        message: SipRequest;
      })[],
    send(text: string, to: SocketAddress) {
      socket.send(encoder.encode(text), to.port, to.address);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A response to a request, as a UAS would write it (RFC 3261 §8.2.6.2). */
export function reply(request: SipRequest, status: number, reason: string, toTag?: string, extra = ""): string {
  const via = request.headers.getFields("Via").map((v) => `Via: ${v}\r\n`).join("");
  const to = request.headers.get("To") + (toTag === undefined || request.to.tag ? "" : `;tag=${toTag}`);
  return `SIP/2.0 ${status} ${reason}\r\n${via}From: ${request.headers.get("From")}\r\nTo: ${to}\r\n` +
    `Call-ID: ${request.callId}\r\nCSeq: ${request.headers.get("CSeq")}\r\n${extra}Content-Length: 0\r\n\r\n`;
}

/** The status codes of the responses among `entries`. */
export function statuses(entries: readonly { message: SipMessage }[]): number[] {
  return entries.flatMap((e) => e.message.type === "response" ? [e.message.status] : []);
}

/** The methods of the requests among `entries`. */
export function methods(entries: readonly { message: SipMessage }[]): string[] {
  return entries.flatMap((e) => e.message.type === "request" ? [e.message.method] : []);
}
