// What a failing mock-peer test says: the closest requests to a wait that found nothing, where
// the error points, whole messages in the ladder, scripted answers never used, requests no
// script answered. The same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MockAssertionError, mockPeer, MockTimeoutError, parseRules } from "../../mod.ts";
import { FAST } from "./_sut.ts";

/** A REGISTER for alice to the mock itself: the Request-URI is the registrar's domain (RFC 3261 §10.2). */
function register(peer: { addresses: readonly { port: number }[] }, expires: string) {
  const aor = "<sip:alice@127.0.0.1>";
  return {
    method: "REGISTER",
    uri: `sip:127.0.0.1:${peer.addresses[0].port}`,
    headers: { To: aor, From: aor, Expires: expires },
  };
}

/** The frames of a stack, without its message. */
function frames(error: unknown): string[] {
  assert.ok(error instanceof Error);
  return (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
}

describe("a wait that finds nothing", () => {
  test("waitFor() names the closest requests, what each condition expected and got, and the closest in full", async () => {
    // The default timers: with FAST's T1 of 10 ms a busy machine retransmits the OPTIONS before
    // its 200 comes, and the count of requests received below is the point of the test.
    await using peer = await mockPeer();

    await peer.request({ method: "OPTIONS", uri: peer.uri });
    await peer.request(register(peer, "600"));
    await assert.rejects(peer.waitFor({ method: "REGISTER", Expires: "3600" }, { timeout: 30 }), (e) => {
      assert.ok(e instanceof MockTimeoutError);
      const m = e.message;
      assert.match(m, /^waitFor\(\{ method: "REGISTER", Expires: "3600" \}\): no matching request within 30 ms\.\n/);
      assert.match(
        m,
        /\nClosest of 2 requests received:\n +\d+\.\d{3} {2}REGISTER sip:127\.0\.0\.1:\d+ SIP\/2\.0 {2}from 127\.0\.0\.1:\d+ udp\n +Expires: expected "3600", got "600"\n/,
      );
      assert.match(
        m,
        /\n +\d+\.\d{3} {2}OPTIONS sip:mock@.*\n +method: expected REGISTER, got OPTIONS\n +Expires: expected "3600", got no Expires header\n/,
      );
      assert.match(
        m,
        /\nThe closest in full:\n +REGISTER sip:127\.0\.0\.1:\d+ SIP\/2\.0\n +Via: SIP\/2\.0\/UDP [^\n]+\n(.*\n)*? +Expires: 600\n/,
      );
      assert.match(m, /\nTraffic at sip:mock@127\.0\.0\.1:\d+:\n +time/);
      return true;
    });
  });

  test("waitFor() says when nothing came at all, and a REGISTER's To user when user was asked for", async () => {
    await using peer = await mockPeer({ timers: FAST });
    await assert.rejects(peer.waitFor("BYE", { timeout: 10 }), /within 10 ms\.\nNo request was received\.\nTraffic at/);
    await peer.request(register(peer, "600"));
    await assert.rejects(
      peer.waitFor({ user: "alice" }, { timeout: 10 }),
      /Request-URI user: expected "alice", got "" \(the To user is "alice": a REGISTER names the user it registers in To, RFC 3261 §10\.2; match it with toUser\)/,
    );
    assert.equal((await peer.waitFor({ method: "REGISTER", toUser: "alice" })).expires, 600);
  });

  test("waitForDialog() names the matching INVITE whose BYE never came, or the closest INVITE", async () => {
    await using peer = await mockPeer({ timers: FAST });
    const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
    call.ack();
    await assert.rejects(peer.waitForDialog({ user: "bob" }, { timeout: 10 }), (e) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(e.message, /\nClosest of \d+ requests received:\n +\d+\.\d{3} {2}INVITE sip:mock@/);
      assert.match(e.message, /\n +Request-URI user: expected "bob", got "mock"\n/);
      return true;
    });
    await assert.rejects(peer.waitForDialog(undefined, { timeout: 10 }), (e) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(
        e.message,
        new RegExp(
          // With T1 at 10 ms the 2xx may be resent before the ACK lands, and each 2xx gets its ACK.
          `\\nA matching INVITE came \\(Call-ID ${call.request.callId}, at \\d+\\.\\d{3}\\), then ACK(, ACK)*; no BYE with its Call-ID\\.\\n`,
        ),
      );
      return true;
    });
  });

  test("the error of a failed waitFor(), waitForDialog() or request() starts at the line that called it", async () => {
    await using sut = await mockPeer({ user: "sut", timers: FAST });
    await using peer = await mockPeer({ timers: FAST });
    sut.answer("OPTIONS", { silent: true });
    const errors = [
      await peer.waitFor("BYE", { timeout: 10 }).catch((e) => e),
      await peer.waitForDialog(undefined, { timeout: 10 }).catch((e) => e),
      await peer.request({ method: "OPTIONS", uri: sut.uri, timeout: 20 }).catch((e) => e),
      await peer.waitFor({ Method: "BYE" }).catch((e) => e),
    ];
    for (const error of errors) {
      const stack = frames(error);
      assert.match(stack[0], /diagnostics_test\.ts:\d+:\d+/, String(error.stack));
      assert.ok(!String(error.stack).includes("src/testing/"), String(error.stack));
    }
    assert.ok(errors[0] instanceof MockTimeoutError && errors[2] instanceof MockTimeoutError);
    assert.match(errors[0].stack ?? "", /^MockTimeoutError: waitFor\("BYE"\): no matching request within 10 ms\./);
    assert.match(errors[2].message, /no final response/);
  });
});

