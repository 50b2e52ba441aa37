// The edge limits' accounting (src/guard.ts), on its own: every answer the peer and serve() act on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Admission, EDGE_LAB, EDGE_PUBLIC, type EdgeOptions, SourceGuard, sourceKey } from "../../src/ua/guard.ts";

describe("sourceKey()", () => {
  test("sourceKey() keeps an IPv4 address as it is", () => {
    assert.equal(sourceKey("192.0.2.9"), "192.0.2.9");
    assert.equal(sourceKey("198.51.100.255", 128), "198.51.100.255");
  });

  test("sourceKey() counts an IPv4-mapped IPv6 address as its IPv4 address, in any case", () => {
    assert.equal(sourceKey("::ffff:192.0.2.9"), "192.0.2.9");
    assert.equal(sourceKey("::FFFF:192.0.2.9"), "192.0.2.9");
    assert.equal(sourceKey("::ffff:192.0.2.9"), sourceKey("192.0.2.9"));
  });

  test("sourceKey() counts an IPv6 address as its /64, written as RFC 5952 says", () => {
    assert.equal(sourceKey("2001:DB8:0:1:aaaa::9"), "2001:db8:0:1::/64");
    assert.equal(sourceKey("2001:db8:0:1:ffff:ffff:ffff:ffff"), "2001:db8:0:1::/64");
    assert.equal(sourceKey("2001:0db8:0000:0001:0000:0000:0000:0001"), "2001:db8:0:1::/64");
    // Two hosts of one /64 are one source; the next /64 is another.
    assert.equal(sourceKey("2001:db8:1:2::1"), sourceKey("2001:db8:1:2:abcd::7"));
    assert.notEqual(sourceKey("2001:db8:1:2::1"), sourceKey("2001:db8:1:3::1"));
    // The longest run of zero groups is the one written as "::".
    assert.equal(sourceKey("1:0:0:2:0:0:0:3", 128), "1:0:0:2::3/128");
    assert.equal(sourceKey("::1"), "::/64");
    // The same writer as socket addresses (src/sip/ip.ts): an IPv4-mapped prefix ends dotted (§5).
    assert.equal(sourceKey("::ffff:c000:209", 128), "::ffff:192.0.2.9/128");
  });

  test("sourceKey() masks other prefix lengths, cutting inside a group too, and clamps to 0..128", () => {
    assert.equal(sourceKey("2001:db8:abcd:1234::1", 48), "2001:db8:abcd::/48");
    assert.equal(sourceKey("2001:db8:abcd:12ff::1", 56), "2001:db8:abcd:1200::/56");
    assert.equal(sourceKey("2001:db8:abcd:1234::1", 36), "2001:db8:a000::/36");
    assert.equal(sourceKey("2001:db8::1", 128), "2001:db8::1/128");
    assert.equal(sourceKey("2001:db8::1", 0), "::/0");
    assert.equal(sourceKey("2001:db8::1", 200), "2001:db8::1/128");
    assert.equal(sourceKey("2001:db8::1", -5), "::/0");
  });

  test("sourceKey() drops a zone id and reads an embedded IPv4 tail", () => {
    assert.equal(sourceKey("fe80::1%eth0"), "fe80::/64");
    assert.equal(sourceKey("fe80::1%eth0", 128), "fe80::1/128");
    assert.equal(sourceKey("fe80::1%25"), sourceKey("fe80::2%7"));
    assert.equal(sourceKey("64:ff9b::192.0.2.9", 128), "64:ff9b::c000:209/128");
  });

  test("sourceKey() keeps what is not an IP address as it is (lower-cased when it has a colon)", () => {
    assert.equal(sourceKey("sip.example.com"), "sip.example.com");
    assert.equal(sourceKey(""), "");
    assert.equal(sourceKey("2001:db8:::1"), "2001:db8:::1");
    assert.equal(sourceKey("1:2:3:4:5:6:7:8:9"), "1:2:3:4:5:6:7:8:9");
    assert.equal(sourceKey("1:2:3"), "1:2:3");
    assert.equal(sourceKey("2001:DB8::G"), "2001:db8::g");
    assert.equal(sourceKey("12345::1"), "12345::1");
    assert.equal(sourceKey("::1.2.3"), "::1.2.3");
  });
});

