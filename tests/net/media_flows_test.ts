// The media flows of serve() end to end on loopback UDP: DTMF read from RTP telephone-events
// and from SIP INFO, reported as `dtmf` events, and a rule's `dtmf` that makes the peer hang up.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { freeBlock } from "../_ports.ts";
import { serve, type SipServer } from "../../src/net/serve.ts";
import { parseRules } from "../../src/rules/rules.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { until, within } from "../_wait.ts";
import { HOST, Phone } from "./_media_phone.ts";
import { keyPress } from "../media/_dtmf.ts";

const BASE = await freeBlock(40);

async function flowServer(range: number, rules = "[]"): Promise<{ server: SipServer; events: PeerEvent[] }> {
  const events: PeerEvent[] = [];
  const server = await serve({
    listen: [{ transport: "udp", hostname: HOST, port: 0 }],
    media: { portRange: [BASE + range * 10, BASE + range * 10 + 9] },
    rules: parseRules(rules),
    onEvent: (e) => void events.push(e),
    edge: "lab",
  });
  return { server, events };
}

const digitsOf = (events: PeerEvent[]) => events.filter((e) => e.kind === "dtmf").map((e) => e.dtmf!.digit).join("");

describe("serve({ media }): DTMF", () => {
  test("RFC 4733 telephone-events give one dtmf event per key press, and are still echoed", async () => {
    const { server, events } = await flowServer(0);
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("dtmf-1");
      await phone.ack("dtmf-1", call.toTag);
      const packets = [...keyPress(1, 160, 1, 100), ...keyPress(11, 3200, 20, 160)];
      for (const p of packets) await phone.rtp.send(p, call.port);
      for (let i = 0; i < packets.length; i++) await phone.rtp.next(`echo ${i}`, (d) => d.from.port === call.port);
      await until(() => digitsOf(events).length >= 2, "two dtmf events");
      const dtmf = events.filter((e) => e.kind === "dtmf");
      assert.equal(dtmf.length, 2);
      assert.deepEqual(dtmf.map((e) => [e.callId, e.dtmf!.digit, e.dtmf!.duration, e.dtmf!.source]), [
        ["dtmf-1", "1", 100, "rtp"],
        ["dtmf-1", "#", 160, "rtp"],
      ]);
      assert.match(dtmf[1].message, /^call dtmf-1: DTMF # \(RTP, 160 ms, volume -10 dBm0\) from 127\.0\.0\.1:\d+$/);
      await phone.bye("dtmf-1", call.toTag);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });

  test("INFO application/dtmf-relay and application/dtmf give dtmf events, once despite a retransmission", async () => {
    const { server, events } = await flowServer(1);
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("dtmf-2");
      await phone.ack("dtmf-2", call.toTag);
      const relay = phone.request("INFO", "dtmf-2", {
        toTag: call.toTag,
        cseq: 2,
        branch: "z9hG4bK-info-2",
        body: "Signal=5\r\nDuration=160\r\n",
        type: "application/dtmf-relay",
      });
      await phone.sip.send(relay, phone.serverPort);
      await phone.response("dtmf-2", "INFO", 200);
      await phone.sip.send(relay, phone.serverPort); // a retransmission
      await phone.response("dtmf-2", "INFO", 200);
      const plain = phone.request("INFO", "dtmf-2", {
        toTag: call.toTag,
        cseq: 3,
        body: "#",
        type: "application/dtmf",
      });
      await phone.sip.send(plain, phone.serverPort);
      await phone.response("dtmf-2", "INFO", 200);
      assert.equal(digitsOf(events), "5#");
      const first = events.find((e) => e.kind === "dtmf")!;
      assert.deepEqual(first.dtmf, { digit: "5", duration: 160, volume: undefined, ended: true, source: "info" });
      assert.equal(first.remote?.transport, "udp");
      await phone.sip.send(phone.request("BYE", "dtmf-2", { toTag: call.toTag, cseq: 4 }), phone.serverPort);
      await phone.response("dtmf-2", "BYE", 200);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });

  test('a rule\'s "dtmf": { "#": "hangup" } makes the peer send BYE on #, from RTP or from INFO', async () => {
    const rules = '[{ "match": { "user": "ivr" }, "default": true, "dtmf": { "#": "hangup" } }]';
    const { server, events } = await flowServer(2, rules);
    const phone = await Phone.open(server);
    try {
      const rtpCall = await phone.call("dtmf-3", { user: "ivr" });
      await phone.ack("dtmf-3", rtpCall.toTag);
      for (const p of keyPress(1, 160, 1)) await phone.rtp.send(p, rtpCall.port);
      await until(() => digitsOf(events) === "1", "digit 1");
      for (const p of keyPress(11, 3200, 20)) await phone.rtp.send(p, rtpCall.port);
      const bye = await phone.incoming("dtmf-3", "BYE");
      assert.equal(bye.request.callId, "dtmf-3");

      const infoCall = await phone.call("dtmf-4", { user: "ivr" });
      await phone.ack("dtmf-4", infoCall.toTag);
      const info = phone.request("INFO", "dtmf-4", {
        toTag: infoCall.toTag,
        cseq: 2,
        body: "#",
        type: "application/dtmf",
      });
      await phone.sip.send(info, phone.serverPort);
      await phone.incoming("dtmf-4", "BYE");

      // Without the rule, # does nothing.
      const echoCall = await phone.call("dtmf-5");
      await phone.ack("dtmf-5", echoCall.toTag);
      for (const p of keyPress(11, 160, 1)) await phone.rtp.send(p, echoCall.port);
      await until(() => events.filter((e) => e.callId === "dtmf-5" && e.kind === "dtmf").length === 1, "# in dtmf-5");
      await assert.rejects(phone.incoming("dtmf-5", "BYE", 300));
      await phone.bye("dtmf-5", echoCall.toTag);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });
});
