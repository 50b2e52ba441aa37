// serve() at the edge (its public limits, the default) on real loopback sockets, driven the way
// an attacker would from UDP: spoofed sources, floods, a source over its rate, and table fills
// from one source (dialogs, bindings, RTP streams).
// Each test checks that a second, well-behaved client on another source address is still served
// (the peers and their addresses are in _edge_peers.ts). Every port is picked by the system (port
// 0); every wait is bounded; no test asserts a duration, only outcomes within generous bounds;
// every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { SipMessage, SipResponse } from "../../src/sip/message.ts";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { sleep } from "../_wait.ts";
import { freeBlock } from "../_ports.ts";
import {
  ATTACKER,
  final,
  GOOD,
  isResponse,
  line,
  OFFER,
  parse,
  reply,
  request,
  runtime,
  SERVER,
  Steady,
  udpCall,
  udpEdge,
  udpOptions,
  UdpPeer,
  until,
} from "./_edge_peers.ts";

describe(`serve() at the edge on ${runtime}: UDP sources and the shares of the tables`, () => {
  for (const [user, timer] of [["echo", "Timer L"], ["busy", "Timer H"]] as const) {
    test(
      `serve() sends a spoofed UDP source that never ACKs an INVITE to ${user}@ at most 3x its bytes until ${timer}, ` +
        "and a call from another source goes through meanwhile",
      { timeout: 15_000 },
      async () => {
        const T1 = 20;
        const { port, peers: [spoofed, good], close } = await udpEdge({ timers: { T1 } }, ATTACKER, GOOD);
        try {
          const invite = request({
            method: "INVITE",
            port,
            user,
            sentBy: spoofed.sentBy,
            branch: `z9hG4bK-spoof-${user}`,
            callId: `spoof-${user}`,
            contact: `<sip:alice@${spoofed.sentBy}>`,
            body: OFFER,
          });
          await spoofed.send(invite, port);
          // A whole call from the other source while the spoofed transaction runs.
          await udpCall(good, port, `good-${user}`);
          // Until Timer L (H) has ended the transaction, with a margin: nothing more comes after it.
          await sleep(64 * T1 + 1000);
          const got = spoofed.inbox.items.map(line);
          assert.ok(got.includes(user === "echo" ? "200 INVITE" : "486 INVITE"), `the final response came: ${got}`);
          assert.ok(
            spoofed.bytesReceived <= 3 * spoofed.bytesSent,
            `${spoofed.bytesReceived} bytes received for ${spoofed.bytesSent} sent: ${got.join(", ")}`,
          );
        } finally {
          await close();
        }
      },
    );
  }

  test(
    "serve() retransmits the INVITE 2xx to a validated UDP source beyond 3x its bytes until the ACK",
    { timeout: 15_000 },
    async () => {
      const T1 = 20;
      const { server, port, peers: [client], close } = await udpEdge({ timers: { T1 } }, ATTACKER);
      try {
        // A whole call first: its ACK (with our To tag) shows the source receives what we send.
        await udpCall(client, port, "validate");
        const sentBefore = client.bytesSent;
        const invite = request({
          method: "INVITE",
          port,
          sentBy: client.sentBy,
          branch: "z9hG4bK-unacked",
          callId: "unacked",
          contact: `<sip:alice@${client.sentBy}>`,
          body: OFFER,
        });
        let okBytes = 0;
        let oks = 0;
        client.socket.on("message", (data: Uint8Array) => {
          const m = parse(new Uint8Array(data));
          if (m !== undefined && isResponse(m) && m.callId === "unacked" && m.status === 200) {
            okBytes += data.length;
            oks++;
          }
        });
        await client.send(invite, port);
        const sent = client.bytesSent - sentBefore;
        // Timer G: the 200 at 0, 20, 60, 140, 300, 620 and 1260 ms, until Timer L (1280 ms).
        await until(
          `the 200 retransmitted beyond 3x the ${sent} bytes sent (${oks} so far)`,
          () => okBytes > 3 * sent && oks >= 4,
          64 * T1 + 2000,
        );
        // And the ACK stops them.
        const tag = (client.inbox.items.find(reply(200, "INVITE")) as SipResponse).to.tag;
        await client.send(
          request({
            method: "ACK",
            port,
            sentBy: client.sentBy,
            branch: "z9hG4bK-unacked-ack",
            callId: "unacked",
            toTag: tag,
          }),
          port,
        );
        await sleep(300);
        const after = oks;
        await sleep(64 * T1);
        assert.equal(oks, after, "no 200 after the ACK");
        assert.equal(server.peer.dialogs.find((d) => d.callId === "unacked")?.acked, true);
      } finally {
        await close();
      }
    },
  );

  test(
    "serve() answers a UDP source over its rate 503 with Retry-After once, then nothing until its ban ends, " +
      "while another source is answered every time",
    { timeout: 20_000 },
    async () => {
      const ban = 1500;
      const { port, peers: [flood, good], close } = await udpEdge(
        { edge: { rate: 100, burst: 50, ban } },
        ATTACKER,
        GOOD,
      );
      let steady: Steady | undefined;
      try {
        // The well-behaved source: an OPTIONS every 20 ms (50/s, half the rate), throughout.
        steady = new Steady(good, port, 20);
        const options = (i: number) =>
          request({
            method: "OPTIONS",
            port,
            sentBy: flood.sentBy,
            branch: `z9hG4bK-flood-${i}`,
            callId: `flood-${i}`,
          });
        // The flood: as fast as it can until the 503 comes back, then 300 ms more (all dropped).
        let i = 0;
        const refused = (m: SipMessage) => isResponse(m) && m.status === 503;
        const floodStart = Date.now();
        while (!flood.inbox.items.some(refused)) {
          assert.ok(Date.now() - floodStart < 5000, `no 503 after ${i} OPTIONS`);
          await flood.send(options(i++), port);
          // The server runs in this process: it must get its turn, as it would against another process.
          if (i % 20 === 0) await yieldToLoop();
        }
        const refusedAt = Date.now();
        while (Date.now() - refusedAt < 300) {
          await flood.send(options(i++), port);
          if (i % 20 === 0) await yieldToLoop();
        }
        await sleep(200);
        const got = flood.inbox.items.splice(0);
        const at = got.findIndex(refused);
        const refusal = got[at] as SipResponse;
        assert.equal(refusal.reason, "Service Unavailable: too many requests from this source");
        assert.equal(refusal.headers.get("Retry-After"), String(Math.ceil(ban / 1000)));
        // Before it, 200s: the burst and what the rate refilled meanwhile; after it, nothing.
        assert.deepEqual(got.slice(0, at).map(line), got.slice(0, at).map(() => "200 OPTIONS"));
        assert.ok(at <= 50 + 1 + (refusedAt - floodStart) * 100 / 1000, `${at} answered before the 503`);
        assert.deepEqual(got.slice(at + 1).map(line), [], `nothing after the 503 (${i} OPTIONS sent)`);
        // Once the ban is over, the source is answered again.
        await sleep(Math.max(0, refusedAt + ban + 300 - Date.now()));
        await udpOptions(flood, port, "after-ban");
        await steady.stop();
        assert.equal(steady.answered.size, steady.asked);
        assert.ok(steady.asked > 50, `${steady.asked} OPTIONS from the other source`);
      } finally {
        await steady?.abort();
        await close();
      }
    },
  );

  test(
    "serve() drops a flood of 20,000 random datagrams from one source and answers another source's OPTIONS " +
      "meanwhile and afterwards",
    { timeout: 30_000 },
    async () => {
      const { port, peers: [flood, good], close } = await udpEdge({}, ATTACKER, GOOD);
      let steady: Steady | undefined;
      try {
        steady = new Steady(good, port, 10);
        const random = new Uint8Array(1500);
        for (let n = 1; n <= 20_000; n++) {
          crypto.getRandomValues(random);
          const length = 1 + (random[0] | (random[1] << 8)) % random.length;
          await flood.send(random.slice(0, length), port);
          // The server runs in this process: it must get its turn, as it would against another process.
          if (n % 20 === 0) await yieldToLoop();
        }
        await steady.stop();
        assert.ok(steady.asked >= 10, `${steady.asked} OPTIONS from the other source during the flood`);
        assert.ok(
          steady.answered.size >= 0.9 * steady.asked,
          `${steady.answered.size} of ${steady.asked} OPTIONS answered during the flood`,
        );
        // Alive and answering afterwards; the garbage got no answer at all.
        await udpOptions(good, port, "after-flood");
        assert.equal(flood.datagrams, 0);
      } finally {
        await steady?.abort();
        await close();
      }
    },
  );
  /** Calls (INVITE, 200, ACK, no BYE) from one source until one is refused; the refusal. */
  async function fillCalls(client: UdpPeer, port: number, prefix: string, most: number): Promise<SipResponse[]> {
    const finals: SipResponse[] = [];
    for (let i = 0; i < most; i++) {
      const callId = `${prefix}-${i}`;
      const base = { port, sentBy: client.sentBy, callId, contact: `<sip:alice@${client.sentBy}>` };
      await client.send(request({ ...base, method: "INVITE", branch: `z9hG4bK-${callId}-inv`, body: OFFER }), port);
      const answer = await client.next(`the final response to INVITE ${callId}`, final("INVITE")) as SipResponse;
      finals.push(answer);
      // A 2xx is acknowledged in a transaction of its own, a refusal in the INVITE's (RFC 3261 §17.1.1.3).
      const branch = `z9hG4bK-${callId}-${answer.status === 200 ? "ack" : "inv"}`;
      await client.send(request({ ...base, method: "ACK", branch, toTag: answer.to.tag }), port);
      if (answer.status !== 200) break;
    }
    return finals;
  }

  test(
    "serve() with limits.dialogs 20 refuses a source's 3rd open call 503 (its share is 2) and takes another source's",
    { timeout: 15_000 },
    async () => {
      const { server, port, peers: [attacker, good], close } = await udpEdge(
        { limits: { dialogs: 20 } },
        ATTACKER,
        GOOD,
      );
      try {
        const finals = await fillCalls(attacker, port, "hold", 10);
        assert.deepEqual(finals.map(line), ["200 INVITE", "200 INVITE", "503 INVITE"]);
        assert.equal(finals[2].reason, "Service Unavailable: too many dialogs from this source");
        assert.ok(finals[2].headers.get("Retry-After") !== undefined, "the 503 says when to retry");
        assert.equal(server.peer.dialogs.length, 2);
        await udpCall(good, port, "good", { hangUp: false });
        assert.equal(server.peer.dialogs.length, 3);
      } finally {
        await close();
      }
    },
  );

  test(
    "serve() with limits.bindings 50 refuses a source's 6th binding 503 (its share is 5), 11 contacts for one " +
      "address of record 403, and registers another source",
    { timeout: 15_000 },
    async () => {
      const { server, port, peers: [attacker, good], close } = await udpEdge(
        { limits: { bindings: 50 } },
        ATTACKER,
        GOOD,
      );
      try {
        const register = (client: UdpPeer, user: string, contacts: number) =>
          client.send(
            request({
              method: "REGISTER",
              port,
              uri: `sip:${SERVER}:${port}`,
              to: `sip:${user}@example.com`,
              sentBy: client.sentBy,
              branch: `z9hG4bK-reg-${user}`,
              callId: `reg-${user}`,
              extra: Array.from({ length: contacts }, (_, i) => `Contact: <sip:${user}-${i}@${client.sentBy}>`),
            }),
            port,
          );
        const statuses: string[] = [];
        for (let i = 0; i < 6; i++) {
          await register(attacker, `a${i}`, 1);
          const r = await attacker.next(`the response to REGISTER ${i}`, final("REGISTER")) as SipResponse;
          statuses.push(`${r.status} ${r.reason}`);
        }
        assert.deepEqual(statuses, [
          ...Array(5).fill("200 OK"),
          "503 Service Unavailable: too many bindings from this source",
        ]);
        await register(attacker, "many", 11);
        const forbidden = await attacker.next("the response to 11 contacts", final("REGISTER")) as SipResponse;
        assert.equal(forbidden.status, 403);
        assert.match(forbidden.reason, /^Forbidden: too many contacts for .* \(at most 10\)$/);
        await register(good, "good", 1);
        assert.equal(line(await good.next("200 to REGISTER", final("REGISTER"))), "200 REGISTER");
        assert.equal(server.peer.bindings().length, 6);
      } finally {
        await close();
      }
    },
  );

  test(
    "serve() with 20 RTP streams refuses a source's 3rd call with media 503 (its share is 2) and takes another " +
      "source's",
    { timeout: 15_000 },
    async () => {
      const base = await freeBlock(40);
      const { server, port, peers: [attacker, good], close } = await udpEdge(
        { media: { portRange: [base, base + 39] } },
        ATTACKER,
        GOOD,
      );
      try {
        assert.equal(server.media?.capacity, 20);
        const finals = await fillCalls(attacker, port, "media", 10);
        assert.deepEqual(finals.map(line), ["200 INVITE", "200 INVITE", "503 INVITE"]);
        assert.equal(finals[2].reason, "Service Unavailable: too many RTP streams from this source");
        await udpCall(good, port, "good-media");
        assert.equal(server.media?.available, 18);
      } finally {
        await close();
      }
    },
  );
});