describe("MockPeer.ladder({ full: true })", () => {
  test("ladder({ full: true }) shows each message whole under its arrow: headers and body", async () => {
    await using peer = await mockPeer();
    await peer.request({ method: "MESSAGE", uri: peer.uri, body: "hello", headers: { Subject: "hi" } });
    const short = peer.ladder();
    assert.doesNotMatch(short, /Subject: hi/);
    const full = peer.ladder({ full: true });
    assert.match(full, /\|<-- MESSAGE sip:mock@[^\n]+\n {13}MESSAGE sip:mock@\S+ SIP\/2\.0\n {13}Via: SIP\/2\.0\/UDP /);
    assert.match(full, /\n {13}Subject: hi\n(.*\n)*? {13}Content-Length: 5\n\n {13}hello\n/);
    assert.match(full, /\|--- SIP\/2\.0 200 OK -+>[^\n]+\n {13}SIP\/2\.0 200 OK\n/);
    assert.equal(peer.ladder({ full: true, limit: 1 }).split("\n")[1], "           ... 3 earlier");
  });
});

describe("MockPeer.assertDone() and onUnmatched", () => {
  test("assertDone() passes once every scripted answer is used up, and lists those that are not", async () => {
    await using peer = await mockPeer();
    peer.answer("OPTIONS", 200);
    const twice = peer.answer("MESSAGE", 202, { times: 2 });
    peer.answer({ method: "INFO" }, 200, { times: Infinity });
    peer.answer("INVITE", 486).remove(); // taken away: not expected any more
    await peer.request({ method: "OPTIONS", uri: peer.uri });
    await peer.request({ method: "MESSAGE", uri: peer.uri, body: "1" });
    // A statement, not `() => peer.assertDone()`: Bun drops the frame of a call in tail position.
    assert.throws(() => {
      peer.assertDone();
    }, (e) => {
      assert.ok(e instanceof MockAssertionError);
      assert.deepEqual(e.unused.map((a) => a.name), [twice.name, 'answer #3 ({ method: "INFO" })']);
      assert.match(
        e.message,
        /^assertDone\(\): 2 scripted answers not used up at sip:mock@127\.0\.0\.1:\d+:\n {2}answer #2 \("MESSAGE"\): answered 1 of 2, scripted at \S*diagnostics_test\.ts:\d+:\d+\n {2}answer #3 \(\{ method: "INFO" \}\): answered 0 of Infinity, scripted at \S*diagnostics_test\.ts:\d+/,
      );
      assert.match(frames(e)[0], /diagnostics_test\.ts/);
      return true;
    });
    await peer.request({ method: "MESSAGE", uri: peer.uri, body: "2" });
    await peer.request({ method: "INFO", uri: peer.uri });
    peer.assertDone();
  });

  test('onUnmatched: "error" fails the next waitFor(), showing the request no script answered', async () => {
    await using peer = await mockPeer({ onUnmatched: "error" });
    peer.answer("OPTIONS", 200);
    await peer.request({ method: "OPTIONS", uri: peer.uri });
    await peer.request({ method: "MESSAGE", uri: peer.uri, body: "surprise" }); // answered as usual: 200
    await assert.rejects(peer.waitFor("OPTIONS"), (e) => {
      assert.ok(e instanceof MockAssertionError);
      assert.equal(e.unmatched.length, 1);
      assert.match(
        e.message,
        /^waitFor\("OPTIONS"\): 1 request no script answered \(onUnmatched: "error"\) at sip:mock@[^\n]+:\n {4}\d+\.\d{3} {2}MESSAGE sip:mock@\S+ SIP\/2\.0 {2}from 127\.0\.0\.1:\d+ udp\n {4}MESSAGE sip:mock@(.*\n)+ {4}surprise$/,
      );
      return true;
    });
    // Reported once: the next wait goes on.
    assert.equal((await peer.waitFor("OPTIONS")).method, "OPTIONS");
  });

  test('onUnmatched: "error" fails assertDone() and close() too; static rules and { default: true } count as scripts', async () => {
    const rules = parseRules('[{ "match": { "method": "MESSAGE" }, "respond": { "status": 202 } }]');
    const peer = await mockPeer({ onUnmatched: "error", rules });
    peer.answer("BYE", { default: true }, { times: Infinity });
    await peer.request({ method: "MESSAGE", uri: peer.uri });
    await peer.request({ method: "BYE", uri: peer.uri });
    peer.assertDone(); // times: Infinity, used once: done
    await peer.request({ method: "OPTIONS", uri: peer.uri });
    assert.throws(() => peer.assertDone(), /assertDone\(\): 1 request no script answered \(onUnmatched: "error"\)/);
    await peer.request({ method: "INFO", uri: peer.uri });
    await assert.rejects(peer.close(), (e) => {
      assert.ok(e instanceof MockAssertionError);
      assert.match(e.message, /^close\(\): 1 request no script answered[^\n]*\n +\d+\.\d{3} {2}INFO sip:/);
      return true;
    });
    await peer.server.closed; // closed all the same
    await peer.close(); // and reported once
  });

  test('onUnmatched: "warn" prints each request no script answered, and fails nothing', async () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
    try {
      await using peer = await mockPeer({ onUnmatched: "warn" });
      peer.answer("OPTIONS", 200);
      await peer.request({ method: "OPTIONS", uri: peer.uri });
      assert.equal((await peer.request({ method: "MESSAGE", uri: peer.uri, body: "surprise" })).status, 200);
      assert.deepEqual(
        warnings.filter((w) => w.startsWith("sipecho mock:")).map((w) => w.replace(/:\d+/g, ":PORT")),
        [`sipecho mock: no script answered MESSAGE ${peer.uri.replace(/:\d+/g, ":PORT")} from 127.0.0.1:PORT`],
      );
      assert.equal((await peer.waitFor("MESSAGE")).bodyText, "surprise");
      peer.assertDone();
    } finally {
      console.warn = warn;
    }
  });

  test('onUnmatched: "ignore" (the default) lets the built-in behaviour answer unscripted requests silently', async () => {
    await using peer = await mockPeer();
    await peer.request({ method: "OPTIONS", uri: peer.uri });
    peer.assertDone();
  });
});
