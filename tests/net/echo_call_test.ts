// The echo test end to end: serve() with `media` on loopback UDP, calls written by hand from
// node:dgram sockets, RTP sent to the port each SDP answer names and checked when it comes back.
// The same tests on Deno and on Bun. Media ports are taken from a block of 120 found free at
// run time below the Linux ephemeral range (32768-60999), so no client socket can hold them and
// another run at the same time does not collide; every network wait gives up after TIMEOUT ms;
// every socket and server is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { freeBlock } from "../_ports.ts";
import net from "node:net";
import { StreamFramer } from "../../src/sip/framer.ts";
import { serve, type ServeOptions, type SipServer } from "../../src/net/serve.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import type { SipMessage, SipRequest, SipResponse } from "../../src/sip/message.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { sleep, until, within } from "../_wait.ts";
import { HOST, Phone, rtp, sipOf, Socket } from "./_media_phone.ts";

/** The first of 120 media ports the tests use (even), found free at run time. */
const BASE = await freeBlock(120);

/** serve() on 127.0.0.1 UDP with the echo on; its events collected. */
async function echoServer(
  media: ServeOptions["media"],
  extra: Partial<ServeOptions> = {},
): Promise<{ server: SipServer; events: PeerEvent[] }> {
  const events: PeerEvent[] = [];
  const server = await serve({
    listen: [{ transport: "udp", hostname: HOST, port: 0 }],
    media,
    onEvent: (e) => void events.push(e),
    // Every call comes from one client here, on ranges of a few ports: a tenth of them would be
    // under one stream (the public shares are tested in edge_test.ts).
    edge: "lab",
    ...extra,
  });

  return { server, events };
}

function stop(server: SipServer): Promise<void> {
  return within(server.close(), "server.close()");
}

// ---------------------------------------------------------------------------------------------

