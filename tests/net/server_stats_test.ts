// server.stats() on real sockets: calls placed by the mock peer's UAC, RTP sent from a
// node:dgram socket to the port the SDP answer names; every wait bounded.
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { serve } from "../../src/net/serve.ts";
import { MockPeer } from "../../src/testing/mock.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import { freeBlock } from "../_ports.ts";
import { until, within } from "../_wait.ts";

const HOST = "127.0.0.1";

test("server.stats() counts a call's requests, responses, RTP stream and packets", async () => {
  const base = await freeBlock(4);
  await using server = await serve({
    listen: [{ transport: "udp", hostname: HOST, port: 0 }],
    media: { portRange: [base, base + 3] },
  });
  await using uac = await MockPeer.start();
  const socket = dgram.createSocket("udp4");
  try {
    await within(new Promise<void>((resolve) => socket.bind(0, HOST, resolve)), "a UDP bind");
    let echoed = 0;
    socket.on("message", () => echoed++);
    const call = await uac.request({ method: "INVITE", uri: server.uri("echo"), sdp: true });
    assert.equal(call.status, 200);
    call.ack();
    const port = parseSdp(call.response.bodyText).media[0].port;
    const packet = new Uint8Array(172);
    packet[0] = 0x80;
    for (let i = 0; i < 3; i++) socket.send(packet, port, HOST);
    await until(() => echoed === 3, "three echoes");
    let s = server.stats();
    assert.equal(s.rtp.streams, 1);
    assert.equal(s.rtp.streamLimit, 2);
    assert.equal(s.rtp.packetsIn, 3);
    assert.equal(s.rtp.bytesOut, 3 * 172);
    assert.equal(s.active.dialogs, 1);
    assert.equal((await call.bye()).status, 200);
    s = server.stats();
    assert.equal(s.requests.INVITE.udp, 1);
    assert.equal(s.requests.BYE.udp, 1);
    assert.equal(s.requests.ACK.udp, 1);
    assert.deepEqual(s.responses, { 180: 1, 200: 2 });
    assert.equal(s.responseTime.count, 2);
    assert.equal(s.active.dialogs, 0);
    // The call's counters stay in the totals once it has ended.
    assert.equal(s.rtp.streams, 0);
    assert.equal(s.rtp.packetsOut, 3);
  } finally {
    socket.close();
  }
});

test("server.stats() counts a response to no request of ours as a stray drop", async () => {
  await using server = await serve({ listen: [{ transport: "udp", hostname: HOST, port: 0 }] });
  const socket = dgram.createSocket("udp4");
  try {
    await within(new Promise<void>((resolve) => socket.bind(0, HOST, resolve)), "a UDP bind");
    const response = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\n" +
      "To: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
    socket.send(new TextEncoder().encode(response), server.addresses[0].port, HOST);
    await until(() => server.stats().drops.stray === 1, "the stray response counted");
    assert.equal(server.stats().drops.transport, 0);
    assert.deepEqual(server.stats().connections, { active: 0, limit: 512 });
  } finally {
    socket.close();
  }
});