describe("SourceGuard rate limit", () => {
  test("SourceGuard.admit() takes a burst at once, then refuses once and bans the source", () => {
    const guard = new SourceGuard({ rate: 10, burst: 3, ban: 1000 });
    const source = guard.source("192.0.2.9", 0);
    assert.deepEqual([0, 0, 0].map((t) => guard.admit(source, t)), [Admission.Take, Admission.Take, Admission.Take]);
    assert.equal(guard.admit(source, 0), Admission.Refuse);
    assert.equal(source.bannedUntil, 1000);
    assert.equal(source.dropped, 0);
  });

  test("SourceGuard.admit() refills the bucket at `rate` a second, up to `burst`", () => {
    const guard = new SourceGuard({ rate: 10, burst: 2, ban: 1000 });
    const source = guard.source("192.0.2.9", 0);
    assert.equal(guard.admit(source, 0), Admission.Take);
    assert.equal(guard.admit(source, 0), Admission.Take);
    // 10 a second: one token every 100 ms.
    assert.equal(guard.admit(source, 100), Admission.Take);
    assert.equal(guard.admit(source, 200), Admission.Take);
    // A long pause fills the bucket to `burst` only: two at once, not more.
    assert.equal(guard.admit(source, 60_000), Admission.Take);
    assert.equal(guard.admit(source, 60_000), Admission.Take);
    assert.equal(guard.admit(source, 60_000), Admission.Refuse);
  });

  test("SourceGuard.admit() refuses a message that comes before its token has refilled", () => {
    const guard = new SourceGuard({ rate: 10, burst: 1, ban: 1000 });
    const source = guard.source("192.0.2.9", 0);
    assert.equal(guard.admit(source, 0), Admission.Take);
    assert.equal(guard.admit(source, 50), Admission.Refuse); // half a token
  });

  test("SourceGuard.admit() drops everything during the ban, counting it, and takes again after", () => {
    const guard = new SourceGuard({ rate: 10, burst: 2, ban: 1000 });
    const source = guard.source("192.0.2.9", 0);
    guard.admit(source, 0);
    guard.admit(source, 0);
    assert.equal(guard.admit(source, 0), Admission.Refuse);
    for (const t of [0, 1, 500, 999]) assert.equal(guard.admit(source, t), Admission.Drop);
    assert.equal(source.dropped, 4);
    assert.equal(guard.banReport(source), 0, "nothing to report while the ban lasts");
    // The ban is over: a full bucket again.
    assert.equal(guard.admit(source, 1000), Admission.Take);
    assert.equal(guard.admit(source, 1000), Admission.Take);
    assert.equal(source.bannedUntil, 0);
  });

  test("SourceGuard.banReport() tells how many were dropped once, after the ban", () => {
    const guard = new SourceGuard({ rate: 1, burst: 1, ban: 500 });
    const source = guard.source("192.0.2.9", 0);
    guard.admit(source, 0);
    guard.admit(source, 0); // Refuse
    guard.admit(source, 100);
    guard.admit(source, 200);
    guard.admit(source, 499);
    assert.equal(guard.banReport(source), 0);
    guard.admit(source, 500);
    assert.equal(guard.banReport(source), 3);
    assert.equal(guard.banReport(source), 0, "told once");
    // A second ban counts afresh.
    guard.admit(source, 500); // Refuse: the bucket is empty
    guard.admit(source, 600);
    guard.admit(source, 1000);
    assert.equal(guard.banReport(source), 1);
  });

  test("SourceGuard.admit() bans sources apart", () => {
    const guard = new SourceGuard({ rate: 1, burst: 1, ban: 1000 });
    const a = guard.source("192.0.2.9", 0);
    const b = guard.source("192.0.2.10", 0);
    guard.admit(a, 0);
    assert.equal(guard.admit(a, 0), Admission.Refuse);
    assert.equal(guard.admit(b, 0), Admission.Take);
    assert.equal(guard.admit(a, 1), Admission.Drop);
  });

  test("SourceGuard.admit() takes everything when the rate is Infinity (EDGE_LAB)", () => {
    const guard = new SourceGuard(EDGE_LAB);
    const source = guard.source("192.0.2.9", 0);
    for (let i = 0; i < 10_000; i++) assert.equal(guard.admit(source, 0), Admission.Take);
  });
});

