// matchRule(), findRule() and globToRegExp(): which rule answers a request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadRules, parseRules } from "../../src/rules/load.ts";
import { findRule, globToRegExp, matchRule } from "../../src/rules/match.ts";
import { BRIEF_EXAMPLE, input, type InputOptions, matcher } from "./_helpers.ts";

test("matchRule() without match matches every request", () => {
  const [rule] = loadRules([{ silent: true }]);
  assert.deepEqual(rule.match, {});
  assert.ok(matchRule(rule, input()));
  assert.ok(matchRule(rule, input({ method: "BYE", uriUser: undefined, transport: "wss", address: "::1" })));
});

test("matchRule() compares methods exactly, one or any of several", () => {
  const one = matcher({ method: "INVITE" });
  assert.ok(matchRule(one, input({ method: "INVITE" })));
  assert.ok(!matchRule(one, input({ method: "invite" })));
  assert.ok(!matchRule(one, input({ method: "INVITEX" })));
  const many = matcher({ method: ["MESSAGE", "INFO"] });
  assert.ok(matchRule(many, input({ method: "INFO" })));
  assert.ok(matchRule(many, input({ method: "MESSAGE" })));
  assert.ok(!matchRule(many, input({ method: "INVITE" })));
});

test("matchRule() matches the user by exact name or glob, case-sensitively", () => {
  const exact = matcher({ user: "busy" });
  assert.ok(matchRule(exact, input({ uriUser: "busy" })));
  assert.ok(!matchRule(exact, input({ uriUser: "Busy" })));
  assert.ok(!matchRule(exact, input({ uriUser: "busy1" })));
  assert.ok(!matchRule(exact, input({ uriUser: "notbusy" })));
  assert.ok(!matchRule(exact, input({ uriUser: undefined })));

  const star = matcher({ user: "slow*" });
  assert.ok(matchRule(star, input({ uriUser: "slow" })), "* matches an empty run");
  assert.ok(matchRule(star, input({ uriUser: "slow-3000" })));
  assert.ok(!matchRule(star, input({ uriUser: "xslow" })));

  const any = matcher({ user: ["a", "b?"] });
  assert.ok(matchRule(any, input({ uriUser: "a" })));
  assert.ok(matchRule(any, input({ uriUser: "b1" })));
  assert.ok(!matchRule(any, input({ uriUser: "b" })));
});

test("matchRule() treats a missing user part as the empty string", () => {
  assert.ok(matchRule(matcher({ user: "*" }), input({ uriUser: undefined })));
  assert.ok(matchRule(matcher({ user: "" }), input({ uriUser: undefined })));
  assert.ok(!matchRule(matcher({ user: "" }), input({ uriUser: "a" })));
  assert.ok(!matchRule(matcher({ user: "?*" }), input({ uriUser: undefined })));
});

test("globToRegExp() handles wildcards, escapes and regex metacharacters", () => {
  const cases: [glob: string, text: string, expected: boolean][] = [
    ["*", "", true],
    ["*", "anything at all", true],
    ["?", "", false],
    ["?", "x", true],
    ["?", "xy", false],
    ["a*b", "ab", true],
    ["a*b", "a-b-b", true],
    ["a*b", "a-b-c", false],
    ["**", "x", true],
    ["*?*", "", false],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
    ["+1(555)", "+1(555)", true],
    ["[abc]", "[abc]", true],
    ["[abc]", "a", false],
    ["x|y", "x", false],
    ["^a$", "^a$", true],
    ["a\\*", "a*", true],
    ["a\\*", "ab", false],
    ["a\\?", "a?", true],
    ["a\\?", "ab", false],
    ["a\\\\", "a\\", true],
    ["a\\", "a\\", true],
    ["?", "\u{1F600}", true],
    ["??", "\u{1F600}", false],
    ["line*", "line\nbreak", true],
    ["x", "x\n", false],
  ];
  for (const [glob, text, expected] of cases) {
    assert.equal(globToRegExp(glob).test(text), expected, `${JSON.stringify(glob)} vs ${JSON.stringify(text)}`);
  }
  assert.ok(!globToRegExp("ABC").test("abc"));
  assert.ok(globToRegExp("ABC", { ignoreCase: true }).test("abc"));
});

