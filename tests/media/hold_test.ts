// Hold and resume without sockets (RFC 3264 §8.4, RFC 6337 §5.3): the answer's direction for
// an offer that holds (a=sendonly, a=inactive, c=0.0.0.0), MediaEcho.setDirection on an
// in-memory socket shim (held RTP not echoed, RTCP still echoed, announcements silenced, the
// delay queue dropped), and the peer's rtpDirection hook on INVITE, re-INVITE and UPDATE.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerSdp, parseSdp } from "../../src/media/sdp.ts";
import { MediaEcho } from "../../src/media/echo.ts";
import type { RuntimeNet, SocketAddress } from "../../src/net/transport.ts";
import type { SipResponse } from "../../src/sip/message.ts";
import { decoder, offerFrom, peer, requestsFrom } from "../ua/_peer.ts";
import { rtcpRr, rtp } from "./_echo.ts";

const HEAD = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n";
const OPTIONS = { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 1, sessionVersion: 1 };

function direction(sdp: string): string | undefined {
  const result = answerSdp(parseSdp(sdp), OPTIONS);
  assert.ok(result.ok);
  assert.equal(result.accepted[0].direction, result.answer.media[0].attributes.at(-1)?.name);
  return result.accepted[0].direction;
}

describe("answerSdp(): the direction of a hold (RFC 3264 §6.1, §8.4)", () => {
  test("sendonly, inactive, recvonly and sendrecv are mirrored", () => {
    assert.equal(direction(HEAD + "m=audio 49170 RTP/AVP 0\r\na=sendonly\r\n"), "recvonly");
    assert.equal(direction(HEAD + "m=audio 49170 RTP/AVP 0\r\na=inactive\r\n"), "inactive");
    assert.equal(direction(HEAD + "m=audio 49170 RTP/AVP 0\r\na=recvonly\r\n"), "sendonly");
    assert.equal(direction(HEAD + "m=audio 49170 RTP/AVP 0\r\n"), "sendrecv");
  });

  test("c=0.0.0.0 (the RFC 2543 hold) is answered inactive, at session or media level", () => {
    const old = HEAD.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0");
    assert.equal(direction(old + "m=audio 49170 RTP/AVP 0\r\n"), "inactive");
    assert.equal(direction(old + "m=audio 49170 RTP/AVP 0\r\na=sendonly\r\n"), "inactive");
    assert.equal(direction(HEAD + "m=audio 49170 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n"), "inactive");
  });
});

/** An in-memory socket shim: what each port receives is delivered by hand; sends are recorded. */
function memoryNet() {
  const inbox = new Map<number, (data: Uint8Array, from: SocketAddress) => void>();
  const sent: { port: number; length: number }[] = [];
  const net = {
    name: "memory",
    listenDatagram(o: { hostname: string; port: number }, onData: (d: Uint8Array, f: SocketAddress) => void) {
      inbox.set(o.port, onData);
      return Promise.resolve({
        local: { address: o.hostname, port: o.port },
        send: (d: Uint8Array) => void sent.push({ port: o.port, length: d.length }),
        close: () => void inbox.delete(o.port),
      });
    },
    listenStream: () => Promise.reject(new Error("not needed")),
  } as unknown as RuntimeNet;
  return { net, inbox, sent };
}

const CALLER = { address: "192.0.2.7", port: 49170 };