describe("SourceGuard anti-amplification limit", () => {
  test("SourceGuard.allows() lets out at most `amplification` times the bytes received", () => {
    const guard = new SourceGuard();
    const source = guard.source("198.51.100.7", 0);
    assert.equal(guard.allows(source, 1, 0), false, "nothing received: nothing may go");
    guard.received(source, 100);
    assert.equal(guard.allows(source, 300, 0), true);
    assert.equal(guard.allows(source, 301, 0), false);
    guard.sent(source, 250);
    assert.equal(guard.allows(source, 50, 0), true);
    assert.equal(guard.allows(source, 51, 0), false);
    // A retransmitted request grows the budget.
    guard.received(source, 100);
    assert.equal(guard.allows(source, 350, 0), true);
    assert.equal(guard.allows(source, 351, 0), false);
    assert.deepEqual([source.bytesIn, source.bytesOut], [200, 250]);
  });

  test("SourceGuard.allows() follows the amplification option", () => {
    const guard = new SourceGuard({ amplification: 1 });
    const source = guard.source("198.51.100.7", 0);
    guard.received(source, 100);
    assert.equal(guard.allows(source, 100, 0), true);
    assert.equal(guard.allows(source, 101, 0), false);
  });

  test("SourceGuard.allows() lets everything out when the amplification is Infinity (EDGE_LAB)", () => {
    const guard = new SourceGuard(EDGE_LAB);
    const source = guard.source("198.51.100.7", 0);
    // Even before any byte is counted (a parsed message handed to the peer).
    assert.equal(guard.allows(source, 1_000_000, 0), true);
    guard.received(source, 10);
    guard.sent(source, 1_000_000);
    assert.equal(guard.allows(source, 1_000_000, 0), true);
  });

  test("SourceGuard.validate() lifts the limit for `validation` ms, then it applies again", () => {
    const guard = new SourceGuard({ validation: 1000 });
    const source = guard.source("198.51.100.7", 0);
    guard.received(source, 100);
    guard.sent(source, 300);
    assert.equal(guard.validated(source, 0), false);
    guard.validate(source, 500);
    assert.equal(source.validUntil, 1500);
    assert.equal(guard.validated(source, 1499), true);
    assert.equal(guard.allows(source, 100_000, 1499), true);
    assert.equal(guard.validated(source, 1500), false);
    assert.equal(guard.allows(source, 1, 1500), false);
    // Validated again: the window starts over.
    guard.validate(source, 2000);
    assert.equal(guard.allows(source, 100_000, 2999), true);
  });

  test("SourceGuard.firstRefusal() says yes once per source until it is validated again", () => {
    const guard = new SourceGuard();
    const a = guard.source("198.51.100.7", 0);
    const b = guard.source("198.51.100.8", 0);
    assert.equal(guard.firstRefusal(a), true);
    assert.equal(guard.firstRefusal(a), false);
    assert.equal(guard.firstRefusal(b), true);
    guard.validate(a, 0);
    assert.equal(guard.firstRefusal(a), true);
    assert.equal(guard.firstRefusal(a), false);
  });
});

describe("SourceGuard shares", () => {
  test("SourceGuard.shareOf() is `share` of a table, rounded down, at least one", () => {
    assert.equal(new SourceGuard({ share: 0.1 }).shareOf(10_000), 1000);
    assert.equal(new SourceGuard({ share: 0.1 }).shareOf(15), 1);
    assert.equal(new SourceGuard({ share: 0.1 }).shareOf(0), 1);
    assert.equal(new SourceGuard({ share: 0.25 }).shareOf(10), 2);
    assert.equal(new SourceGuard({ share: 1 }).shareOf(3), 3);
    assert.equal(new SourceGuard({ share: 0.1 }).shareOf(Infinity), Infinity);
  });

  test("SourceGuard.take() takes entries up to the share, per table and per source; release() gives them back", () => {
    const guard = new SourceGuard({ share: 0.5 });
    const a = guard.source("192.0.2.9", 0);
    const b = guard.source("192.0.2.10", 0);
    assert.equal(guard.take(a, "dialogs", 4), true);
    assert.equal(guard.take(a, "dialogs", 4), true);
    assert.equal(guard.full(a, "dialogs", 4), true);
    assert.equal(guard.take(a, "dialogs", 4), false);
    assert.equal(a.held.dialogs, 2, "a refused take holds nothing");
    // Another table, another source: their own shares.
    assert.equal(guard.take(a, "streams", 4), true);
    assert.equal(guard.take(b, "dialogs", 4), true);
    guard.release(a, "dialogs");
    assert.equal(guard.full(a, "dialogs", 4), false);
    assert.equal(guard.take(a, "dialogs", 4), true);
    assert.deepEqual(a.held, { transactions: 0, pending: 0, dialogs: 2, streams: 1, connections: 0 });
  });

  test("SourceGuard.hold() counts without checking and release() never goes below 0", () => {
    const guard = new SourceGuard({ share: 0.5 });
    const a = guard.source("192.0.2.9", 0);
    guard.hold(a, "transactions", 5);
    assert.equal(a.held.transactions, 5);
    assert.equal(guard.full(a, "transactions", 4), true);
    guard.release(a, "transactions", 3);
    assert.equal(a.held.transactions, 2);
    guard.release(a, "transactions", 10);
    assert.equal(a.held.transactions, 0);
  });

  test("SourceGuard.full() is never true when the share is the whole table", () => {
    // share 1, or a table so small that its share (at least one) is all of it.
    for (const [share, limit] of [[1, 3], [0.1, 1], [0.5, 1], [0.1, Infinity]]) {
      const guard = new SourceGuard({ share });
      const a = guard.source("192.0.2.9", 0);
      guard.hold(a, "streams", 1000);
      assert.equal(guard.full(a, "streams", limit), false, `share ${share} of ${limit}`);
      assert.equal(guard.take(a, "streams", limit), true, `share ${share} of ${limit}`);
    }
  });
});

