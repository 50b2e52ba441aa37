// MediaEcho on real loopback UDP: the runtime's socket shim on the echo side, node:dgram
// sockets as the callers. The same tests on Deno and on Bun. Port ranges are below the Linux
// ephemeral range (32768-60999) so that no client socket can take them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { freeBlock } from "../_ports.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { type MediaCallStats, MediaEcho, type MediaEchoOptions } from "../../src/media/echo.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import type { RuntimeNet, SocketAddress } from "../../src/net/transport.ts";
import { within, sleep, until } from "../_wait.ts";

const runtime = await detectRuntime();
/** The first of 330 ports the tests use (even), found free on both loopbacks at run time. */
const BASE = await freeBlock(330, ["127.0.0.1", "::1"]);
const encoder = new TextEncoder();
const TIMEOUT = 3000;




/** An RTP packet (RFC 3550 §5.1): version 2, no padding, extension or CSRC. */
function rtp(seq: number, ssrc: number, payload: string | number = 160, payloadType = 0): Uint8Array {
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
function rtcpRr(ssrc: number): Uint8Array {
  const packet = new Uint8Array(8);
  packet[0] = 0x80;
  packet[1] = 201;
  new DataView(packet.buffer).setUint16(2, 1);
  new DataView(packet.buffer).setUint32(4, ssrc);
  return packet;
}

/** A compound RTCP packet: an SR with no report block (28 bytes) and an SDES with one CNAME chunk. */
function rtcpSrSdes(ssrc: number): Uint8Array {
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

interface Datagram {
  data: Uint8Array;
  from: SocketAddress;
  at: number;
}

/** A caller's UDP socket that queues what it receives. */
class Client {
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
async function portIsFree(host: string, port: number): Promise<boolean> {
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
function countingNet(): { net: RuntimeNet; bound: number[]; closed: number[] } {
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

function media(options: Partial<MediaEchoOptions> & { portRange: [number, number] }): MediaEcho {
  return new MediaEcho({
    net: runtime,
    hostname: "127.0.0.1",
    onError: () => {},
    ...options,
  });
}

/** Records the stats given to `onEnd`; `next()` resolves with each in turn, waiting if need be. */
function onEndRecorder(): {
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

describe(`MediaEcho on ${runtime.name}`, () => {
  for (const host of ["127.0.0.1", "::1"]) {
    test(`open() echoes RTP unchanged to the sender's actual address and port on ${host}`, async () => {
      const echo = media({ hostname: host, portRange: [BASE, BASE + 3] });
      const a = await Client.open(host);
      const b = await Client.open(host);
      try {
        const opened = await within(echo.open("call-a", [{ index: 0 }]), "open()");
        assert.ok(opened.ok);
        assert.deepEqual(opened.ports, [{ index: 0, rtpPort: BASE, rtcpPort: BASE + 1 }]);
        const packets = [rtp(1, 0x1234, 160), rtp(2, 0x1234, "hello"), rtp(3, 0x1234, 0)];
        for (const p of packets) await a.send(p, BASE);
        for (const p of packets) {
          const got = await a.next("an RTP echo");
          assert.deepEqual(got.data, p);
          // RFC 4961: the echo leaves from the port the packet was sent to.
          assert.deepEqual(got.from, { address: host, port: BASE });
        }
        // Another source on the same call: its echo goes to it, not to the first one.
        const p = rtp(9, 0x9999, "other");
        await b.send(p, BASE);
        assert.deepEqual((await b.next("the echo to the second source")).data, p);
        const stats = echo.stats("call-a")!;
        assert.deepEqual(stats.streams[0].rtpSource, { address: host, port: b.port });
        assert.deepEqual(stats.sources, [{ address: host, port: a.port }, { address: host, port: b.port }]);
      } finally {
        a.close();
        b.close();
        await echo.closeAll();
      }
    });
  }

  test("RTCP is echoed on its own port, RTP port + 1", async () => {
    const echo = media({ portRange: [BASE + 10, BASE + 11] });
    const a = await Client.open();
    try {
      const opened = await within(echo.open("call-rtcp", [{ index: 0, rtcpMux: false }]), "open()");
      assert.ok(opened.ok);
      assert.equal(opened.ports[0].rtcpPort, BASE + 11);
      const rr = rtcpRr(0xabcdef01);
      await a.send(rr, BASE + 11);
      const got = await a.next("the RTCP echo");
      assert.deepEqual(got.data, rr);
      assert.deepEqual(got.from, { address: "127.0.0.1", port: BASE + 11 });
      const s = echo.stats("call-rtcp")!.streams[0];
      assert.deepEqual(s.rtcp, { packetsIn: 1, bytesIn: 8, packetsOut: 1, bytesOut: 8, dropped: 0 });
      assert.equal(s.rtp.packetsIn, 0);
      assert.deepEqual(s.rtcpSource, { address: "127.0.0.1", port: a.port });
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("rtcp-mux uses one port for RTP and RTCP (RFC 5761)", async () => {
    const echo = media({ portRange: [BASE + 20, BASE + 21] });
    const a = await Client.open();
    try {
      const opened = await within(echo.open("call-mux", [{ index: 0, rtcpMux: true }]), "open()");
      assert.ok(opened.ok);
      assert.deepEqual(opened.ports, [{ index: 0, rtpPort: BASE + 20, rtcpPort: undefined }]);
      assert.equal(await portIsFree("127.0.0.1", BASE + 21), true, "the odd port is not bound");
      const packet = rtp(1, 7, 20);
      const rr = rtcpRr(7);
      await a.send(packet, BASE + 20);
      await a.send(rr, BASE + 20);
      assert.deepEqual((await a.next("the RTP echo")).data, packet);
      const second = await a.next("the RTCP echo");
      assert.deepEqual(second.data, rr);
      assert.equal(second.from.port, BASE + 20);
      const s = echo.stats("call-mux")!.streams[0];
      assert.equal(s.rtcpPort, undefined);
      assert.deepEqual([s.rtp.packetsOut, s.rtcp.packetsOut], [1, 1]);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("delay holds every echo back at least that long, in order", async () => {
    const delay = 300;
    const echo = media({ portRange: [BASE + 30, BASE + 31], delay });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("call-delay", [{ index: 0 }]), "open()")).ok);
      const sentAt: number[] = [];
      for (let seq = 0; seq < 3; seq++) {
        sentAt.push(await a.send(rtp(seq, 1), BASE + 30));
        await sleep(20);
      }
      for (let seq = 0; seq < 3; seq++) {
        const got = await a.next(`delayed echo ${seq}`, delay + TIMEOUT);
        assert.equal(new DataView(got.data.buffer).getUint16(2), seq, "in order");
        const waited = got.at - sentAt[seq];
        assert.ok(waited >= delay, `echo ${seq} came back after ${waited.toFixed(1)} ms, before ${delay} ms`);
      }
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("the delay queue is bounded: packets over maxQueue are dropped and counted", async () => {
    const echo = media({ portRange: [BASE + 40, BASE + 41], delay: 1000, maxQueue: 2 });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("call-queue", [{ index: 0 }]), "open()")).ok);
      for (let seq = 0; seq < 5; seq++) await a.send(rtp(seq, 1, 10), BASE + 40);
      const seqs = [];
      for (let i = 0; i < 2; i++) seqs.push(new DataView((await a.next("a delayed echo")).data.buffer).getUint16(2));
      assert.deepEqual(seqs, [0, 1]);
      const s = echo.stats("call-queue")!;
      assert.deepEqual([s.packetsIn, s.packetsOut, s.dropped], [5, 2, 3]);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("close() drops what the delay still holds and frees the ports", async () => {
    const recorder = onEndRecorder();
    const echo = media({ portRange: [BASE + 50, BASE + 51], delay: 2000, onEnd: recorder.onEnd });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("call-held", [{ index: 0 }]), "open()")).ok);
      await a.send(rtp(1, 1), BASE + 50);
      await a.send(rtp(2, 1), BASE + 50);
      // Both are in the queue once they show in the counters.
      await until(() => echo.stats("call-held")!.packetsIn === 2, "both packets");
      const stats = echo.close("call-held")!;
      assert.deepEqual([stats.packetsIn, stats.packetsOut, stats.dropped], [2, 0, 2]);
      assert.equal(stats.reason, "closed");
      assert.deepEqual(recorder.ended.map((s) => s.reason), ["closed"]);
      assert.equal(echo.available, 1);
      assert.equal(echo.activeCalls, 0);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("ten simultaneous calls each get their own ports and their own echoes", async () => {
    const echo = media({ portRange: [BASE + 100, BASE + 119] });
    const clients = await Promise.all(Array.from({ length: 10 }, () => Client.open()));
    try {
      assert.equal(echo.capacity, 10);
      const results = await within(
        Promise.all(clients.map((_, i) => echo.open(`call-${i}`, [{ index: 0 }]))),
        "ten open()",
      );
      const ports = results.map((r) => {
        assert.ok(r.ok);
        return r.ports[0].rtpPort;
      });
      assert.equal(new Set(ports).size, 10);
      for (const port of ports) assert.ok(port % 2 === 0 && port >= BASE + 100 && port <= BASE + 118);
      assert.equal(echo.available, 0);
      await Promise.all(clients.map((c, i) => c.send(rtp(i, i, `call ${i}`), ports[i])));
      await Promise.all(clients.map(async (c, i) => {
        const got = await c.next(`the echo of call ${i}`);
        assert.deepEqual(got.data, rtp(i, i, `call ${i}`));
        assert.equal(got.from.port, ports[i]);
      }));
      for (let i = 0; i < 10; i++) {
        const s = echo.stats(`call-${i}`)!;
        assert.deepEqual([s.packetsIn, s.packetsOut], [1, 1], `call-${i}`);
        assert.deepEqual(s.sources, [{ address: "127.0.0.1", port: clients[i].port }]);
      }
    } finally {
      for (const c of clients) c.close();
      await echo.closeAll();
    }
  });

  test("an exhausted range gives no-ports (answer 503), never a crash", async () => {
    const echo = media({ portRange: [BASE + 200, BASE + 201] });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("first", [{ index: 0 }]), "open()")).ok);
      assert.deepEqual(await echo.open("second", [{ index: 0 }]), { ok: false, reason: "no-ports", status: 503 });
      assert.equal(echo.reserve("third", 0), undefined);
      assert.equal(echo.activeCalls, 1);
      assert.equal(echo.stats("second"), undefined);
      // All or nothing: a call needing two pairs when one is free gets none.
      echo.close("first");
      assert.deepEqual(await echo.open("two", [{ index: 0 }, { index: 1 }]), {
        ok: false,
        reason: "no-ports",
        status: 503,
      });
      assert.equal(echo.available, 1);
      // The first call's ports still work for a new call.
      assert.ok((await within(echo.open("fourth", [{ index: 0 }]), "open()")).ok);
      const packet = rtp(1, 1);
      await a.send(packet, BASE + 200);
      assert.deepEqual((await a.next("the echo")).data, packet);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("close() releases the ports and they are reused", async () => {
    const echo = media({ portRange: [BASE + 210, BASE + 211] });
    const a = await Client.open();
    try {
      for (const callId of ["one", "two", "three"]) {
        const opened = await within(echo.open(callId, [{ index: 0 }]), `open(${callId})`);
        assert.ok(opened.ok, `${callId}: ${JSON.stringify(opened)}`);
        assert.equal(opened.ports[0].rtpPort, BASE + 210);
        const packet = rtp(1, 1, callId);
        await a.send(packet, BASE + 210);
        assert.deepEqual((await a.next(`the echo of ${callId}`)).data, packet);
        const stats = echo.close(callId)!;
        assert.equal(stats.packetsOut, 1);
        assert.equal(echo.stats(callId), undefined);
        assert.equal(echo.available, 1);
      }
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("the inactivity timeout ends a silent call and gives onEnd its stats", async () => {
    const recorder = onEndRecorder();
    const echo = media({
      portRange: [BASE + 220, BASE + 221],
      inactivityTimeout: 200,
      onEnd: recorder.onEnd,
      now: () => performance.now(),
    });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("quiet", [{ index: 0 }]), "open()")).ok);
      await a.send(rtp(1, 5, 40), BASE + 220);
      await a.send(rtp(2, 5, 40), BASE + 220);
      await a.next("echo 1");
      await a.next("echo 2");
      const stats = await within(recorder.next(), "onEnd after the timeout");
      assert.equal(stats.reason, "timeout");
      assert.equal(stats.callId, "quiet");
      assert.deepEqual([stats.packetsIn, stats.bytesIn, stats.packetsOut, stats.bytesOut], [2, 104, 2, 104]);
      assert.ok(stats.endedAt! - stats.lastPacketAt! >= 200, "not before 200 ms of silence");
      assert.equal(echo.activeCalls, 0);
      assert.equal(echo.available, 1);
      assert.equal(await portIsFree("127.0.0.1", BASE + 220), true);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("a call that never sends anything times out too", async () => {
    const recorder = onEndRecorder();
    const echo = media({ portRange: [BASE + 230, BASE + 231], inactivityTimeout: 100, onEnd: recorder.onEnd });
    try {
      assert.equal(echo.reserve("mute", 0), BASE + 230);
      const stats = await within(recorder.next(), "onEnd after the timeout");
      assert.equal(stats.reason, "timeout");
      assert.equal(stats.firstPacketAt, undefined);
      assert.equal(stats.packetsIn, 0);
    } finally {
      await echo.closeAll();
    }
  });

  test("the counters are exact: RTP, RTCP, dropped, bytes, times, sources", async () => {
    let clock = 1000;
    const echo = media({ portRange: [BASE + 240, BASE + 241], now: () => clock });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("count", [{ index: 0 }]), "open()")).ok);
      // Not RTP version 2: counted in and dropped, never echoed.
      clock = 1005;
      await a.send(new Uint8Array(20), BASE + 240);
      await until(() => echo.stats("count")!.packetsIn === 1, "the first packet");
      clock = 1010;
      for (let seq = 0; seq < 5; seq++) await a.send(rtp(seq, 3, 160), BASE + 240);
      for (let i = 0; i < 5; i++) await a.next(`RTP echo ${i}`);
      clock = 1500;
      await a.send(rtcpRr(3), BASE + 241);
      await a.send(rtcpSrSdes(3), BASE + 241);
      await a.next("RTCP echo 1");
      await a.next("RTCP echo 2");
      const s = echo.close("count")!;
      const sdesSize = rtcpSrSdes(3).length;
      assert.deepEqual(s.streams[0].rtp, {
        packetsIn: 6,
        bytesIn: 20 + 5 * 172,
        packetsOut: 5,
        bytesOut: 5 * 172,
        dropped: 1,
      });
      assert.deepEqual(s.streams[0].rtcp, {
        packetsIn: 2,
        bytesIn: 8 + sdesSize,
        packetsOut: 2,
        bytesOut: 8 + sdesSize,
        dropped: 0,
      });
      assert.deepEqual(
        [s.packetsIn, s.bytesIn, s.packetsOut, s.bytesOut, s.dropped],
        [8, 20 + 5 * 172 + 8 + sdesSize, 7, 5 * 172 + 8 + sdesSize, 1],
      );
      assert.equal(s.packetsIn, s.packetsOut + s.dropped);
      assert.deepEqual([s.openedAt, s.firstPacketAt, s.lastPacketAt, s.endedAt], [1000, 1005, 1500, 1500]);
      assert.deepEqual(s.sources, [{ address: "127.0.0.1", port: a.port }]);
      assert.deepEqual(s.streams[0].rtpSource, { address: "127.0.0.1", port: a.port });
      assert.equal(s.streams[0].ssrc, undefined);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("rewriteSsrc puts the stream's own SSRC in RTP and in each RTCP packet", async () => {
    const echo = media({ portRange: [BASE + 250, BASE + 251], rewriteSsrc: true });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("ssrc", [{ index: 0 }]), "open()")).ok);
      const ours = echo.stats("ssrc")!.streams[0].ssrc!;
      assert.equal(typeof ours, "number");
      const sent = rtp(1, 0x11111111, "voice");
      await a.send(sent, BASE + 250);
      const got = (await a.next("the RTP echo")).data;
      assert.equal(new DataView(got.buffer).getUint32(8), ours);
      assert.deepEqual(got.subarray(12), sent.subarray(12));
      assert.deepEqual(got.subarray(0, 8), sent.subarray(0, 8));

      const compound = rtcpSrSdes(0x11111111);
      await a.send(compound, BASE + 251);
      const back = (await a.next("the RTCP echo")).data;
      const view = new DataView(back.buffer);
      assert.equal(view.getUint32(4), ours, "SR sender SSRC");
      assert.equal(view.getUint32(32), ours, "SDES chunk SSRC");
      assert.equal(back.length, compound.length);
      assert.deepEqual(back.subarray(8, 28), compound.subarray(8, 28));
      assert.deepEqual(back.subarray(36), compound.subarray(36));
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("reserve() gives the port at once, the same one again, and echoes once bound", async () => {
    const echo = media({ portRange: [BASE + 260, BASE + 263] });
    const a = await Client.open();
    try {
      const port = echo.reserve("sync", 0);
      assert.equal(port, BASE + 260);
      assert.equal(echo.reserve("sync", 0), BASE + 260);
      assert.equal(echo.port("sync", 0), BASE + 260);
      assert.equal(echo.available, 1);
      // open() of a reserved stream waits for its sockets.
      assert.deepEqual(await within(echo.open("sync", [{ index: 0 }]), "open()"), {
        ok: true,
        ports: [{ index: 0, rtpPort: BASE + 260, rtcpPort: BASE + 261 }],
      });
      const packet = rtp(1, 1);
      await a.send(packet, BASE + 260);
      assert.deepEqual((await a.next("the echo")).data, packet);
      const rr = rtcpRr(1);
      await a.send(rr, BASE + 261);
      assert.deepEqual((await a.next("the RTCP echo")).data, rr);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("reserve() binds in the same turn: a packet sent right after the answer is echoed", async () => {
    const echo = media({ portRange: [BASE + 290, BASE + 299] });
    const a = await Client.open();
    try {
      // The peer writes the port into its 200 OK and sends it; the caller answers with media at
      // once. Nothing is awaited between reserve() and the first packet.
      for (let i = 0; i < 5; i++) {
        const port = echo.reserve(`fast-${i}`, 0)!;
        const packet = rtp(i, 1, `fast ${i}`);
        await a.send(packet, port);
        assert.deepEqual((await a.next(`the echo of call ${i}`)).data, packet);
      }
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("a port another program holds: reserve() ends the call with error, open() moves on", async () => {
    const blocker = dgram.createSocket("udp4");
    await within(new Promise<void>((resolve) => blocker.bind(BASE + 270, "127.0.0.1", () => resolve())), "bind");
    const recorder = onEndRecorder();
    const echo = media({ portRange: [BASE + 270, BASE + 273], onEnd: recorder.onEnd });
    try {
      assert.equal(echo.reserve("announced", 0), BASE + 270);
      const stats = await within(recorder.next(), "onEnd with error");
      assert.equal(stats.reason, "error");
      assert.ok(stats.error instanceof Error);
      assert.equal(echo.activeCalls, 0);
      assert.equal(echo.available, 2);

      // open() has not announced anything yet: it takes the next pair.
      const opened = await within(echo.open("flexible", [{ index: 0 }]), "open()");
      assert.deepEqual(opened, { ok: true, ports: [{ index: 0, rtpPort: BASE + 272, rtcpPort: BASE + 273 }] });
      echo.close("flexible");

      // Only the blocked pair left free... and then none: bind-failed.
      const small = media({ portRange: [BASE + 270, BASE + 271] });
      try {
        const failed = await within(small.open("stuck", [{ index: 0 }]), "open()");
        assert.equal(failed.ok, false);
        assert.equal(!failed.ok && failed.reason, "bind-failed");
        assert.equal(small.activeCalls, 0);
        assert.equal(small.available, 1);
      } finally {
        await small.closeAll();
      }
    } finally {
      blocker.close();
      await echo.closeAll();
    }
  });

  test("close() keeps the pair bound: the next call takes it without binding, with counters of its own", async () => {
    const { net, bound, closed } = countingNet();
    const echo = media({ net, portRange: [BASE + 300, BASE + 303] });
    const a = await Client.open();
    try {
      const first = await within(echo.open("one", [{ index: 0 }]), "open(one)");
      assert.deepEqual(first, { ok: true, ports: [{ index: 0, rtpPort: BASE + 300, rtcpPort: BASE + 301 }] });
      const packet = rtp(1, 1, "one");
      await a.send(packet, BASE + 300);
      assert.deepEqual((await a.next("the echo of one")).data, packet);
      echo.close("one");
      assert.deepEqual([bound, closed], [[BASE + 300, BASE + 301], []]);
      assert.equal(echo.available, 2);
      // A late packet of the ended call reaches the pooled pair: dropped, not echoed.
      await a.send(rtp(2, 1, "late"), BASE + 300);
      await sleep(100);
      // The pooled pair before BASE + 302 (released longest ago, never bound): taken at once, no bind.
      assert.equal(echo.reserve("two", 0), BASE + 300);
      assert.deepEqual(bound, [BASE + 300, BASE + 301]);
      const second = rtp(3, 1, "two");
      await a.send(second, BASE + 300);
      const rr = rtcpRr(1);
      await a.send(rr, BASE + 301);
      assert.deepEqual((await a.next("the echo of two")).data, second);
      assert.deepEqual((await a.next("the RTCP echo of two")).data, rr);
      const s = echo.stats("two")!;
      assert.deepEqual([s.packetsIn, s.packetsOut, s.dropped, s.streams[0].rtcp.packetsOut], [2, 2, 0, 1]);
    } finally {
      a.close();
      await echo.closeAll();
    }
    assert.deepEqual(closed.sort(), [BASE + 300, BASE + 301]);
  });

  test("a pooled pair serves an rtcp-mux call with its odd port closed; a later call binds it again", async () => {
    const { net, bound, closed } = countingNet();
    const echo = media({ net, portRange: [BASE + 310, BASE + 311] });
    const a = await Client.open();
    try {
      assert.ok((await within(echo.open("plain", [{ index: 0 }]), "open(plain)")).ok);
      echo.close("plain");
      const muxed = await within(echo.open("mux", [{ index: 0, rtcpMux: true }]), "open(mux)");
      assert.deepEqual(muxed, { ok: true, ports: [{ index: 0, rtpPort: BASE + 310, rtcpPort: undefined }] });
      assert.deepEqual([bound, closed], [[BASE + 310, BASE + 311], [BASE + 311]]);
      assert.equal(await portIsFree("127.0.0.1", BASE + 311), true, "the odd port is not bound");
      echo.close("mux");
      assert.ok((await within(echo.open("again", [{ index: 0 }]), "open(again)")).ok);
      assert.deepEqual(bound, [BASE + 310, BASE + 311, BASE + 311]);
      const rr = rtcpRr(4);
      await a.send(rr, BASE + 311);
      assert.deepEqual((await a.next("the RTCP echo on the odd port")).data, rr);
    } finally {
      a.close();
      await echo.closeAll();
    }
  });

  test("poolSize bounds the pool: a pair beyond it is closed; 0 closes every pair", async () => {
    const { net, bound, closed } = countingNet();
    const echo = media({ net, portRange: [BASE + 320, BASE + 323], poolSize: 1 });
    try {
      assert.ok((await within(echo.open("one", [{ index: 0 }]), "open(one)")).ok);
      assert.ok((await within(echo.open("two", [{ index: 0 }]), "open(two)")).ok);
      echo.close("one");
      echo.close("two");
      assert.deepEqual(closed, [BASE + 322, BASE + 323]);
      assert.equal(await portIsFree("127.0.0.1", BASE + 322), true);
      assert.equal(echo.reserve("three", 0), BASE + 320);
      assert.deepEqual(bound, [BASE + 320, BASE + 321, BASE + 322, BASE + 323]);
    } finally {
      await echo.closeAll();
    }
    const unpooled = countingNet();
    const none = media({ net: unpooled.net, portRange: [BASE + 320, BASE + 321], poolSize: 0 });
    try {
      assert.ok((await within(none.open("one", [{ index: 0 }]), "open(one)")).ok);
      none.close("one");
      assert.deepEqual(unpooled.closed, [BASE + 320, BASE + 321]);
      assert.equal(await portIsFree("127.0.0.1", BASE + 320), true);
    } finally {
      await none.closeAll();
    }
  });

  test("closeAll() ends every call with shutdown and leaves no socket", async () => {
    const recorder = onEndRecorder();
    const echo = media({ portRange: [BASE + 280, BASE + 285], delay: 5000, inactivityTimeout: 60_000, onEnd: recorder.onEnd });
    const a = await Client.open();
    try {
      await within(
        Promise.all([echo.open("x", [{ index: 0 }]), echo.open("y", [{ index: 0, rtcpMux: true }])]),
        "open",
      );
      echo.reserve("z", 0); // still binding when closeAll() runs
      await a.send(rtp(1, 1), BASE + 280); // held by the delay when closeAll() runs
      await until(() => echo.stats("x")!.packetsIn === 1, "the packet");
      await within(echo.closeAll(), "closeAll()");
      assert.deepEqual(recorder.ended.map((s) => `${s.callId} ${s.reason}`).sort(), [
        "x shutdown",
        "y shutdown",
        "z shutdown",
      ]);
      assert.equal(recorder.ended.find((s) => s.callId === "x")!.dropped, 1);
      assert.equal(echo.activeCalls, 0);
      assert.equal(echo.available, echo.capacity);
      for (let port = BASE + 280; port <= BASE + 285; port++) {
        assert.equal(await portIsFree("127.0.0.1", port), true, `port ${port} is free`);
      }
    } finally {
      a.close();
      await echo.closeAll();
    }
  });
});

describe("MediaEcho without sockets", () => {
  const net = {
    name: "none",
    listenDatagram: () => Promise.reject(new Error("no sockets here")),
    listenStream: () => Promise.reject(new Error("no sockets here")),
  };

  test("new MediaEcho() rejects a bad port range or option", () => {
    const make = (o: Partial<MediaEchoOptions>) => () =>
      new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20001], ...o });
    assert.throws(make({ portRange: [20001, 20000] }), RangeError);
    assert.throws(make({ portRange: [0, 10] }), RangeError);
    assert.throws(make({ portRange: [65535, 65536] }), RangeError);
    assert.throws(make({ portRange: [20001, 20002] }), /holds no even port/);
    assert.throws(make({ portRange: [20000.5, 20003] }), RangeError);
    assert.throws(make({ delay: -1 }), RangeError);
    assert.throws(make({ delay: NaN }), RangeError);
    assert.throws(make({ maxQueue: 0 }), RangeError);
    assert.throws(make({ inactivityTimeout: -5 }), RangeError);
    assert.throws(make({ poolSize: -1 }), RangeError);
    assert.throws(make({ hostname: "" }), TypeError);
    assert.throws(() => new MediaEcho({ hostname: "x", portRange: [1, 2] } as unknown as MediaEchoOptions), TypeError);
    assert.equal(make({ portRange: [20001, 20004] })().capacity, 1);
    assert.equal(make({ portRange: [20000, 29999] })().capacity, 5000);
  });

  test("reserve() rejects a negative or fractional index", () => {
    const echo = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20001] });
    assert.throws(() => echo.reserve("c", -1), RangeError);
    assert.throws(() => echo.reserve("c", 0.5), RangeError);
    assert.equal(echo.available, 1);
  });

  test("MediaEcho.offeredStreams() lists the RTP m-lines with a port, with their rtcp-mux", () => {
    const offer = parseSdp(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
        "m=audio 49170 RTP/AVP 0\r\n" +
        "m=video 49172 RTP/AVPF 96\r\na=rtcp-mux\r\n" +
        "m=audio 0 RTP/AVP 0\r\n" +
        "m=image 49174 udptl t38\r\n" +
        "m=audio 49176 UDP/TLS/RTP/SAVPF 111\r\n",
    );
    assert.deepEqual(MediaEcho.offeredStreams(offer), [
      { index: 0, rtcpMux: false },
      { index: 1, rtcpMux: true },
      { index: 4, rtcpMux: false },
    ]);
  });
});
