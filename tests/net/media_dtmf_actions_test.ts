// A rule's `dtmf` actions end to end on loopback UDP, as an IVR test uses them: a key starts
// an announcement, another stops it (the echo resumes), a key sequence hangs up; keys sent as
// RFC 4733 telephone-events and as SIP INFO (RFC 2976).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeBlock } from "../_ports.ts";
import { serve, type SipServer } from "../../src/net/serve.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { writeWav } from "../../src/media/wav.ts";
import { readRtpHeader } from "../../src/media/rtp_header.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { until, within } from "../_wait.ts";
import { type Datagram, HOST, Phone, rtp } from "./_media_phone.ts";
import { keyPress } from "../media/_dtmf.ts";

const BASE = await freeBlock(20);
// The SSRC of the caller's audio and of its telephone-events (tests/media/_dtmf.ts).
const CALLER_SSRC = 0x4242;
const EVENT_SSRC = 0x1234;

async function ivrServer(range: number, rules: unknown): Promise<{ server: SipServer; events: PeerEvent[] }> {
  const events: PeerEvent[] = [];
  const server = await serve({
    listen: [{ transport: "udp", hostname: HOST, port: 0 }],
    media: { portRange: [BASE + range * 10, BASE + range * 10 + 9] },
    rules: parseRules(JSON.stringify(rules)),
    onEvent: (e) => void events.push(e),
    edge: "lab",
  });
  return { server, events };
}

/** A packet of the announcement: PCMU with an SSRC that is not the caller's. */
const announced = (port: number) => (d: Datagram) => {
  const h = readRtpHeader(d.data);
  return d.from.port === port && h !== undefined && h.payloadType === 0 && h.ssrc !== CALLER_SSRC &&
    h.ssrc !== EVENT_SSRC;
};

const dtmfMessages = (events: PeerEvent[], callId: string) =>
  events.filter((e) => e.kind === "dtmf" && e.callId === callId).map((e) => e.message);

describe("serve({ media }): a rule's dtmf actions", () => {
  const dir = mkdtempSync(join(tmpdir(), "sipecho-dtmf-"));
  // 3 s of a 440 Hz tone: 150 packets of 20 ms, still playing when the next keys come.
  const file = join(dir, "menu.wav");
  writeFileSync(
    file,
    writeWav(Int16Array.from({ length: 24000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)))),
  );

  test('telephone-events: "1" plays the file, "99#" hangs up (not "9" or "99")', async () => {
    const rules = [{
      match: { user: "ivr" },
      default: true,
      dtmf: { "1": { play: { file, then: "echo" } }, "99#": "hangup" },
    }];
    const { server, events } = await ivrServer(0, rules);
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("ivr-1", { user: "ivr" });
      await phone.ack("ivr-1", call.toTag);
      for (const p of keyPress(1, 160, 1)) await phone.rtp.send(p, call.port);
      const first = await phone.rtp.next("the first announcement packet", announced(call.port));
      assert.equal(readRtpHeader(first.data)!.marker, true);
      for (let i = 1; i < 5; i++) await phone.rtp.next(`announcement packet ${i}`, announced(call.port));
      assert.match(
        dtmfMessages(events, "ivr-1")[0],
        /^call ivr-1: DTMF 1 \(RTP, 100 ms, volume -10 dBm0\) from 127\.0\.0\.1:\d+; dtmf "1" matched: play .*menu\.wav, then echo$/,
      );

      for (const p of [...keyPress(9, 3200, 20), ...keyPress(9, 6400, 40)]) await phone.rtp.send(p, call.port);
      await until(() => dtmfMessages(events, "ivr-1").length === 3, "the two 9s");
      await assert.rejects(phone.incoming("ivr-1", "BYE", 300), /timed out/);
      for (const p of keyPress(11, 9600, 60)) await phone.rtp.send(p, call.port);
      await phone.incoming("ivr-1", "BYE");
      const messages = dtmfMessages(events, "ivr-1");
      assert.equal(messages.length, 4);
      assert.doesNotMatch(messages[1] + messages[2], /matched/);
      assert.match(messages[3], /DTMF # .*; dtmf "99#" matched: hangup$/);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });

  test('SIP INFO: "1" plays, "0" stops the announcement and the echo resumes, "*" hangs up', async () => {
    const rules = [{
      match: { user: "ivr" },
      default: true,
      dtmf: { "1": { play: file }, "0": "echo", "*": "hangup" },
    }];
    const { server, events } = await ivrServer(1, rules);
    const phone = await Phone.open(server);
    let cseq = 1;
    const info = async (key: string) => {
      const request = phone.request("INFO", "ivr-2", { toTag, cseq: ++cseq, body: key, type: "application/dtmf" });
      await phone.sip.send(request, phone.serverPort);
      // Answered 200 even when its key hangs up: the BYE follows the answer.
      await phone.response("ivr-2", "INFO", 200);
    };
    let toTag = "";
    try {
      const call = await phone.call("ivr-2", { user: "ivr" });
      toTag = call.toTag;
      await phone.ack("ivr-2", toTag);
      // The caller's RTP tells sipecho where to play (RFC 4961 §3); it is echoed until then.
      await phone.rtp.send(rtp(1, CALLER_SSRC), call.port);
      await phone.rtp.next("the echo before the announcement", (d) => readRtpHeader(d.data)!.ssrc === CALLER_SSRC);
      await info("1");
      for (let i = 0; i < 5; i++) await phone.rtp.next(`announcement packet ${i}`, announced(call.port));
      await info("0");
      await until(() => events.some((e) => e.kind === "play" && e.callId === "ivr-2"), "the play event");
      assert.match(
        events.find((e) => e.kind === "play" && e.callId === "ivr-2")!.message,
        /^call ivr-2: stopped .*menu\.wav after \d+ packets$/,
      );
      await phone.rtp.send(rtp(2, CALLER_SSRC), call.port);
      const echo = await phone.rtp.next("the echo after 0", (d) => readRtpHeader(d.data)!.ssrc === CALLER_SSRC);
      assert.equal(readRtpHeader(echo.data)!.sequence, 2);
      // The announcement's `then: "hangup"` does not come: it was stopped.
      await assert.rejects(phone.incoming("ivr-2", "BYE", 300), /timed out/);
      await info("*");
      await phone.incoming("ivr-2", "BYE");
      assert.deepEqual(
        dtmfMessages(events, "ivr-2").map((m) => m.replace(/^.*matched: /, "")),
        [`play ${file}, then hangup`, "echo", "hangup"],
      );
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