describe("SourceGuard log throttle", () => {
  test("SourceGuard.logLine() lets `logBurst` lines per source through per window", () => {
    const guard = new SourceGuard({ logBurst: 2, logTotal: 100, logWindow: 1000 });
    guard.source("192.0.2.9", 0);
    guard.source("192.0.2.10", 0);
    assert.deepEqual([0, 1, 2, 3].map((t) => guard.logLine("192.0.2.9", t)), [0, 0, -1, -1]);
    // Another source has its own.
    assert.deepEqual([4, 5, 6].map((t) => guard.logLine("192.0.2.10", t)), [0, 0, -1]);
  });

  test("SourceGuard.logLine() lets `logTotal` lines through in all per window, lines about no source too", () => {
    const guard = new SourceGuard({ logBurst: 2, logTotal: 3, logWindow: 1000 });
    guard.source("192.0.2.9", 0);
    guard.source("192.0.2.10", 0);
    assert.equal(guard.logLine("192.0.2.9", 0), 0);
    assert.equal(guard.logLine(undefined, 0), 0);
    assert.equal(guard.logLine("192.0.2.10", 0), 0);
    assert.equal(guard.logLine("192.0.2.10", 0), -1, "the total is reached");
    assert.equal(guard.logLine(undefined, 0), -1);
    assert.equal(guard.logLine("198.51.100.7", 0), -1, "an untracked source counts in the total");
  });

  test("SourceGuard.logLine() reports the lines held back once, with the first line of a later window", () => {
    const guard = new SourceGuard({ logBurst: 1, logTotal: 100, logWindow: 1000 });
    guard.source("192.0.2.9", 0);
    assert.equal(guard.logLine("192.0.2.9", 0), 0);
    assert.equal(guard.logLine("192.0.2.9", 10), -1);
    assert.equal(guard.logLine("192.0.2.9", 20), -1);
    // Still the same window: the count waits.
    assert.equal(guard.logLine(undefined, 999), 0);
    assert.equal(guard.logLine("192.0.2.9", 1000), 2);
    assert.equal(guard.logLine(undefined, 1001), 0, "reported once");
    assert.equal(guard.logLine("192.0.2.9", 1002), -1);
    assert.equal(guard.logLine(undefined, 2500), 1);
  });

  test("SourceGuard.logLine() lets everything through with EDGE_LAB's limits", () => {
    const guard = new SourceGuard(EDGE_LAB);
    guard.source("192.0.2.9", 0);
    for (let i = 0; i < 1000; i++) assert.equal(guard.logLine("192.0.2.9", 0), 0);
  });
});