describe("MediaEcho.setDirection(): hold and resume", () => {
  test("held: RTP is counted, not echoed (dropped); RTCP is echoed; send() sends nothing; resumed: echoed", async () => {
    const { net, inbox, sent } = memoryNet();
    const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20001] });
    try {
      await media.open("c1", [{ index: 0 }]);
      assert.equal(media.setDirection("c1", 0, "recvonly"), true);
      inbox.get(20000)!(rtp(1, 7), CALLER);
      inbox.get(20001)!(rtcpRr(7), { ...CALLER, port: 49171 });
      assert.equal(media.send("c1", 0, rtp(2, 8), CALLER), true);
      assert.deepEqual(sent, [{ port: 20001, length: 8 }], "only the RTCP went out");
      const held = media.stats("c1")!.streams[0];
      assert.equal(held.rtp.packetsIn, 1);
      assert.equal(held.rtp.dropped, 1);
      assert.equal(held.rtp.packetsOut, 0);

      media.setDirection("c1", 0, "sendrecv");
      inbox.get(20000)!(rtp(3, 7), CALLER);
      assert.equal(media.send("c1", 0, rtp(4, 8), CALLER), true);
      assert.equal(sent.filter((s) => s.port === 20000).length, 2);
      assert.equal(media.setDirection("nope", 0, "inactive"), false);
      assert.equal(media.setDirection("c1", 1, "inactive"), false);
    } finally {
      await media.closeAll();
    }
  });

  test("holding drops what the delay holds back; sendonly (the caller's recvonly) still echoes", async () => {
    const { net, inbox, sent } = memoryNet();
    const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20001], delay: 50 });
    try {
      await media.open("c1", [{ index: 0, rtcpMux: true }]);
      inbox.get(20000)!(rtp(1, 7), CALLER);
      media.setDirection("c1", 0, "inactive");
      await new Promise((r) => setTimeout(r, 120));
      assert.equal(sent.length, 0, "the held-back packet was dropped, not sent");
      assert.equal(media.stats("c1")!.streams[0].rtp.dropped, 1);
      media.setDirection("c1", 0, "sendonly");
      inbox.get(20000)!(rtp(2, 7), CALLER);
      await new Promise((r) => setTimeout(r, 120));
      assert.equal(sent.length, 1);
    } finally {
      await media.closeAll();
    }
  });

  test("a call on hold that sends nothing is not ended by inactivityTimeout; one that receives is", async () => {
    const { net } = memoryNet();
    const ended: string[] = [];
    const media = new MediaEcho({
      net,
      hostname: "127.0.0.1",
      portRange: [20000, 20003],
      inactivityTimeout: 100,
      onEnd: (s) => void ended.push(`${s.callId} ${s.reason}`),
    });
    try {
      await media.open("held", [{ index: 0 }]);
      await media.open("talking", [{ index: 0 }]);
      media.setDirection("held", 0, "inactive");
      await new Promise((r) => setTimeout(r, 800));
      assert.deepEqual(ended, ["talking timeout"]);
      assert.notEqual(media.stats("held"), undefined);
    } finally {
      await media.closeAll();
    }
  });
});

describe("SipPeer rtpDirection: each answer's directions, for the media", () => {
  const UDP = { address: "192.0.2.9", port: 5070, transport: "udp" as const };
  const request = requestsFrom("192.0.2.9:5070");

  test("INVITE sendrecv, re-INVITE sendonly (hold), UPDATE c=0.0.0.0, re-INVITE sendrecv (resume)", () => {
    const seen: string[] = [];
    const p = peer({ rtpDirection: (callId, index, d) => void seen.push(`${callId} ${index} ${d}`) });
    const offer = offerFrom("192.0.2.9");
    const [, ok] = p.receive(request("INVITE", { body: offer }), UDP, 0).map((o) => o.message as SipResponse);
    const toTag = ok.to.tag!;
    p.receive(request("ACK", { toTag, branch: "z9hG4bK-ack1" }), UDP, 10);
    const again = (method: string, cseq: number, body: string) => {
      const out = p.receive(request(method, { toTag, cseq, body, branch: `z9hG4bK-${cseq}` }), UDP, 20 * cseq);
      const final = out.map((o) => o.message as SipResponse).find((m) => m.status >= 200)!;
      assert.equal(final.status, 200, `${method} ${cseq}`);
      if (method === "INVITE") {
        p.receive(request("ACK", { toTag, cseq, branch: `z9hG4bK-a${cseq}` }), UDP, 20 * cseq + 1);
      }
      return decoder.decode(final.body);
    };
    assert.match(again("INVITE", 2, offer + "a=sendonly\r\n"), /a=recvonly/);
    assert.match(again("UPDATE", 3, offer.replaceAll("192.0.2.9", "0.0.0.0")), /a=inactive/);
    assert.match(again("INVITE", 4, offer), /a=sendrecv/);
    assert.deepEqual(seen, [
      "call-1@example.com 0 sendrecv",
      "call-1@example.com 0 recvonly",
      "call-1@example.com 0 inactive",
      "call-1@example.com 0 sendrecv",
    ]);
  });
});
