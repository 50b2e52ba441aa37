// The ports of MediaEcho on real loopback UDP: an exhausted range, ports reused, a port another
// program holds, the pool of bound pairs. The runtime's socket shim on the echo side, node:dgram
// sockets as the callers; the same tests on Deno and on Bun. Port ranges are below the Linux
// ephemeral range (32768-60999) so that no client socket can take them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { freeBlock } from "../_ports.ts";
import { sleep, within } from "../_wait.ts";
import { Client, countingNet, media, onEndRecorder, portIsFree, rtcpRr, rtp, runtime } from "./_echo.ts";

/** The first of 330 ports the tests use (even), found free at run time. */
const BASE = await freeBlock(330);

describe(`MediaEcho ports on ${runtime.name}`, () => {
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
});