describe("SourceGuard source table", () => {
  test("SourceGuard.source() gives one record per source key", () => {
    const guard = new SourceGuard();
    const a = guard.source("2001:db8:1:2::1", 0);
    assert.equal(guard.source("2001:db8:1:2::99", 5), a);
    assert.equal(guard.source("192.0.2.9", 0).key, "192.0.2.9");
    assert.equal(guard.source("::ffff:192.0.2.9", 0), guard.peek("192.0.2.9"));
    assert.equal(guard.size, 2);
    assert.equal(guard.peek("198.51.100.7"), undefined);
    guard.clear();
    assert.equal(guard.size, 0);
  });

  test("SourceGuard forgets the oldest quiet source that holds nothing when a new one comes", () => {
    const guard = new SourceGuard({ sources: 10 });
    guard.hold(guard.source("192.0.2.1", 0), "dialogs");
    guard.source("192.0.2.2", 0);
    // Not quiet yet (under a minute): nothing is forgotten.
    guard.source("192.0.2.3", 59_999);
    assert.equal(guard.size, 3);
    // Each new source looks at the oldest entry: forgotten if quiet for a minute and holding nothing.
    guard.source("192.0.2.4", 60_000);
    assert.equal(guard.peek("192.0.2.2"), undefined);
    // One that holds something stays, however quiet.
    guard.source("192.0.2.5", 60_000);
    assert.equal(guard.peek("192.0.2.1")?.held.dialogs, 1);
    // One seen within the minute stays.
    guard.source("192.0.2.6", 60_000);
    assert.notEqual(guard.peek("192.0.2.3"), undefined);
    assert.equal(guard.size, 5);
  });

  test("SourceGuard sweeps the full table for quiet sources holding nothing, at most once a second", () => {
    const guard = new SourceGuard({ sources: 2 });
    guard.source("192.0.2.1", 0);
    guard.source("192.0.2.2", 0);
    // Full of sources that are not quiet: a sweep finds nothing.
    assert.equal(guard.source("192.0.2.3", 59_500).key, "*");
    // Quiet now, but the last sweep was under a second ago.
    assert.equal(guard.source("192.0.2.4", 60_200).key, "*");
    assert.equal(guard.size, 2);
    // A second later: swept, and the newcomer gets a record of its own.
    assert.equal(guard.source("192.0.2.5", 60_600).key, "192.0.2.5");
    assert.equal(guard.peek("192.0.2.1"), undefined);
    assert.equal(guard.peek("192.0.2.2"), undefined);
    assert.equal(guard.size, 1);
  });

  test("SourceGuard puts new sources in one shared overflow record while the table is full of busy ones", () => {
    const guard = new SourceGuard({ sources: 2, rate: 1, burst: 2, ban: 1000 });
    guard.hold(guard.source("192.0.2.1", 0), "transactions");
    guard.hold(guard.source("192.0.2.2", 0), "connections");
    const c = guard.source("192.0.2.3", 120_000);
    const d = guard.source("192.0.2.4", 120_000);
    assert.equal(c.key, "*");
    assert.equal(d, c, "one record for all of them");
    assert.equal(guard.size, 2);
    assert.equal(guard.peek("192.0.2.3"), undefined);
    // They share its rate limit (and budget).
    assert.equal(guard.admit(c, 120_000), Admission.Take);
    assert.equal(guard.admit(d, 120_000), Admission.Take);
    assert.equal(guard.admit(guard.source("192.0.2.5", 120_000), 120_000), Admission.Refuse);
    // A source that gives back what it held can be forgotten; then a newcomer gets a record again.
    guard.release(guard.peek("192.0.2.1")!, "transactions");
    assert.equal(guard.source("192.0.2.6", 240_000).key, "192.0.2.6");
    assert.equal(guard.peek("192.0.2.1"), undefined);
    assert.notEqual(guard.peek("192.0.2.2"), undefined);
  });
});

describe("SourceGuard constructor", () => {
  test("new SourceGuard() takes EDGE_PUBLIC for what it is not given", () => {
    const guard = new SourceGuard({ rate: 50 });
    assert.deepEqual(guard.options, { ...EDGE_PUBLIC, rate: 50 });
    assert.ok(Object.isFrozen(guard.options));
    assert.deepEqual(new SourceGuard().options, EDGE_PUBLIC);
  });

  test("new SourceGuard() throws a RangeError naming the option out of range", () => {
    const cases: [Partial<EdgeOptions>, RegExp][] = [
      [{ rate: -1 }, /^SourceGuard: rate must be a number >= 0, got -1$/],
      [{ burst: NaN }, /^SourceGuard: burst must be a number >= 0, got NaN$/],
      [{ ban: "10" as unknown as number }, /^SourceGuard: ban must be a number >= 0, got 10$/],
      [{ validation: -0.5 }, /^SourceGuard: validation must be a number >= 0/],
      [{ logWindow: -1 }, /^SourceGuard: logWindow must be a number >= 0/],
      [{ share: 0 }, /^SourceGuard: share must be in \(0, 1\], got 0$/],
      [{ share: 1.5 }, /^SourceGuard: share must be in \(0, 1\], got 1\.5$/],
      [{ ipv6Prefix: 129 }, /^SourceGuard: ipv6Prefix must be 0\.\.128, got 129$/],
      [{ amplification: 0.5 }, /^SourceGuard: amplification must be at least 1, got 0\.5$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => new SourceGuard(options), (e) => e instanceof RangeError && message.test(e.message));
    }
  });

  test("new SourceGuard() takes Infinity and the edges of each range", () => {
    const guard = new SourceGuard({ share: 1, ipv6Prefix: 0, amplification: 1, rate: 0, sources: Infinity });
    assert.equal(guard.options.ipv6Prefix, 0);
    assert.equal(guard.source("2001:db8::1", 0).key, "::/0");
    assert.doesNotThrow(() => new SourceGuard(EDGE_LAB));
  });
});