test("matchRule() matches the host case-insensitively, by glob", () => {
  const rule = matcher({ host: "*.example.com" });
  assert.ok(matchRule(rule, input({ uriHost: "pbx.example.com" })));
  assert.ok(matchRule(rule, input({ uriHost: "PBX.Example.COM" })));
  assert.ok(matchRule(rule, input({ uriHost: "a.b.example.com" })));
  assert.ok(!matchRule(rule, input({ uriHost: "example.com" })));
  assert.ok(!matchRule(rule, input({ uriHost: "pbx.example.com.evil" })));
  assert.ok(!matchRule(rule, input({ uriHost: "pbxXexample.com" })), "the dot is literal");

  const v6 = matcher({ host: ["[2001:db8::1]", "192.0.2.?"] });
  assert.ok(matchRule(v6, input({ uriHost: "[2001:DB8::1]" })));
  assert.ok(matchRule(v6, input({ uriHost: "192.0.2.7" })));
  assert.ok(!matchRule(v6, input({ uriHost: "2001:db8::1" })));
  assert.ok(!matchRule(v6, input({ uriHost: "192.0.2.17" })));
});

test("matchRule() tests header patterns against every value and needs all headers", () => {
  const rule = matcher({ headers: { "User-Agent": "^Zoiper", "X-Test": "yes|true" } });
  assert.deepEqual(rule.match.headers?.map((h) => h.name), ["User-Agent", "X-Test"]);
  assert.ok(matchRule(rule, input({ headers: { "user-agent": ["Zoiper 5.1"], "x-test": ["no", "true"] } })));
  assert.ok(!matchRule(rule, input({ headers: { "user-agent": ["Zoiper 5.1"], "x-test": ["no"] } })));
  assert.ok(!matchRule(rule, input({ headers: { "user-agent": ["MicroSIP (Zoiper)"], "x-test": ["yes"] } })));
  assert.ok(!matchRule(rule, input({ headers: { "user-agent": ["Zoiper"] } })), "a missing header never matches");
  assert.ok(!matchRule(matcher({ headers: { "X-Any": "" } }), input()), "even an empty pattern needs a value");
  assert.ok(matchRule(matcher({ headers: { "X-Any": "" } }), input({ headers: { "X-Any": [""] } })));
  assert.ok(
    !matchRule(matcher({ headers: { "User-Agent": "zoiper" } }), input({ headers: { "User-Agent": ["Zoiper"] } })),
  );
});

test("matchRule() tests the body pattern against the body text", () => {
  const rule = matcher({ body: "m=video" });
  assert.ok(matchRule(rule, input({ body: "v=0\r\nm=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n" })));
  assert.ok(!matchRule(rule, input({ body: "v=0\r\nm=audio 4000 RTP/AVP 0\r\n" })));
  assert.ok(!matchRule(rule, input({ body: "" })));
  assert.ok(matchRule(matcher({ body: "^$" }), input({ body: "" })));
  assert.ok(!matchRule(matcher({ body: "^$" }), input({ body: "x" })));
});

