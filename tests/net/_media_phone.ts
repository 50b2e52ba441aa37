// A hand-written caller for the media-flow tests (DTMF, announcements, recording) on loopback UDP:
// a SIP socket and an RTP socket from node:dgram, its requests written by hand; echo_call_test.ts
// uses it too.
import dgram from "node:dgram";
import type { SipServer } from "../../src/net/serve.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import type { SipMessage, SipRequest, SipResponse } from "../../src/sip/message.ts";
import { within } from "../_wait.ts";

const encoder = new TextEncoder();
/** How long to wait for a datagram, ms. */
export const TIMEOUT = 3000;
/** The address of every socket. */
export const HOST = "127.0.0.1";
/** The first of 120 media ports the tests use (even), found free at run time. */

// ---------------------------------------------------------------------------------------------
// Helpers

/** An RTP packet (RFC 3550 §5.1): version 2, PCMU, 160 bytes of payload. */
export function rtp(seq: number, ssrc: number): Uint8Array {
  const packet = new Uint8Array(172);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  view.setUint16(2, seq);
  view.setUint32(4, seq * 160);
  view.setUint32(8, ssrc);
  for (let i = 12; i < packet.length; i++) packet[i] = (seq + i) & 0xff;
  return packet;
}

export interface Datagram {
  data: Uint8Array;
  from: { address: string; port: number };
  at: number;
}

/** A UDP socket with a bounded wait for what arrives. */
export class Socket {
  readonly items: Datagram[] = [];
  readonly socket = dgram.createSocket("udp4");
  #waiters: (() => void)[] = [];

  static async open(): Promise<Socket> {
    const s = new Socket();
    s.socket.on("message", (data, rinfo) => {
      s.items.push({
        data: new Uint8Array(data),
        from: { address: rinfo.address, port: rinfo.port },
        at: performance.now(),
      });
      for (const w of s.#waiters.splice(0)) w();
    });
    await within(new Promise<void>((resolve) => s.socket.bind(0, HOST, resolve)), "a UDP bind");
    return s;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends one datagram; resolves with performance.now() once it has left. */
  send(data: Uint8Array | string, port: number): Promise<number> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    return within(
      new Promise<number>((resolve, reject) =>
        this.socket.send(bytes, port, HOST, (e) => e ? reject(e) : resolve(performance.now()))
      ),
      "a UDP send",
    );
  }

  /** Takes the first datagram that matches, waiting at most `ms`. */
  async next(what: string, match: (d: Datagram) => boolean = () => true, ms = TIMEOUT): Promise<Datagram> {
    const deadline = performance.now() + ms;
    for (;;) {
      const i = this.items.findIndex(match);
      if (i >= 0) return this.items.splice(i, 1)[0];
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await within(new Promise<void>((resolve) => this.#waiters.push(resolve)), what, left).catch(() => {});
    }
  }

  close(): void {
    try {
      this.socket.close();
    } catch { /* already closed */ }
  }
}

/** The SIP message a datagram holds, if it parses. */
export function sipOf(d: Datagram): SipMessage | undefined {
  try {
    return parseMessage(d.data);
  } catch {
    return undefined;
  }
}

/** A caller: a SIP socket and an RTP socket; writes its requests by hand. */
export class Phone {
  readonly sip: Socket;
  readonly rtp: Socket;
  readonly server: SipServer;
  #branch = 0;

  private constructor(server: SipServer, sip: Socket, rtp: Socket) {
    this.server = server;
    this.sip = sip;
    this.rtp = rtp;
  }

  static async open(server: SipServer): Promise<Phone> {
    const sip = await Socket.open();
    try {
      return new Phone(server, sip, await Socket.open());
    } catch (e) {
      sip.close();
      throw e;
    }
  }

  get serverPort(): number {
    return this.server.addresses[0].port;
  }

  offer(rtcpMux = false): string {
    return "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
      `m=audio ${this.rtp.port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n` +
      (rtcpMux ? "a=rtcp-mux\r\n" : "");
  }

  /** A request of this phone's; `branch` defaults to a new one. */
  request(
    method: string,
    callId: string,
    o: { user?: string; toTag?: string; cseq?: number; branch?: string; body?: string; type?: string } = {},
  ): string {
    const body = o.body ?? "";
    const uri = `sip:${o.user ?? "echo"}@${HOST}:${this.serverPort}`;
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${HOST}:${this.sip.port};rport;branch=${o.branch ?? `z9hG4bK-${callId}-${++this.#branch}`}`,
      "Max-Forwards: 70",
      `From: <sip:phone@${HOST}>;tag=ph-${callId}`,
      `To: <${uri}>${o.toTag === undefined ? "" : `;tag=${o.toTag}`}`,
      `Call-ID: ${callId}`,
      `CSeq: ${o.cseq ?? 1} ${method}`,
      `Contact: <sip:phone@${HOST}:${this.sip.port}>`,
      ...(body === "" ? [] : [`Content-Type: ${o.type ?? "application/sdp"}`]),
      `Content-Length: ${encoder.encode(body).length}`,
      "",
      body,
    ].join("\r\n");
  }

  /** The next response of `status` to `method` of this call. */
  async response(callId: string, method: string, status: number, ms = TIMEOUT): Promise<SipResponse> {
    const d = await this.sip.next(`${status} to ${method} ${callId}`, (d) => {
      const m = sipOf(d);
      return m?.type === "response" && m.callId === callId && m.cseq.method === method && m.status === status;
    }, ms);
    return parseMessage(d.data) as SipResponse;
  }

  /** The next request of `method` the server sends in this call. */
  async incoming(
    callId: string,
    method: string,
    ms = TIMEOUT,
  ): Promise<{ request: SipRequest; from: Datagram["from"] }> {
    const d = await this.sip.next(`${method} from the server in ${callId}`, (d) => {
      const m = sipOf(d);
      return m?.type === "request" && m.callId === callId && m.method === method;
    }, ms);
    return { request: parseMessage(d.data) as SipRequest, from: d.from };
  }

  /** INVITE with an offer, then the 200; returns the answer's port and address, and the To tag. */
  async call(callId: string, o: { user?: string; rtcpMux?: boolean } = {}) {
    await this.sip.send(this.request("INVITE", callId, { user: o.user, body: this.offer(o.rtcpMux) }), this.serverPort);
    const ok = await this.response(callId, "INVITE", 200);
    const sdp = parseSdp(ok.bodyText);
    return {
      ok,
      toTag: ok.to.tag!,
      port: sdp.media[0].port,
      address: (sdp.media[0].connection ?? sdp.connection)!.address,
    };
  }

  ack(callId: string, toTag: string): Promise<number> {
    return this.sip.send(this.request("ACK", callId, { toTag }), this.serverPort);
  }

  async bye(callId: string, toTag: string): Promise<SipResponse> {
    await this.sip.send(this.request("BYE", callId, { toTag, cseq: 2 }), this.serverPort);
    return await this.response(callId, "BYE", 200);
  }

  /** Sends RTP packets to `port` and waits for each echo; returns the echoes in order. */
  async echo(port: number, count: number, ssrc = 0x1234): Promise<Datagram[]> {
    const echoes: Datagram[] = [];
    for (let seq = 0; seq < count; seq++) {
      const packet = rtp(seq, ssrc);
      await this.rtp.send(packet, port);
      echoes.push(await this.rtp.next(`the echo of RTP packet ${seq} from port ${port}`, (d) => d.from.port === port));
    }
    return echoes;
  }

  close(): void {
    this.sip.close();
    this.rtp.close();
  }
}

/** serve() on 127.0.0.1 UDP with the echo on; its events collected. */
