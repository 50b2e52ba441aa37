// The mock peer over TLS (RFC 3261 §26, RFC 5630) on real loopback sockets, on Deno and on Bun:
// it listens on TLS with a certificate made at start, and its UAC calls sips: and
// ;transport=tls targets trusting a given CA or a pinned SHA-256 fingerprint; an untrusted
// certificate or a wrong fingerprint is refused, and says so.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mockPeer, serve } from "../../mod.ts";
import { makeCertificate } from "../../src/net/mod.ts";
import { FAST } from "./_sut.ts";

const sipsUri = (user: string, port: number) => `sips:${user}@127.0.0.1:${port}`;

describe("the mock peer over TLS", () => {
  test("listens on TLS with no certificate option: one is made, server.tls tells its CA and fingerprint", async () => {
    await using peer = await mockPeer({ transport: ["udp", "tls"] });
    const tls = peer.server.tls;
    assert.ok(tls !== undefined);
    assert.equal(tls.selfSigned, true);
    assert.match(tls.fingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(tls.ca?.startsWith("-----BEGIN CERTIFICATE-----"));
    assert.deepEqual(tls.names, ["localhost", "127.0.0.1", "::1"]);
    assert.match(peer.uriFor("bob", "tls"), /^sip:bob@127\.0\.0\.1:\d+;transport=tls$/);
  });

  test("calls ;transport=tls trusting the callee's CA: OPTIONS answered, Via TLS", async () => {
    await using callee = await mockPeer({ user: "bob", transport: "tls" });
    await using caller = await mockPeer({ user: "alice", transport: "tls" });
    const result = await caller.request({
      method: "OPTIONS",
      uri: callee.uriFor("bob", "tls"),
      tls: { ca: callee.server.tls!.ca },
    });
    assert.equal(result.status, 200);
    const options = await callee.waitFor("OPTIONS");
    assert.match(options.headers.get("Via") ?? "", /^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;/);
    assert.equal(callee.received[0].transport, "tls");
  });

  test("a whole call to a sips: URI, pinning the callee's fingerprint; the Contact is sips: (RFC 3261 §8.1.1.8)", async () => {
    await using callee = await mockPeer({ user: "bob", transport: "tls" });
    await using caller = await mockPeer({ user: "alice", transport: "tls", timers: FAST });
    const port = callee.addresses[0].port;
    const call = await caller.request({
      method: "INVITE",
      uri: sipsUri("bob", port),
      sdp: true,
      tls: { fingerprint: callee.server.tls!.fingerprint!.toLowerCase() },
    });
    assert.equal(call.status, 200);
    call.ack();
    assert.equal((await call.bye()).status, 200);
    const dialog = await callee.waitForDialog({ method: "INVITE", user: "bob" });
    assert.match(dialog.invite.headers.get("Contact") ?? "", /^<sips:alice@127\.0\.0\.1:\d+>$/);
    assert.deepEqual(
      callee.received.map((e) => `${e.transport} ${e.message.type === "request" ? e.message.method : ""}`),
      ["tls INVITE", "tls ACK", "tls BYE"],
    );
  });

  test("a wrong fingerprint is refused before anything is sent, naming both", async () => {
    await using callee = await mockPeer({ user: "bob", transport: "tls" });
    await using caller = await mockPeer({ user: "alice", transport: "tls" });
    const wrong = (await makeCertificate()).fingerprint;
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: sipsUri("bob", callee.addresses[0].port), tls: { fingerprint: wrong } }),
      (e: Error) => {
        assert.match(e.message, /not sent/);
        assert.ok(e.message.includes(`has the SHA-256 fingerprint ${callee.server.tls!.fingerprint}`), e.message);
        assert.ok(e.message.includes(`not the one pinned (${wrong})`), e.message);
        return true;
      },
    );
    assert.equal(callee.received.length, 0);
  });

  test("a CA that did not sign the callee's certificate is refused", async () => {
    await using callee = await mockPeer({ user: "bob", transport: "tls" });
    await using caller = await mockPeer({ user: "alice", transport: "tls" });
    const other = await makeCertificate();
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: sipsUri("bob", callee.addresses[0].port), tls: { ca: other.ca } }),
      /not sent.*cannot open a tls connection/,
    );
    assert.equal(callee.received.length, 0);
  });

  test('calls serve({ tls: "self-signed" }) trusting its CA', async () => {
    await using server = await serve({
      listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
      tls: "self-signed",
    });
    await using caller = await mockPeer({ transport: "tls" });
    const result = await caller.request({
      method: "OPTIONS",
      uri: sipsUri("echo", server.addresses[0].port),
      tls: { ca: server.tls!.ca! },
    });
    assert.equal(result.status, 200);
  });

  test("bad tls options are refused at once: over UDP, no ca nor fingerprint, a fingerprint that is not one", async () => {
    await using caller = await mockPeer({ transport: ["udp", "tls"] });
    const uri = sipsUri("bob", 5061);
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: "sip:bob@127.0.0.1:5060", tls: { fingerprint: "AB" } }),
      { name: "TypeError", message: "request(): tls is for a request over TLS or WSS, not udp" },
    );
    await assert.rejects(caller.request({ method: "OPTIONS", uri, tls: {} }), /needs a ca \(PEM\) or a fingerprint/);
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri, tls: { fingerprint: "AB:CD" } }),
      /request\(\): tls\.fingerprint: "AB:CD" is not a SHA-256 fingerprint/,
    );
    await assert.rejects(caller.request({ method: "OPTIONS", uri, tls: { ca: "nothing" } }), /tls\.ca holds no/);
  });
});
