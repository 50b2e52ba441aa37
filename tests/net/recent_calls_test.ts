// The live page's bounded record (RecentCalls) and its /events and /calls routes, without a browser.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MESSAGE_TEXT,
  MESSAGES_PER_CALL,
  RECENT_CALLS,
  RecentCalls,
  UNWATCHED_MESSAGES,
} from "../../src/net/recent_calls.ts";
import { MAX_EVENT_CLIENTS } from "../../src/net/event_stream.ts";
import { serve } from "../../src/net/serve.ts";
import { MockPeer } from "../../src/testing/mock.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import type { TrafficEntry } from "../../src/net/serve_options.ts";

function entry(callId: string, cseq: number, body = ""): TrafficEntry {
  const message = parseMessage(
    `MESSAGE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK${callId}${cseq}\r\n` +
      `From: "A" <sip:alice@192.0.2.9>;tag=1\r\nTo: sip:bob@192.0.2.1\r\nCall-ID: ${callId}\r\n` +
      `CSeq: ${cseq} MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  return { time: cseq, direction: "in", transport: "udp", remote: { address: "192.0.2.9", port: 5060 }, message };
}

describe("RecentCalls", () => {
  test("RecentCalls keeps the last RECENT_CALLS Call-IDs, the first seen pushed out first", () => {
    const recent = new RecentCalls();
    for (let i = 0; i <= RECENT_CALLS; i++) recent.record(entry(`c${i}`, 1));
    const calls = recent.calls();
    assert.equal(calls.length, RECENT_CALLS);
    assert.equal(calls[0].callId, "c1");
    assert.equal(calls.at(-1)!.callId, `c${RECENT_CALLS}`);
    assert.deepEqual([calls[0].from, calls[0].to], ["alice", "bob"]);
  });

  test("RecentCalls reads no message while nobody listens, until calls() asks; then all of them, in order", () => {
    const recent = new RecentCalls({ calls: 4, messages: 2 });
    let reads = 0;
    for (let i = 1; i <= 20; i++) {
      const e = entry(`c${i % 5}`, i);
      recent.record({
        ...e,
        get message() {
          reads++;
          return e.message;
        },
      });
    }
    assert.equal(reads, 0, "the messages are read only when asked for");
    const calls = recent.calls();
    assert.ok(reads > 0 && reads <= 20);
    // The same result as reading each at once (the last 4 Call-IDs, 2 messages each).
    const eager = new RecentCalls({ calls: 4, messages: 2 });
    eager.listen(() => {});
    for (let i = 1; i <= 20; i++) eager.record(entry(`c${i % 5}`, i));
    assert.deepEqual(
      calls.map((c) => [c.callId, c.messages.map((m) => m.cseq)]),
      eager.calls().map((c) => [c.callId, c.messages.map((m) => m.cseq)]),
    );
  });

  test("RecentCalls keeps at most 2 × UNWATCHED_MESSAGES unread while nobody listens, the newest among them", () => {
    const recent = new RecentCalls();
    let reads = 0;
    for (let i = 1; i <= 10 * UNWATCHED_MESSAGES; i++) {
      const e = entry(`c${i}`, i);
      recent.record({
        ...e,
        get message() {
          reads++;
          return e.message;
        },
      });
    }
    const calls = recent.calls();
    assert.ok(reads >= UNWATCHED_MESSAGES && reads < 2 * UNWATCHED_MESSAGES, `${reads} read`);
    assert.equal(calls.at(-1)!.callId, `c${10 * UNWATCHED_MESSAGES}`);
    assert.equal(calls.length, Math.min(reads, RECENT_CALLS));
  });

  test("RecentCalls keeps the last MESSAGES_PER_CALL messages of a call and counts them all", () => {
    const recent = new RecentCalls();
    for (let i = 1; i <= MESSAGES_PER_CALL + 5; i++) recent.record(entry("c", i));
    const [call] = recent.calls();
    assert.equal(call.total, MESSAGES_PER_CALL + 5);
    assert.equal(call.messages.length, MESSAGES_PER_CALL);
    assert.equal(call.messages[0].cseq, "6 MESSAGE");
    assert.deepEqual(call.methods, ["MESSAGE"]);
  });

  test("RecentCalls cuts a message's text at MESSAGE_TEXT characters and says how much is not kept", () => {
    const recent = new RecentCalls();
    recent.record(entry("c", 1, "x".repeat(MESSAGE_TEXT + 1000)));
    const text = recent.calls()[0].messages[0].text;
    assert.ok(text.length < MESSAGE_TEXT + 100);
    assert.match(text, /\[\.\.\. \d+ more characters not kept\]$/);
  });
});

describe("serve({ http }) live page routes", () => {
  test("/ is the page, /calls the recent calls as JSON, /events a stream of each message", async () => {
    await using server = await serve({
      listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
      http: { port: 0 },
    });
    const base = `http://127.0.0.1:${server.http!.port}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(await page.text(), /<title>sipecho: live<\/title>/);

    const events = await fetch(`${base}/events`);
    assert.equal(events.headers.get("content-type"), "text/event-stream");
    const reader = events.body!.getReader();
    await using uac = await MockPeer.start();
    await uac.request({ method: "OPTIONS", uri: server.uri("echo") });
    let text = "";
    while ((text.match(/^event: message$/gm) ?? []).length < 2) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    const data = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)));
    assert.deepEqual(data.map((d) => [d.message.direction, d.message.summary.split(" ")[0]]), [
      ["in", "OPTIONS"],
      ["out", "200"],
    ]);
    assert.equal(data[0].call.messages, undefined); // the call's summary only
    await reader.cancel();

    const calls = await (await fetch(`${base}/calls`)).json();
    assert.deepEqual(calls.limits, { calls: RECENT_CALLS, messages: MESSAGES_PER_CALL });
    assert.equal(calls.calls.length, 1);
    assert.equal(calls.calls[0].messages.length, 2);
  });

  test(`/events takes at most MAX_EVENT_CLIENTS (${MAX_EVENT_CLIENTS}) clients: one more gets 503`, async () => {
    await using server = await serve({
      listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
      http: { port: 0 },
    });
    const base = `http://127.0.0.1:${server.http!.port}`;
    const open: Response[] = [];
    for (let i = 0; i < MAX_EVENT_CLIENTS; i++) open.push(await fetch(`${base}/events`));
    assert.ok(open.every((r) => r.status === 200));
    const refused = await fetch(`${base}/events`);
    assert.equal(refused.status, 503);
    await refused.body?.cancel();
    // One leaves: there is room again.
    await open.pop()!.body!.cancel();
    let again: Response | undefined;
    for (let tries = 0; tries < 100 && again?.status !== 200; tries++) {
      await again?.body?.cancel();
      await new Promise((r) => setTimeout(r, 10));
      again = await fetch(`${base}/events`);
    }
    assert.equal(again!.status, 200);
    // Closing the server ends the streams still open (cleanly, or with the connection closed).
    await server.close();
    for (const r of [...open, again!]) {
      const reader = r.body!.getReader();
      try {
        while (!(await reader.read()).done);
      } catch { /* the connection closed */ }
    }
  });
});
