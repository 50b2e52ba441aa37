// Announcements end to end on loopback UDP: a rule's `play` answers, and sends a generated WAV
// file to the caller as G.711 RTP (PCMU or PCMA, as the answer has it), paced at the answer's
// ptime; checked by count, sequence numbers, timestamps, marker, SSRC and decoded samples.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeBlock } from "../_ports.ts";
import { serve, type SipServer } from "../../src/net/serve.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from "../../src/media/g711.ts";
import { writeWav } from "../../src/media/wav.ts";
import { readRtpHeader } from "../../src/media/rtp_header.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { until, within } from "../_wait.ts";
import { type Datagram, HOST, Phone, rtp } from "./_media_phone.ts";

const BASE = await freeBlock(20);

/** A 440 Hz tone, `ms` long, at 8000 Hz. */
function tone(ms: number): Int16Array {
  return Int16Array.from({ length: ms * 8 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
}

async function playServer(range: number, rules: string) {
  const events: PeerEvent[] = [];
  const server: SipServer = await serve({
    listen: [{ transport: "udp", hostname: HOST, port: 0 }],
    media: { portRange: [BASE + range * 10, BASE + range * 10 + 9] },
    rules: parseRules(rules),
    onEvent: (e) => void events.push(e),
    edge: "lab",
  });
  return { server, events };
}

/** INVITE with `media` as the m-line and its attributes; ACK; returns the answer's port. */
async function call(phone: Phone, callId: string, user: string, media: string) {
  const offer = "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
    `m=audio ${phone.rtp.port} ${media}`;
  await phone.sip.send(phone.request("INVITE", callId, { user, body: offer }), phone.serverPort);
  const ok = await phone.response(callId, "INVITE", 200);
  await phone.ack(callId, ok.to.tag!);
  return { port: parseSdp(ok.bodyText).media[0].port, toTag: ok.to.tag! };
}

/** Waits until `count` packets have come from `port`; returns them in arrival order. */
async function packets(phone: Phone, port: number, count: number): Promise<Datagram[]> {
  const got: Datagram[] = [];
  for (let i = 0; i < count; i++) {
    got.push(await phone.rtp.next(`announcement packet ${i}`, (d) => d.from.port === port));
  }
  return got;
}

function checkStream(
  got: Datagram[],
  samples: Int16Array,
  o: { pt: number; frame: number; decode: (b: number) => number; encode: (s: number) => number },
) {
  const headers = got.map((d) => readRtpHeader(d.data)!);
  assert.equal(got.length, Math.ceil(samples.length / o.frame));
  headers.forEach((h, i) => {
    assert.equal(h.payloadType, o.pt, `payload type of packet ${i}`);
    assert.equal(h.marker, i === 0, `marker of packet ${i}`);
    assert.equal(h.ssrc, headers[0].ssrc);
    assert.equal(h.sequence, (headers[0].sequence + i) & 0xffff, `sequence of packet ${i}`);
    assert.equal(h.timestamp, (headers[0].timestamp + i * o.frame) >>> 0, `timestamp of packet ${i}`);
  });
  const decoded = got.flatMap((d, i) => [...d.data.subarray(headers[i].payloadOffset)].map(o.decode));
  assert.deepEqual(decoded, [...samples].map((s) => o.decode(o.encode(s))));
}

describe("serve({ media }): announcements", () => {
  const dir = mkdtempSync(join(tmpdir(), "sipecho-play-"));
  const samples = tone(500); // 25 packets of 20 ms
  const file = join(dir, "tone.wav");
  writeFileSync(file, writeWav(samples));

  test("play (PCMU, 20 ms): every sample in order, one packet per 160 samples, marker first; then BYE", async () => {
    const rules = JSON.stringify([{ match: { user: "hello" }, play: { file, then: "hangup" } }]);
    const { server, events } = await playServer(0, rules);
    const phone = await Phone.open(server);
    try {
      const c = await call(phone, "play-1", "hello", "RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n");
      await phone.rtp.send(rtp(1, 0x4242), c.port);
      const got = await packets(phone, c.port, 25);
      checkStream(got, samples, { pt: 0, frame: 160, decode: mulawDecode, encode: mulawEncode });
      assert.ok(got.every((d) => readRtpHeader(d.data)!.ssrc !== 0x4242), "the caller's packet is not echoed");
      await phone.incoming("play-1", "BYE");
      await until(() => events.some((e) => e.kind === "play"), "the play event");
      assert.match(
        events.find((e) => e.kind === "play")!.message,
        /played .*tone\.wav \(25 packets of 20 ms, 0\.5 s, PCMU\)/,
      );
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });

  test("play (PCMA, a=ptime:30) then echo: 240 samples a packet, then the echo resumes", async () => {
    const rules = JSON.stringify([{ match: { user: "hello" }, play: { file, then: "echo" } }]);
    const { server } = await playServer(1, rules);
    const phone = await Phone.open(server);
    try {
      const c = await call(phone, "play-2", "hello", "RTP/AVP 8 0\r\na=ptime:30\r\n");
      await phone.rtp.send(rtp(1, 0x4242), c.port);
      const got = await packets(phone, c.port, 17);
      checkStream(got, samples, { pt: 8, frame: 240, decode: alawDecode, encode: alawEncode });
      await phone.rtp.send(rtp(2, 0x4242), c.port);
      const echo = await phone.rtp.next("the echo after the announcement", (d) => d.from.port === c.port);
      assert.equal(readRtpHeader(echo.data)!.ssrc, 0x4242);
      await assert.rejects(phone.incoming("play-2", "BYE", 200));
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });

  test("an offer with opus first: the answer lists only what is played (G.711, events), PCMU is sent", async () => {
    const rules = JSON.stringify([{ match: { user: "hello" }, play: { file, then: "hangup" } }]);
    const { server } = await playServer(0, rules);
    const phone = await Phone.open(server);
    try {
      const offer = "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
        `m=audio ${phone.rtp.port} RTP/AVP 96 0 8 101\r\na=rtpmap:96 opus/48000/2\r\n` +
        "a=rtpmap:101 telephone-event/8000\r\n";
      await phone.sip.send(phone.request("INVITE", "play-4", { user: "hello", body: offer }), phone.serverPort);
      const ok = await phone.response("play-4", "INVITE", 200);
      await phone.ack("play-4", ok.to.tag!);
      const m = parseSdp(ok.bodyText).media[0];
      assert.deepEqual(m.formats, ["0", "8", "101"]);
      await phone.rtp.send(rtp(1, 0x4242), m.port);
      const first = await phone.rtp.next("the first announcement packet", (d) => d.from.port === m.port);
      assert.equal(readRtpHeader(first.data)!.payloadType, 0);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });

  test("a file that cannot be read: a play event says so, and the call is echoed", async () => {
    const rules = JSON.stringify([{ match: { user: "hello" }, play: join(dir, "missing.wav") }]);
    const { server, events } = await playServer(0, rules);
    const phone = await Phone.open(server);
    try {
      const c = await call(phone, "play-3", "hello", "RTP/AVP 0\r\n");
      await phone.rtp.send(rtp(1, 0x4242), c.port);
      await until(() => events.some((e) => e.kind === "play"), "the play event");
      assert.match(events.find((e) => e.kind === "play")!.message, /cannot play .*missing\.wav: .*; echoing/);
      await phone.rtp.send(rtp(2, 0x4242), c.port);
      await phone.rtp.next("the echo", (d) => d.from.port === c.port);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
