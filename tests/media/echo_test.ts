// MediaEcho on real loopback UDP: the runtime's socket shim on the echo side, node:dgram
// sockets as the callers. The same tests on Deno and on Bun. Port ranges are below the Linux
// ephemeral range (32768-60999) so that no client socket can take them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { freeBlock } from "../_ports.ts";
import { MediaEcho, type MediaEchoOptions } from "../../src/media/echo.ts";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { sleep, until, within } from "../_wait.ts";
import { Client, media, onEndRecorder, portIsFree, rtcpRr, rtcpSrSdes, rtp, runtime, TIMEOUT } from "./_echo.ts";

/** The first of 330 ports the tests use (even), found free on both loopbacks at run time. */
const BASE = await freeBlock(330, ["127.0.0.1", "::1"]);

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

  test("closeAll() ends every call with shutdown and leaves no socket", async () => {
    const recorder = onEndRecorder();
    const echo = media({
      portRange: [BASE + 280, BASE + 285],
      delay: 5000,
      inactivityTimeout: 60_000,
      onEnd: recorder.onEnd,
    });
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
