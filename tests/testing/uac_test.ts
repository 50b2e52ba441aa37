// The mock peer's UAC, MockPeer.request(), against a system under test driven by hand on real
// loopback sockets (RFC 3261 §17.1, §12, §13): the same tests on Deno and on Bun. Connections it
// opens itself are tested in uac_connect_test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mockPeer, MockTimeoutError, parseMessage, type SipMessage, type SipRequest } from "../../mod.ts";
import { StreamFramer } from "../../src/sip/mod.ts";
import { sleep, until } from "../_wait.ts";
import { FAST, rawUdp, reply, statuses } from "./_sut.ts";

describe("MockPeer.request()", () => {
  test("request() retransmits a non-INVITE on UDP by Timer E until the response (RFC 3261 §17.1.2.2)", async () => {
    const sut = await rawUdp();
    try {
      await using peer = await mockPeer({ timers: FAST });
      // The copies are timed from the first one, so it must leave on time: the first datagrams a
      // process sends can be late while the runtime's socket path warms up (the mock calls itself).
      await peer.request({ method: "OPTIONS", uri: peer.uri });
      const pending = peer.request({ method: "OPTIONS", uri: sut.uri("sut") });
      await until(() => sut.requests("OPTIONS").length >= 4, "four copies");
      const copies = sut.requests("OPTIONS");
      // Intervals T1, 2*T1, 4*T1 (capped at T2 = 40 ms), each counted from when the last copy was
      // due: copies at T1, 3*T1 and 7*T1 after the first. A timer may fire late, never early, and
      // one that fired late does not push the next one back. The times are when this side read
      // each copy, so the first may be read up to a few ms late on a loaded machine: 3 ms of slack.
      const offsets = copies.slice(1, 4).map((c) => c.at - copies[0].at);
      assert.ok(offsets[0] >= 7 && offsets[1] >= 27 && offsets[2] >= 67, offsets.join());

      assert.ok(copies.every((c) => c.message.via[0].branch === copies[0].message.via[0].branch));
      const request = copies[0].message;
      assert.match(request.via[0].branch!, /^z9hG4bK/);
      assert.equal(request.via[0].rport, null);
      sut.send(reply(request, 200, "OK", "t1"), copies[0].from);
      const result = await pending;
      assert.equal(result.status, 200);
      const count = sut.requests("OPTIONS").length;
      await sleep(50);
      assert.equal(sut.requests("OPTIONS").length, count, "no retransmission after the final response");
    } finally {
      await sut.close();
    }
  });

  test("request() retransmits an INVITE by Timer A until a 1xx, then ACKs a non-2xx in its transaction", async () => {
    const sut = await rawUdp();
    try {
      await using peer = await mockPeer({ timers: FAST });
      const pending = peer.request({ method: "INVITE", uri: sut.uri("sut"), sdp: true });
      await until(() => sut.requests("INVITE").length >= 3, "three copies");
      const invite = sut.requests("INVITE")[0];
      sut.send(reply(invite.message, 100, "Trying"), invite.from);
      await until(() => statuses(peer.received).includes(100), "the 100 at the mock");
      const after100 = sut.requests("INVITE").length;
      await sleep(60);
      assert.equal(sut.requests("INVITE").length, after100, "RFC 3261 §17.1.1.2: no retransmission in Proceeding");
      sut.send(reply(invite.message, 486, "Busy Here", "callee"), invite.from);
      const result = await pending;
      assert.equal(result.status, 486);
      assert.deepEqual(result.provisional.map((r) => r.status), [100]);
      await until(() => sut.requests("ACK").length === 1, "the ACK");
      // RFC 3261 §17.1.1.3: same branch, Request-URI, Call-ID, CSeq number; To from the response.
      const ack = sut.requests("ACK")[0].message;
      assert.equal(ack.uri, invite.message.uri);
      assert.equal(ack.via.length, 1);
      assert.equal(ack.via[0].branch, invite.message.via[0].branch);
      assert.equal(ack.cseq.seq, invite.message.cseq.seq);
      assert.equal(ack.cseq.method, "ACK");
      assert.equal(ack.to.tag, "callee");
      assert.equal(ack.callId, invite.message.callId);
      // A retransmitted final response gets the ACK again (Timer D keeps the transaction).
      sut.send(reply(invite.message, 486, "Busy Here", "callee"), invite.from);
      await until(() => sut.requests("ACK").length === 2, "the second ACK");
      // The mock records each ACK it sent as the ACK, the resent one too.
      const sentAcks = peer.sent.filter((e) => e.message.type === "request" && e.message.method === "ACK");
      assert.equal(sentAcks.length, 2);
      assert.throws(() => result.ack(), /only a 2xx to an INVITE makes a dialog/);
    } finally {
      await sut.close();
    }
  });

  test("request() resolves a 2xx to an INVITE; ack() and bye() follow the dialog (RFC 3261 §12, §13.2.2.4)", async () => {
    const sut = await rawUdp();
    try {
      await using peer = await mockPeer({ timers: FAST });
      const pending = peer.request({ method: "INVITE", uri: sut.uri("sut"), headers: { Subject: "call" } });
      await until(() => sut.requests("INVITE").length >= 1, "the INVITE");
      const invite = sut.requests("INVITE")[0];
      const offer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n";
      const ok = reply(
        invite.message,
        200,
        "OK",
        "callee",
        `Contact: <sip:target@127.0.0.1:${sut.port}>\r\nRecord-Route: <sip:p1@127.0.0.1;lr>, <sip:p2@127.0.0.1;lr>\r\n` +
          `Content-Type: application/sdp\r\n`,
      ).replace("Content-Length: 0\r\n\r\n", `Content-Length: ${offer.length}\r\n\r\n${offer}`);
      sut.send(ok, invite.from);
      const call = await pending;
      assert.equal(call.status, 200);
      assert.equal(call.request.headers.get("Subject"), "call");
      const ack = call.ack();
      assert.equal(call.ack(), ack, "one ACK per 2xx");
      await until(() => sut.requests("ACK").length === 1, "the ACK");
      const wireAck = sut.requests("ACK")[0].message;
      assert.equal(wireAck.uri, `sip:target@127.0.0.1:${sut.port}`);
      assert.notEqual(wireAck.via[0].branch, invite.message.via[0].branch);
      assert.equal(wireAck.cseq.seq, invite.message.cseq.seq);
      assert.deepEqual(wireAck.headers.getAll("Route"), ["<sip:p2@127.0.0.1;lr>", "<sip:p1@127.0.0.1;lr>"]);
      // The INVITE had no offer and the 2xx had one: the answer goes in the ACK (RFC 3261 §13.2.1).
      assert.equal(wireAck.contentType?.mediaType, "application/sdp");
      assert.match(wireAck.bodyText, /^m=audio \d+ RTP\/AVP 0/m);
      // A retransmitted 2xx gets the same ACK again.
      sut.send(ok, invite.from);
      await until(() => sut.requests("ACK").length === 2, "the ACK again");
      assert.equal(sut.requests("ACK")[1].message.via[0].branch, wireAck.via[0].branch);
      const bye = call.bye();
      await until(() => sut.requests("BYE").length >= 1, "the BYE");
      const wireBye = sut.requests("BYE")[0].message;
      assert.equal(wireBye.uri, `sip:target@127.0.0.1:${sut.port}`);
      assert.equal(wireBye.cseq.seq, invite.message.cseq.seq + 1);
      assert.equal(wireBye.to.tag, "callee");
      assert.equal(wireBye.from.tag, invite.message.from.tag);
      sut.send(reply(wireBye, 200, "OK"), invite.from);
      assert.equal((await bye).status, 200);
    } finally {
      await sut.close();
    }
  });

  test("request() goes over a TCP connection the other side opened", async () => {
    await using peer = await mockPeer({ transport: ["udp", "tcp"] });
    const tcp = peer.addresses[1];
    const socket = net.connect(tcp.port, "127.0.0.1");
    const framer = new StreamFramer();
    const inbox: SipMessage[] = [];
    socket.on("data", (chunk) => {
      for (const ev of framer.push(new Uint8Array(chunk))) {
        if (ev.type === "message") inbox.push(parseMessage(ev.bytes, { stream: true }));
      }
    });
    try {
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const local = { address: "127.0.0.1", port: socket.localPort! };
      socket.write(
        `REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${local.port};branch=z9hG4bKreg\r\n` +
          `From: <sip:bob@127.0.0.1>;tag=b\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: reg1\r\nCSeq: 1 REGISTER\r\n` +
          `Contact: <sip:bob@127.0.0.1:${local.port};transport=tcp>\r\nContent-Length: 0\r\n\r\n`,
      );
      const register = await peer.waitFor({ method: "REGISTER", transport: "tcp" });
      assert.equal(register.callId, "reg1");
      const pending = peer.request({
        method: "OPTIONS",
        uri: `sip:bob@127.0.0.1:${local.port};transport=tcp`,
      });
      await until(() => inbox.some((m) => m.type === "request"), "the OPTIONS over TCP");
      const options = inbox.find((m) => m.type === "request") as SipRequest;
      assert.equal(options.via[0].transport, "TCP");
      socket.write(reply(options, 200, "OK", "b2"));
      const result = await pending;
      assert.equal(result.status, 200);
      assert.equal(peer.received.at(-1)?.transport, "tcp");
      await assert.rejects(
        peer.request({ method: "OPTIONS", uri: "sip:bob@127.0.0.1:1;transport=tcp" }),
        /not sent: send\(\): cannot open a tcp connection to 127\.0\.0\.1:1: /,
      );
    } finally {
      socket.destroy();
    }
  });

  test("request() refuses what it cannot send", async () => {
    await using peer = await mockPeer();
    await assert.rejects(peer.request({ method: "OPTIONS", uri: "sip:x@example.com" }), /host names are not resolved/);
    await assert.rejects(
      peer.request({ method: "OPTIONS", uri: peer.uri, headers: { Via: "SIP/2.0/UDP x" } }),
      /Via is written by the UAC/,
    );
    await assert.rejects(peer.request({ method: "ACK", uri: peer.uri }), TypeError);
    await assert.rejects(
      peer.request({ method: "OPTIONS", uri: peer.uri, transport: "tcp" }),
      /does not listen on tcp/,
    );
  });

  test("request() takes From and To from headers, adding a From tag", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    const result = await peer.request({
      method: "MESSAGE",
      uri: sut.uri,
      headers: { From: '"Alice" <sip:alice@example.com>', To: "<sip:bob@example.com>" },
      body: "hi",
    });
    assert.equal(result.request.from.uri, "sip:alice@example.com");
    assert.match(result.request.from.tag ?? "", /^[0-9a-f]{8}$/);
    assert.equal(result.request.to.uri, "sip:bob@example.com");
    assert.equal(result.request.contentType?.mediaType, "text/plain");
    const got = await sut.waitFor("MESSAGE");
    assert.equal(got.from.displayName, "Alice");
  });

  test("request() gives up at its timeout with the ladder", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("INVITE", { respond: { status: 180 } });
    await assert.rejects(peer.request({ method: "INVITE", uri: sut.uri, timeout: 50 }), (e: unknown) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(e.message, /^INVITE sip:sut@[^ ]+: no final response within 50 ms\. Traffic at sip:mock@/);
      assert.match(e.message, /\|<-- SIP\/2\.0 180 Ringing/);
      return true;
    });
  });
});
