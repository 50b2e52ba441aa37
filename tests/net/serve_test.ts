// serve() over UDP on real loopback sockets (127.0.0.1 and [::1]): answers, calls, response
// routing (RFC 3261 §18.2.2), order, errors and retransmissions; the same tests on Deno and on
// Bun. Every port is picked by the system (port 0); every wait for network data gives up after
// TIMEOUT ms; every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { serve, type TrafficEntry } from "../../src/net/serve.ts";
import { parseRules } from "../../src/rules/rules.ts";
import type { SipRequest, SipResponse } from "../../src/sip/message.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { sleep, within } from "../_wait.ts";
import {
  assertInviteOk,
  decoder,
  encoder,
  forMethod,
  hostport,
  HOSTS,
  line,
  listenOn,
  OFFER,
  portOf,
  request,
  runtime,
  stop,
  UdpClient,
  until,
} from "./_serve_clients.ts";

describe(`serve() on ${runtime}: UDP`, () => {
  for (const host of HOSTS) {
    test(`serve() answers OPTIONS 200 over UDP on ${host}, received/rport filled in`, async () => {
      const server = await serve({ listen: listenOn(host, "udp") });
      const client = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        await client.send(
          request({
            method: "OPTIONS",
            server: { host, port },
            transport: "UDP",
            sentBy: hostport(host, client.port),
            rport: true,
            branch: "z9hG4bK-udp-options",
            callId: `options-${host}`,
          }),
          port,
        );
        const ok = await client.next("200 to OPTIONS");
        assert.equal(ok.status, 200);
        assert.equal(ok.reason, "OK");
        assert.equal(
          ok.headers.get("Via"),
          `SIP/2.0/UDP ${hostport(host, client.port)};branch=z9hG4bK-udp-options;rport=${client.port};received=${host}`,
        );
        assert.equal(ok.callId, `options-${host}`);
        assert.equal(ok.headers.get("CSeq"), "1 OPTIONS");
        assert.match(ok.to.tag ?? "", /^[0-9a-f]{8}$/);
        assert.match(ok.headers.get("Allow") ?? "", /^INVITE, ACK, CANCEL, BYE, OPTIONS/);
      } finally {
        client.close();
        await stop(server);
      }
    });

    test(`serve() runs an INVITE, ACK, BYE call over UDP on ${host}`, async () => {
      const server = await serve({ listen: listenOn(host, "udp") });
      const client = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        const base = {
          server: { host, port },
          transport: "UDP",
          sentBy: hostport(host, client.port),
          rport: true,
          callId: `call-udp-${host}`,
          contact: `<sip:alice@${hostport(host, client.port)}>`,
        };
        await client.send(request({ ...base, method: "INVITE", branch: "z9hG4bK-udp-inv", body: OFFER }), port);
        // No 100 Trying: the 180 and the 200 go at once (RFC 3261 §17.2.1).
        const ringing = await client.next("180 Ringing");
        const ok = await client.next("200 OK to INVITE");
        assert.deepEqual([ringing, ok].map(line), ["180 INVITE", "200 INVITE"]);
        assert.equal(ringing.reason, "Ringing");
        const tag = ok.to.tag;
        assert.match(tag ?? "", /^[0-9a-f]{8}$/);
        assert.equal(ringing.to.tag, tag);
        assertInviteOk(ok, host, `<sip:echo@${hostport(host, port)}>`);
        assert.equal(server.peer.dialogs.length, 1);

        await client.send(request({ ...base, method: "ACK", branch: "z9hG4bK-udp-ack", toTag: tag }), port);
        await client.send(request({ ...base, method: "BYE", branch: "z9hG4bK-udp-bye", cseq: 2, toTag: tag }), port);
        const bye = await client.next("200 to BYE", forMethod("BYE"));
        assert.equal(line(bye), "200 BYE");
        assert.equal(bye.to.tag, tag);
        assert.equal(
          bye.headers.get("Via"),
          `SIP/2.0/UDP ${hostport(host, client.port)};branch=z9hG4bK-udp-bye;rport=${client.port};received=${host}`,
        );
        assert.equal(server.peer.dialogs.length, 0);
      } finally {
        client.close();
        await stop(server);
      }
    });

    test(`serve() routes UDP responses by the top Via on ${host} (RFC 3261 §18.2.2, RFC 3581)`, async () => {
      const server = await serve({ listen: listenOn(host, "udp") });
      const a = await UdpClient.open(host);
      const b = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        const base = { method: "OPTIONS", server: { host, port }, transport: "UDP" };
        // Sent from A, sent-by names B's port, no rport: the response goes to the sent-by port.
        await a.send(request({ ...base, sentBy: hostport(host, b.port), branch: "z9hG4bK-r1", callId: "r1" }), port);
        const atB = await b.next("the response at the sent-by port");
        assert.equal(atB.callId, "r1");
        assert.equal(atB.headers.get("Via"), `SIP/2.0/UDP ${hostport(host, b.port)};branch=z9hG4bK-r1`);
        // A got nothing: its first message is the answer to the next request, sent with rport.
        // With rport the response goes back to the source, whatever the sent-by port says.
        await a.send(
          request({ ...base, sentBy: hostport(host, b.port), rport: true, branch: "z9hG4bK-r2", callId: "r2" }),
          port,
        );
        const atA = await a.next("the response at the source port");
        assert.equal(atA.callId, "r2");
        assert.equal(
          atA.headers.get("Via"),
          `SIP/2.0/UDP ${hostport(host, b.port)};branch=z9hG4bK-r2;rport=${a.port};received=${host}`,
        );
        // B got nothing for r2: its next message is the answer to a request it sends itself.
        await b.send(request({ ...base, sentBy: hostport(host, b.port), branch: "z9hG4bK-r3", callId: "r3" }), port);
        assert.equal((await b.next("the response to B's own request")).callId, "r3");
        assert.deepEqual(a.inbox.items, []);
        assert.deepEqual(b.inbox.items, []);
      } finally {
        a.close();
        b.close();
        await stop(server);
      }
    });
  }

  for (const host of HOSTS) {
    test(`the ${runtime} shim's listenDatagram() sends datagrams in the order given on ${host}`, async () => {
      const net = await detectRuntime();
      const endpoint = await net.listenDatagram({ hostname: host, port: 0 }, () => {}, (e) => assert.fail(String(e)));
      const client = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      const got: string[] = [];
      const all = Promise.withResolvers<void>();
      client.on("message", (d: Uint8Array) => {
        got.push(decoder.decode(d));
        if (got.length === 20) all.resolve();
      });
      try {
        await within(new Promise<void>((resolve) => client.bind(0, host, resolve)), "a UDP bind");
        const to = { address: host, port: client.address().port };
        for (let i = 0; i < 20; i++) endpoint.send(encoder.encode(String(i)), to);
        await within(all.promise, "20 datagrams");
        assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => String(i)));
      } finally {
        client.close();
        endpoint.close();
      }
    });
  }

  for (const host of HOSTS) {
    test(`serve() sends UDP responses in the order the peer made them on ${host}`, async () => {
      // One request, fifteen datagrams made at once: four provisionals and the final, each sent
      // three times (`duplicate`); no 100 Trying, since they go at once (RFC 3261 §17.2.1).
      const rules = parseRules(JSON.stringify([{
        match: { user: "burst" },
        provisional: [180, 181, 182, 183].map((status) => ({ status, after: 0 })),
        respond: { status: 486 },
        duplicate: 3,
      }]));
      // The lab profile: no anti-amplification limit for this never-acknowledged burst.
      const server = await serve({ listen: listenOn(host, "udp"), rules, edge: "lab" });
      const client = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        await client.send(
          request({
            method: "INVITE",
            user: "burst",
            server: { host, port },
            transport: "UDP",
            sentBy: hostport(host, client.port),
            branch: "z9hG4bK-burst",
            callId: `burst-${host}`,
            body: OFFER,
          }),
          port,
        );
        const got: string[] = [];
        for (let i = 0; i < 15; i++) got.push(line(await client.next(`response ${i + 1} of 15`)));
        const once = ["180 INVITE", "181 INVITE", "182 INVITE", "183 INVITE", "486 INVITE"];
        assert.deepEqual(got, once.flatMap((l) => [l, l, l]));
      } finally {
        client.close();
        await stop(server);
      }
    });
  }

  test("serve() answers 400 to the source when the top Via cannot be read (RFC 3261 §8.2.6)", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({ listen: listenOn("127.0.0.1", "udp"), onEvent: (e) => events.push(e) });
    const client = await UdpClient.open("127.0.0.1");
    try {
      const port = portOf(server, "udp");
      const bad = [
        `127.0.0.1:${client.port};branch=z9hG4bK-bad1;rport=abc`,
        `127.0.0.1:99999;branch=z9hG4bK-bad2`,
      ];
      for (const [i, sentBy] of bad.entries()) {
        await client.send(
          request({
            method: "OPTIONS",
            server: { host: "127.0.0.1", port },
            transport: "UDP",
            sentBy,
            branch: "",
            callId: `bad-via-${i}`,
          }).replace(";branch=\r\n", "\r\n"),
          port,
        );
        const answer = await client.next(`400 to bad Via ${i}`);
        assert.equal(answer.status, 400);
        assert.equal(answer.callId, `bad-via-${i}`);
      }
      assert.deepEqual(events.filter((e) => e.kind === "dropped"), []);
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() answers 513 to a datagram over maxMessageSize (RFC 3261 §21.5.14), 200 to one under it", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "udp"), maxMessageSize: 800 });
    const client = await UdpClient.open("127.0.0.1");
    try {
      const port = portOf(server, "udp");
      const options = (id: string, pad: number) =>
        request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport: "UDP",
          sentBy: hostport("127.0.0.1", client.port),
          rport: true,
          branch: `z9hG4bK-${id}`,
          callId: id,
        }).replace("Max-Forwards: 70\r\n", `Max-Forwards: 70\r\nX-Pad: ${"p".repeat(pad)}\r\n`);
      assert.ok(encoder.encode(options("big", 700)).length > 800);
      await client.send(options("big", 700), port);
      const tooBig = await client.next("513");
      assert.equal(tooBig.status, 513);
      assert.equal(tooBig.callId, "big");
      assert.equal(
        tooBig.headers.get("Via"),
        `SIP/2.0/UDP ${hostport("127.0.0.1", client.port)};branch=z9hG4bK-big;rport=${client.port};received=127.0.0.1`,
      );
      await client.send(options("small", 10), port);
      assert.equal(line(await client.next("200")), "200 OPTIONS");
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() keeps answering on UDP after a response went to a closed port", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "udp") });
    const a = await UdpClient.open("127.0.0.1");
    const gone = await UdpClient.open("127.0.0.1");
    const goneport = gone.port;
    gone.close();
    try {
      const port = portOf(server, "udp");
      const base = { method: "OPTIONS", server: { host: "127.0.0.1", port }, transport: "UDP" };
      for (let i = 0; i < 3; i++) {
        await a.send(
          request({ ...base, sentBy: `127.0.0.1:${goneport}`, branch: `z9hG4bK-gone${i}`, callId: `gone${i}` }),
          port,
        );
      }
      await a.send(request({ ...base, sentBy: `127.0.0.1:${a.port}`, branch: "z9hG4bK-back", callId: "back" }), port);
      assert.equal((await a.next("the answer after the unreachable ones")).callId, "back");
    } finally {
      a.close();
      await stop(server);
    }
  });

  test("serve() retransmits the INVITE 2xx over UDP until the ACK (RFC 3261 §13.3.1.4)", async () => {
    const traffic: TrafficEntry[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "udp"),
      timers: { T1: 20, T2: 80 },
      onTraffic: (e) => traffic.push(e),
      // Every retransmission, whatever the anti-amplification limit (tested in edge_test.ts).
      edge: "lab",
    });
    const client = await UdpClient.open("127.0.0.1");
    try {
      const port = portOf(server, "udp");
      const base = {
        server: { host: "127.0.0.1", port },
        transport: "UDP",
        sentBy: hostport("127.0.0.1", client.port),
        callId: "retransmit",
      };
      await client.send(request({ ...base, method: "INVITE", branch: "z9hG4bK-rt", body: OFFER }), port);
      const first = [await client.next("180"), await client.next("200")];
      assert.deepEqual(first.map(line), ["180 INVITE", "200 INVITE"]);
      const ok = first[1];
      const tag = ok.to.tag;
      assert.match(tag ?? "", /^[0-9a-f]{8}$/);
      // Timer G: the same 200 again (same To tag, same headers and SDP), twice at least, before any ACK.
      for (const n of ["first", "second"]) {
        const again = await client.next(`the ${n} 200 retransmission`);
        assert.equal(line(again), "200 INVITE");
        assert.equal(again.to.tag, tag);
        assert.deepEqual(again.headers, ok.headers);
        assert.deepEqual(again.body, ok.body);
      }

      await client.send(request({ ...base, method: "ACK", branch: "z9hG4bK-rt-ack", toTag: tag }), port);
      const ackAt = await until("the ACK to arrive", () => {
        const i = traffic.findIndex((e) => e.direction === "in" && (e.message as SipRequest).method === "ACK");
        return i < 0 ? undefined : i;
      });
      const before = traffic.slice(0, ackAt).filter((e) => e.direction === "out");
      assert.ok(before.length >= 4, `${before.length} responses before the ACK`);
      for (const e of before.slice(1)) assert.equal((e.message as SipResponse).to.tag, tag);
      // Eight T2 intervals after the ACK: not one more 200 (nor anything else) was sent.
      await sleep(8 * 80);
      const after = traffic.slice(ackAt + 1).filter((e) => e.direction === "out");
      assert.deepEqual(after.map((e) => (e.message as SipResponse).status), []);
      assert.equal(server.peer.dialogs[0]?.acked, true);
    } finally {
      client.close();
      await stop(server);
    }
  });
});