describe("serve({ media }): RTP echo per call", () => {
  test("a call gets an echo port at the advertised address; RTP comes back unchanged from it; BYE releases", async () => {
    const { server, events } = await echoServer({ portRange: [BASE, BASE + 9] });
    const phone = await Phone.open(server);
    try {
      assert.equal(server.media?.capacity, 5);
      const call = await phone.call("echo-1");
      assert.equal(call.address, HOST);
      assert.ok(call.port >= BASE && call.port <= BASE + 8 && call.port % 2 === 0, `port ${call.port}`);
      await phone.ack("echo-1", call.toTag);
      const sent = [0, 1, 2, 3, 4].map((seq) => rtp(seq, 0x1234));
      const echoes = await phone.echo(call.port, 5);
      // Symmetric RTP (RFC 4961): from the answered port, byte for byte what was sent.
      assert.deepEqual(echoes.map((e) => e.from), sent.map(() => ({ address: HOST, port: call.port })));
      assert.deepEqual(echoes.map((e) => e.data), sent);
      const stats = server.media!.stats("echo-1")!;
      assert.deepEqual([stats.packetsIn, stats.packetsOut, stats.bytesIn, stats.bytesOut], [5, 5, 860, 860]);
      assert.deepEqual(stats.sources, [{ address: HOST, port: phone.rtp.port }]);
      assert.equal(server.media!.available, 4);

      await phone.bye("echo-1", call.toTag);
      await until(() => server.media!.available === 5, "the ports to be released");
      assert.equal(server.media!.stats("echo-1"), undefined);
      const ended = events.find((e) => e.kind === "media");
      assert.equal(ended?.media?.packetsIn, 5);
      assert.equal(ended?.media?.packetsOut, 5);
      assert.match(
        ended!.message,
        /^call echo-1 ended \(bye\) after \d+\.\d s: port \d+ rtp 5 in 5 out \(860\/860 bytes\)/,
      );
      assert.match(ended!.message, new RegExp(`from 127\\.0\\.0\\.1:${phone.rtp.port}$`));
    } finally {
      phone.close();
      await stop(server);
    }
  });

  test("media: true uses the default range; without media the answer keeps the placeholder port", async () => {
    const on = await serve({ listen: [{ transport: "udp", hostname: HOST, port: 0 }], media: true });
    const off = await serve({ listen: [{ transport: "udp", hostname: HOST, port: 0 }] });
    try {
      assert.equal(on.media?.capacity, 5000);
      assert.equal(off.media, undefined);
      const phone = await Phone.open(off);
      try {
        const call = await phone.call("placeholder");
        assert.equal(call.port, 4000);
        await phone.ack("placeholder", call.toTag);
        await phone.bye("placeholder", call.toTag);
      } finally {
        phone.close();
      }
      await assert.rejects(
        serve({ listen: [{ transport: "udp", hostname: HOST, port: 0 }], media: true, rtpPort: () => 4000 }),
        TypeError,
      );
      await assert.rejects(
        serve({ listen: [{ transport: "udp", hostname: HOST, port: 0 }], media: true, stateless: true }),
        /a stateless peer has no RTP echo/,
      );
    } finally {
      await stop(on);
      await stop(off);
    }
  });

  test("with delay, each echo comes back no earlier than the delay", async () => {
    const delay = 150;
    const { server } = await echoServer({ portRange: [BASE + 10, BASE + 11], delay });
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("delayed");
      await phone.ack("delayed", call.toTag);
      const sentAt = [];
      for (let seq = 0; seq < 3; seq++) sentAt.push(await phone.rtp.send(rtp(seq, 7), call.port));
      for (let seq = 0; seq < 3; seq++) {
        const echo = await phone.rtp.next(
          `delayed echo ${seq}`,
          (d) => new DataView(d.data.buffer).getUint16(2) === seq,
        );
        assert.deepEqual(echo.data, rtp(seq, 7));
        // Lower bound only: a loaded machine may add any amount.
        assert.ok(echo.at - sentAt[seq] >= delay - 1, `echo ${seq} after ${echo.at - sentAt[seq]} ms`);
      }
      await phone.bye("delayed", call.toTag);
    } finally {
      phone.close();
      await stop(server);
    }
  });

  test("ten simultaneous calls each get their own port pair and their own echo", async () => {
    const { server } = await echoServer({ portRange: [BASE + 20, BASE + 39] });
    const phones = await Promise.all(Array.from({ length: 10 }, () => Phone.open(server)));
    try {
      const calls = await Promise.all(phones.map((p, i) => p.call(`many-${i}`)));
      await Promise.all(phones.map((p, i) => p.ack(`many-${i}`, calls[i].toTag)));
      const ports = calls.map((c) => c.port);
      assert.equal(new Set(ports).size, 10, `ports ${ports}`);
      assert.equal(server.media!.available, 0);
      const echoes = await Promise.all(phones.map((p, i) => p.echo(ports[i], 3, 0x100 + i)));
      echoes.forEach((list, i) => {
        assert.deepEqual(list.map((e) => e.data), [0, 1, 2].map((seq) => rtp(seq, 0x100 + i)));
        assert.ok(list.every((e) => e.from.port === ports[i]));
        assert.equal(server.media!.stats(`many-${i}`)!.packetsOut, 3);
      });
      // Nothing crossed over: each phone's RTP socket got only its own three echoes.
      assert.ok(phones.every((p) => p.rtp.items.length === 0));
      await Promise.all(phones.map((p, i) => p.bye(`many-${i}`, calls[i].toTag)));
      await until(() => server.media!.available === 10, "all ports to be released");
    } finally {
      for (const p of phones) p.close();
      await stop(server);
    }
  });

  test("an exhausted range answers 503 with Retry-After; after a BYE a new call reuses the ports", async () => {
    const { server } = await echoServer({ portRange: [BASE + 40, BASE + 41] }, { retryAfter: 9 });
    const phone = await Phone.open(server);
    try {
      const first = await phone.call("one");
      assert.equal(first.port, BASE + 40);
      await phone.ack("one", first.toTag);
      await phone.sip.send(phone.request("INVITE", "two", { body: phone.offer() }), phone.serverPort);
      const busy = await phone.response("two", "INVITE", 503);
      assert.equal(busy.headers.get("Retry-After"), "9");
      assert.match(busy.reason, /no RTP port/);
      await phone.sip.send(
        phone.request("ACK", "two", { toTag: busy.to.tag, branch: busy.via[0].branch! }),
        phone.serverPort,
      );
      assert.equal(server.peer.dialogs.length, 1);

      await phone.bye("one", first.toTag);
      await until(() => server.media!.available === 1, "the ports of the first call");
      const third = await phone.call("three");
      assert.equal(third.port, BASE + 40);
      await phone.ack("three", third.toTag);
      assert.equal((await phone.echo(third.port, 1))[0].from.port, BASE + 40);
      await phone.bye("three", third.toTag);
    } finally {
      phone.close();
      await stop(server);
    }
  });

  test("a silent call ends with a BYE from the peer, built from the dialog (RFC 3261 §12.2.1.1), resent until answered", async () => {
    const { server, events } = await echoServer(
      { portRange: [BASE + 50, BASE + 51], inactivityTimeout: 300 },
      { timers: { T1: 50 } },
    );
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("silent");
      await phone.ack("silent", call.toTag);
      await phone.echo(call.port, 2);
      const { request: bye, from } = await phone.incoming("silent", "BYE");
      assert.deepEqual(from, { address: HOST, port: phone.serverPort });
      assert.equal(bye.uri, `sip:phone@${HOST}:${phone.sip.port}`); // the remote target: our Contact
      assert.equal(bye.from.tag, call.toTag);
      assert.equal(bye.from.uri, `sip:echo@${HOST}:${phone.serverPort}`);
      assert.equal(bye.to.tag, "ph-silent");
      assert.deepEqual(bye.cseq, { seq: 1, method: "BYE" });
      assert.match(bye.via[0].branch!, /^z9hG4bK/);
      // Not answered: Timer E sends it again, same branch.
      const again = await phone.incoming("silent", "BYE");
      assert.equal(again.request.via[0].branch, bye.via[0].branch);
      const ok = `SIP/2.0 200 OK\r\nVia: ${bye.headers.get("Via")}\r\nFrom: ${bye.headers.get("From")}\r\n` +
        `To: ${bye.headers.get("To")}\r\nCall-ID: silent\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`;
      await phone.sip.send(ok, phone.serverPort);
      await until(() => events.some((e) => e.kind === "bye" && /200 OK/.test(e.message)), "the 200 to the BYE");
      const count = phone.sip.items.length;
      await sleep(250); // more than Timer E's next interval: no more copies
      assert.equal(phone.sip.items.length, count, "BYE resent after its 200");
      assert.equal(server.peer.dialogs.length, 0);
      assert.equal(server.media!.available, 1);
      const ended = events.find((e) => e.kind === "media");
      assert.equal(ended?.media?.reason, "timeout");
      assert.equal(ended?.media?.packetsIn, 2);
      assert.match(ended!.message, /^call silent ended \(timeout\)/);
      // The caller's BYE now finds no dialog.
      await phone.sip.send(phone.request("BYE", "silent", { toTag: call.toTag, cseq: 2 }), phone.serverPort);
      await phone.response("silent", "BYE", 481);
    } finally {
      phone.close();
      await stop(server);
    }
  });

  test("media that ends before the ACK: the BYE waits for the ACK (RFC 3261 §15)", async () => {
    const { server } = await echoServer({ portRange: [BASE + 100, BASE + 101], inactivityTimeout: 100 }, {
      timers: { T1: 20 },
    });
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("late-ack");
      await until(() => server.media!.available === 1, "the media timeout");
      assert.equal(phone.sip.items.some((d) => sipOf(d)?.type === "request"), false, "a BYE before the ACK");
      await phone.ack("late-ack", call.toTag);
      const sentAt = performance.now();
      const { request } = await phone.incoming("late-ack", "BYE");
      assert.equal(request.to.tag, "ph-late-ack");
      // Sent once Timer L (64*T1 = 1280 ms from the 2xx) has run out: after the ACK, not at it.
      assert.ok(performance.now() - sentAt > 100, "the BYE came at once");
    } finally {
      phone.close();
      await stop(server);
    }
  });

  test("CANCEL of a ringing call releases its ports (487)", async () => {
    // `slow` answers after 3 s; its 200 is written, ports included, when the INVITE arrives.
    const { server, events } = await echoServer({ portRange: [BASE + 60, BASE + 61] });
    const phone = await Phone.open(server);
    try {
      const invite = phone.request("INVITE", "cancel-me", { user: "slow", body: phone.offer(), branch: "z9hG4bK-cm" });
      await phone.sip.send(invite, phone.serverPort);
      await phone.response("cancel-me", "INVITE", 180);
      assert.equal(server.media!.available, 0);
      await phone.sip.send(
        phone.request("CANCEL", "cancel-me", { user: "slow", branch: "z9hG4bK-cm" }),
        phone.serverPort,
      );
      await phone.response("cancel-me", "CANCEL", 200);
      const terminated = await phone.response("cancel-me", "INVITE", 487);
      await phone.sip.send(
        phone.request("ACK", "cancel-me", { user: "slow", branch: "z9hG4bK-cm", toTag: terminated.to.tag }),
        phone.serverPort,
      );
      await until(() => server.media!.available === 1, "the ports of the cancelled call");
      assert.match(events.find((e) => e.kind === "media")!.message, /^call cancel-me ended \(cancelled\)/);
    } finally {
      phone.close();
      await stop(server);
    }
  });

  test("a 2xx never acknowledged (RFC 3261 §13.3.1.4) and a Timer C 408 release their ports", async () => {
    const rules = parseRules('[{ "match": { "user": "early" }, "respond": { "status": 183, "body": "sdp" } }]');
    const { server, events } = await echoServer(
      { portRange: [BASE + 70, BASE + 73] },
      { rules, timers: { T1: 10, C: 300 } },
    );
    const phone = await Phone.open(server);
    try {
      await phone.call("no-ack"); // never acknowledged: dropped after 64*T1 = 640 ms
      await phone.sip.send(phone.request("INVITE", "early", { user: "early", body: phone.offer() }), phone.serverPort);
      const early = await phone.response("early", "INVITE", 183);
      assert.ok(parseSdp(early.bodyText).media[0].port >= BASE + 70);
      assert.equal(server.media!.available, 0);
      await phone.response("early", "INVITE", 408);
      await until(() => server.media!.available === 2, "both calls' ports to be released");
      const reasons = events.filter((e) => e.kind === "media").map((e) => /\((\S+)\)/.exec(e.message)![1]).sort();
      assert.deepEqual(reasons, ["no-ack", "timeout"]);
      assert.equal(server.peer.dialogs.length, 0);
    } finally {
      phone.close();
      await stop(server);
    }
  });

  test("rtcp-mux: RTP and RTCP are echoed on the one port; without it RTCP is echoed on the odd port", async () => {
    const { server } = await echoServer({ portRange: [BASE + 80, BASE + 83] });
    const phone = await Phone.open(server);
    try {
      const muxed = await phone.call("mux", { rtcpMux: true });
      assert.match(muxed.ok.bodyText, /a=rtcp-mux/);
      await phone.ack("mux", muxed.toTag);
      const rr = new Uint8Array([0x80, 201, 0, 1, 0, 0, 0, 9]); // an empty receiver report (RFC 3550 §6.4.2)
      await phone.rtp.send(rr, muxed.port);
      assert.deepEqual(
        (await phone.rtp.next("the RTCP echo on the RTP port", (d) => d.from.port === muxed.port)).data,
        rr,
      );
      const plain = await phone.call("plain");
      await phone.ack("plain", plain.toTag);
      await phone.rtp.send(rr, plain.port + 1);
      assert.deepEqual(
        (await phone.rtp.next("the RTCP echo on the odd port", (d) => d.from.port === plain.port + 1)).data,
        rr,
      );
      assert.equal(server.media!.stats("plain")!.streams[0].rtcp.packetsOut, 1);
      await phone.bye("mux", muxed.toTag);
      await phone.bye("plain", plain.toTag);
    } finally {
      phone.close();
      await stop(server);
    }
  });
});