test("matchRule() matches the source against IPv4 and IPv6 CIDR blocks", () => {
  const rule = matcher({ source: ["192.0.2.0/24", "2001:db8::/32", "203.0.113.5"] });
  assert.ok(matchRule(rule, input({ address: "192.0.2.0" })));
  assert.ok(matchRule(rule, input({ address: "192.0.2.255" })));
  assert.ok(!matchRule(rule, input({ address: "192.0.3.0" })));
  assert.ok(matchRule(rule, input({ address: "203.0.113.5" })), "a bare address is a /32");
  assert.ok(!matchRule(rule, input({ address: "203.0.113.6" })));
  assert.ok(matchRule(rule, input({ address: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" })));
  assert.ok(matchRule(rule, input({ address: "2001:DB8::1" })));
  assert.ok(!matchRule(rule, input({ address: "2001:db9::1" })));
  assert.ok(matchRule(rule, input({ address: "::ffff:192.0.2.77" })), "IPv4-mapped source");
  assert.ok(matchRule(rule, input({ address: "::ffff:c000:24d" })), "IPv4-mapped source in hex");
  assert.ok(!matchRule(rule, input({ address: "::ffff:192.0.3.1" })));
  assert.ok(matchRule(rule, input({ address: "[2001:db8::1]" })), "brackets are tolerated");
  assert.ok(matchRule(rule, input({ address: "2001:db8::1%eth0" })), "a zone is ignored");
  assert.ok(!matchRule(rule, input({ address: "" })));
  assert.ok(!matchRule(rule, input({ address: "localhost" })));
  assert.ok(!matchRule(rule, input({ address: "192.0.2.1.5" })));
});

test("matchRule() matches transports, written in any case in the rules", () => {
  const rule = matcher({ transport: ["UDP", "tls"] });
  assert.deepEqual(rule.match.transport, ["udp", "tls"]);
  assert.ok(matchRule(rule, input({ transport: "udp" })));
  assert.ok(matchRule(rule, input({ transport: "tls" })));
  assert.ok(!matchRule(rule, input({ transport: "tcp" })));
  assert.ok(!matchRule(rule, input({ transport: "wss" })));
  assert.ok(matchRule(matcher({ transport: "ws" }), input({ transport: "ws" })));
});

test("matchRule() needs every condition given to hold", () => {
  const rule = parseRules(BRIEF_EXAMPLE)[1];
  const good: InputOptions = {
    method: "MESSAGE",
    uriUser: "slowpoke",
    uriHost: "sip.example.com",
    headers: { "User-Agent": ["Zoiper rv2.10"] },
    body: "v=0\r\nm=video 5000 RTP/AVP 96\r\n",
    address: "192.0.2.10",
    transport: "tcp",
  };
  assert.ok(matchRule(rule, input(good)));
  const spoilers: InputOptions[] = [
    { method: "OPTIONS" },
    { uriUser: "fast" },
    { uriHost: "example.org" },
    { headers: { "User-Agent": ["Linphone"] } },
    { body: "v=0\r\nm=audio 5000 RTP/AVP 0\r\n" },
    { address: "198.51.100.1" },
    { transport: "tls" },
  ];
  for (const spoiler of spoilers) {
    assert.ok(!matchRule(rule, input({ ...good, ...spoiler })), JSON.stringify(spoiler));
  }
});

test("findRule() returns the first matching rule", () => {
  const rules = loadRules([
    { name: "specific", match: { method: "INVITE", user: "busy" }, respond: { status: 486 } },
    { name: "users b*", match: { user: "b*" }, respond: { status: 404 } },
    { name: "INVITE", match: { method: "INVITE" }, default: true },
  ]);
  assert.equal(findRule(rules, input({ uriUser: "busy" }))?.name, "specific");
  assert.equal(findRule(rules, input({ method: "MESSAGE", uriUser: "busy" }))?.name, "users b*");
  assert.equal(findRule(rules, input({ uriUser: "bob" }))?.name, "users b*");
  assert.equal(findRule(rules, input({ uriUser: "carol" }))?.name, "INVITE");
  assert.equal(findRule(rules, input({ method: "BYE", uriUser: "carol" })), undefined);
  assert.equal(findRule([], input()), undefined);
  const swapped = loadRules([
    { name: "users b*", match: { user: "b*" }, respond: { status: 404 } },
    { name: "specific", match: { method: "INVITE", user: "busy" }, respond: { status: 486 } },
  ]);
  assert.equal(findRule(swapped, input({ uriUser: "busy" }))?.name, "users b*");
});