test("serve({ media }) over TCP: the peer's BYE goes back on the caller's connection", async () => {
  const { server, events } = await echoServer(
    { portRange: [BASE + 90, BASE + 91], inactivityTimeout: 200 },
    { listen: [{ transport: "tcp", hostname: HOST, port: 0 }] },
  );
  const rtpSocket = await Socket.open();
  const conn = net.connect({ host: HOST, port: server.addresses[0].port, noDelay: true });
  const framer = new StreamFramer();
  const inbox: SipMessage[] = [];
  conn.on("error", () => {});
  conn.on("data", (d: Uint8Array) => {
    for (const ev of framer.push(new Uint8Array(d))) {
      if (ev.type === "message") inbox.push(parseMessage(ev.bytes, { stream: true }));
    }
  });
  const write = (text: string) =>
    within(new Promise<void>((resolve, reject) => conn.write(text, (e) => e ? reject(e) : resolve())), "a TCP write");
  const take = async (what: string, match: (m: SipMessage) => boolean) => {
    await until(() => inbox.some(match), what);
    return inbox.splice(inbox.findIndex(match), 1)[0];
  };
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        conn.once("connect", resolve);
        conn.once("error", reject);
      }),
      "the TCP connection",
    );
    const local = `${HOST}:${conn.localPort}`;
    const uri = `sip:echo@${HOST}:${server.addresses[0].port};transport=tcp`;
    const offer = "v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
      `m=audio ${rtpSocket.port} RTP/AVP 0\r\n`;
    const head = (method: string, branch: string, toTag = "") =>
      `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/TCP ${local};branch=${branch}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:tcp@${HOST}>;tag=t1\r\nTo: <${uri}>${toTag}\r\nCall-ID: over-tcp\r\nCSeq: 1 ${method}\r\n` +
      `Contact: <sip:tcp@${local};transport=tcp>\r\n`;
    await write(
      head("INVITE", "z9hG4bK-t1") + `Content-Type: application/sdp\r\nContent-Length: ${offer.length}\r\n\r\n${offer}`,
    );
    const ok = await take("the 200", (m) => m.type === "response" && m.status === 200) as SipResponse;
    await write(head("ACK", "z9hG4bK-t2", `;tag=${ok.to.tag}`) + "Content-Length: 0\r\n\r\n");
    const bye = await take("the BYE", (m) => m.type === "request" && m.method === "BYE") as SipRequest;
    assert.equal(bye.via[0].transport, "TCP");
    assert.equal(bye.uri, `sip:tcp@${local};transport=tcp`);
    await write(
      `SIP/2.0 200 OK\r\nVia: ${bye.headers.get("Via")}\r\nFrom: ${bye.headers.get("From")}\r\nTo: ${
        bye.headers.get("To")
      }\r\n` +
        `Call-ID: over-tcp\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`,
    );
    await until(() => events.some((e) => e.kind === "bye" && /200 OK/.test(e.message)), "the 200 to the BYE");
    assert.equal(server.media!.available, 1);
    assert.equal(inbox.filter((m) => m.type === "request").length, 0, "a BYE resent over TCP");
  } finally {
    conn.destroy();
    rtpSocket.close();
    await stop(server);
  }
});
