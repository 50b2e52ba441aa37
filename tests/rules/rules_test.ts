import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  type Action,
  cidrContains,
  createRandom,
  DEFAULT_RULE_DESCRIPTIONS,
  DEFAULT_RULES,
  findRule,
  globToRegExp,
  loadRules,
  matchRule,
  parseCidr,
  parseRules,
  renderTemplate,
  resolveAction,
  type ResolvedAction,
  type Rule,
  type RuleInput,
  RulesError,
  RulesSyntaxError,
  TEMPLATE_VARIABLES,
} from "../../src/rules/rules.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

interface InputOptions {
  method?: string;
  uriUser?: string | undefined;
  uriHost?: string;
  headers?: Record<string, string[]>;
  body?: string;
  address?: string;
  port?: number;
  transport?: RuleInput["transport"];
}

/** A request as the rule engine sees it; headers are looked up case-insensitively. */
function input(options: InputOptions = {}): RuleInput {
  const headers = new Map<string, string[]>();
  for (const [name, values] of Object.entries(options.headers ?? {})) headers.set(name.toLowerCase(), values);
  return {
    method: options.method ?? "INVITE",
    uriUser: "uriUser" in options ? options.uriUser : "alice",
    uriHost: options.uriHost ?? "example.com",
    header: (name) => headers.get(name.toLowerCase()) ?? [],
    body: options.body ?? "",
    source: { address: options.address ?? "192.0.2.1", port: options.port ?? 5060 },
    transport: options.transport ?? "udp",
  };
}

/** The single rule with `match` and a silent action. */
function matcher(match: Record<string, unknown>): Rule {
  return loadRules([{ match, silent: true }])[0];
}

/** Asserts that loading `value` fails with exactly `message`. */
function refuses(value: unknown, message: string): void {
  assert.throws(() => loadRules(value, "rules.json"), (e: unknown) => {
    assert.ok(e instanceof RulesError, `expected a RulesError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

/** Asserts that parsing `text` fails with a syntax error with exactly `message`. */
function refusesSyntax(text: string, message: string): RulesSyntaxError {
  let error: unknown;
  try {
    parseRules(text, "rules.json");
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof RulesSyntaxError, `expected a RulesSyntaxError, got ${error}`);
  assert.equal(error.message, message);
  return error;
}

function respondOf(action: ResolvedAction) {
  assert.equal(action.kind, "respond");
  return action as Extract<ResolvedAction, { kind: "respond" }>;
}

function example(name: string): string {
  return readFileSync(new URL(`../../examples/${name}`, import.meta.url), "utf8");
}

const BRIEF_EXAMPLE = `{ "rules": [
  { "name": "busy line", "match": { "method": "INVITE", "user": "busy" }, "respond": { "status": 486 } },
  { "match": { "method": ["INVITE", "MESSAGE"], "user": "slow*", "host": "*.example.com",
               "headers": { "User-Agent": "^Zoiper" }, "body": "m=video", "source": "192.0.2.0/24",
               "transport": ["udp", "tcp"] },
    "provisional": [ { "status": 180, "after": 0 }, { "status": 183, "after": 500, "body": "sdp" } ],
    "respond": { "status": 200, "reason": "OK", "after": 3000, "headers": { "X-Call": "{{call_id}}" }, "body": "sdp" } },
  { "match": { "method": "OPTIONS" }, "choose": [
      { "weight": 5, "respond": { "status": 503, "headers": { "Retry-After": "5" } } },
      { "weight": 95, "default": true } ] },
  { "match": { "user": "blackhole" }, "silent": true },
  { "match": { "user": "dup" }, "respond": { "status": 200, "body": { "type": "text/plain", "text": "hi {{from_user}}" } }, "duplicate": 2, "retransmit": false }
] }`;

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

test("parseRules() loads the documented example with every feature", () => {
  const rules = parseRules(BRIEF_EXAMPLE, "rules.json");
  assert.equal(rules.length, 5);
  assert.deepEqual(rules.map((r) => r.name), ["busy line", "rules[1]", "rules[2]", "rules[3]", "rules[4]"]);
  assert.deepEqual(rules.map((r) => r.action.kind), ["respond", "respond", "choose", "silent", "respond"]);
  assert.deepEqual(rules.map((r) => r.index), [0, 1, 2, 3, 4]);
  assert.equal(rules[1].file, "rules.json");

  const slow = rules[1].action;
  assert.ok(slow.kind === "respond");
  assert.equal(slow.response.status, 200);
  assert.equal(slow.response.reason, "OK");
  assert.equal(slow.response.after, 3000);
  assert.deepEqual(slow.response.body, { kind: "sdp" });
  assert.equal(slow.response.headers[0][0], "X-Call");
  assert.deepEqual(slow.response.headers[0][1].parts, [{ variable: "call_id" }]);
  assert.deepEqual(slow.modifiers.provisional?.map((p) => [p.status, p.after, p.body]), [
    [180, 0, undefined],
    [183, 500, { kind: "sdp" }],
  ]);

  const dup = rules[4].action;
  assert.ok(dup.kind === "respond");
  assert.deepEqual(dup.modifiers, { duplicate: 2, retransmit: false });
  assert.ok(dup.response.body?.kind === "text");
  assert.equal(dup.response.body.type, "text/plain");
  assert.equal(renderTemplate(dup.response.body.text, { from_user: "bob" }), "hi bob");
});

test("parseRules() accepts a top-level array and names paths from it", () => {
  const rules = parseRules(`[ { "silent": true }, { "default": true } ]`);
  assert.deepEqual(rules.map((r) => [r.name, r.path, r.file]), [["[0]", "[0]", "rules"], ["[1]", "[1]", "rules"]]);
  refuses(
    [{ silent: true }, { respond: { status: 99 } }],
    "rules.json: [1].respond.status: must be an integer 100..699, got 99",
  );
});

test("parseRules() accepts an empty rule list, a byte order mark and comments", () => {
  assert.deepEqual(parseRules(`{ "rules": [] }`), []);
  assert.equal(parseRules(`\uFEFF[{ "silent": true }]`).length, 1);
  const rules = loadRules({
    comment: "top",
    rules: [{ comment: "a rule", choose: [{ weight: 1, comment: "x", silent: true }] }],
  });
  assert.equal(rules.length, 1);
});

test("loadRules() returns frozen rules", () => {
  const [rule] = loadRules([{ match: { user: "a" }, respond: { status: 200, headers: { A: "1" } } }]);
  assert.ok(Object.isFrozen(rule));
  assert.ok(Object.isFrozen(rule.match));
  assert.ok(Object.isFrozen(rule.match.user));
  assert.ok(rule.action.kind === "respond");
  assert.ok(Object.isFrozen(rule.action.response.headers[0]));
  assert.throws(() => {
    (rule as { name: string }).name = "changed";
  }, TypeError);
});

test("loadRules() ignores inherited properties and treats undefined as absent", () => {
  const proto = { respond: { status: 200 } };
  const raw = Object.create(proto) as Record<string, unknown>;
  raw.silent = true;
  assert.equal(loadRules([raw])[0].action.kind, "silent");
  assert.equal(loadRules([{ silent: true, respond: undefined }])[0].action.kind, "silent");
});

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

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

test("cidrContains() handles prefix edges, families and mapped addresses", () => {
  assert.ok(cidrContains("0.0.0.0/0", "255.255.255.255"));
  assert.ok(!cidrContains("0.0.0.0/0", "::1"), "an IPv4 block holds no IPv6 address");
  assert.ok(cidrContains("::/0", "2001:db8::1"));
  assert.ok(!cidrContains("::/0", "192.0.2.1"), "an IPv6 block holds no IPv4 address");
  assert.ok(cidrContains("10.0.0.0/8", "10.255.255.255"));
  assert.ok(!cidrContains("10.0.0.0/8", "11.0.0.0"));
  assert.ok(cidrContains("192.0.2.128/25", "192.0.2.128"));
  assert.ok(!cidrContains("192.0.2.128/25", "192.0.2.127"));
  assert.ok(cidrContains("192.0.2.64/26", "192.0.2.127"));
  assert.ok(!cidrContains("192.0.2.64/26", "192.0.2.128"));
  assert.ok(cidrContains("2001:db8::/127", "2001:db8::1"));
  assert.ok(!cidrContains("2001:db8::/127", "2001:db8::2"));
  assert.ok(cidrContains("fe80::/10", "febf::1"));
  assert.ok(!cidrContains("fe80::/10", "fec0::1"));
  assert.ok(cidrContains("::1", "0:0:0:0:0:0:0:1"));
  assert.ok(cidrContains("::ffff:192.0.2.0/120", "192.0.2.9"), "an IPv4-mapped block holds IPv4 addresses");
  assert.ok(cidrContains("::ffff:192.0.2.0/120", "::ffff:192.0.2.9"));
  assert.ok(cidrContains("::ffff:0:0/96", "198.51.100.1"));
  assert.ok(cidrContains("2001:db8::1.2.3.4", "2001:db8::102:304"), "embedded IPv4 notation");
  assert.ok(cidrContains(parseCidr("192.0.2.0/24"), "192.0.2.1"));
});

test("parseCidr() normalises blocks and refuses malformed ones", () => {
  assert.deepEqual(parseCidr("192.0.2.77/24"), { family: 4, bytes: [192, 0, 2, 0], prefix: 24 });
  assert.deepEqual(parseCidr("10.1.2.3"), { family: 4, bytes: [10, 1, 2, 3], prefix: 32 });
  assert.deepEqual(parseCidr("2001:db8:1:2:3:4:5:6/33"), {
    family: 6,
    bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    prefix: 33,
  });
  assert.deepEqual(parseCidr("2001:db8:8000::/33").bytes.slice(0, 5), [0x20, 0x01, 0x0d, 0xb8, 0x80]);
  assert.deepEqual(parseCidr("::ffff:10.1.2.3/104"), { family: 4, bytes: [10, 0, 0, 0], prefix: 8 });
  assert.equal(parseCidr("::ffff:0:0/95").family, 6, "a block wider than the mapped range stays IPv6");
  assert.deepEqual(parseCidr("::").bytes, new Array(16).fill(0));
  assert.deepEqual(parseCidr("1::").bytes, [0, 1, ...new Array(14).fill(0)]);

  const bad: [text: string, problem: string][] = [
    ["", "not an IPv4 address"],
    ["192.0.2", "not an IPv4 address"],
    ["192.0.2.1.1", "not an IPv4 address"],
    ["192.0.2.256", "not an IPv4 address"],
    ["192.0.2.01", "not an IPv4 address"],
    ["192.0.2.-1", "not an IPv4 address"],
    [" 192.0.2.1", "not an IPv4 address"],
    ["192.0.2.0/33", "prefix length must be an integer 0..32"],
    ["192.0.2.0/", "prefix length must be an integer 0..32"],
    ["192.0.2.0/-1", "prefix length must be an integer 0..32"],
    ["192.0.2.0/8/8", "prefix length must be an integer 0..32"],
    ["2001:db8::/129", "prefix length must be an integer 0..128"],
    ["1::2::3", "not an IPv6 address"],
    [":::", "not an IPv6 address"],
    ["1:2:3:4:5:6:7:8:9", "not an IPv6 address"],
    ["1:2:3:4:5:6:7", "not an IPv6 address"],
    ["1:2:3:4:5:6:7::8", "not an IPv6 address"],
    ["12345::", "not an IPv6 address"],
    ["g::", "not an IPv6 address"],
    [":1:2:3:4:5:6:7", "not an IPv6 address"],
    ["1.2.3.4::", "not an IPv6 address"],
    ["::1.2.3", "not an IPv6 address"],
    ["fe80::1%eth0", "not an IPv6 address"],
  ];
  for (const [text, problem] of bad) {
    assert.throws(() => parseCidr(text), {
      name: "SyntaxError",
      message: `Cannot parse CIDR ${JSON.stringify(text)}: ${problem}`,
    }, text);
  }
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

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

test("resolveAction() gives respond with its defaults filled in", () => {
  const [rule] = loadRules([{ respond: { status: 404 } }]);
  assert.deepEqual(resolveAction(rule.action, Math.random), {
    kind: "respond",
    response: { status: 404, after: 0, headers: [] },
    provisional: [],
    retransmit: true,
    duplicate: 1,
  });
});

test("resolveAction() gives silent and default", () => {
  const [silent, fallback] = loadRules([{ silent: true }, { default: true, duplicate: 4, retransmit: false }]);
  assert.deepEqual(resolveAction(silent.action, Math.random), { kind: "silent" });
  assert.deepEqual(resolveAction(fallback.action, Math.random), {
    kind: "default",
    provisional: [],
    retransmit: false,
    duplicate: 4,
  });
});

test("resolveAction() keeps a 1xx respond as provisional-only", () => {
  const [rule] = loadRules([{ provisional: [{ status: 100 + 83, after: 9000 }], respond: { status: 180 } }]);
  const action = respondOf(resolveAction(rule.action, Math.random));
  assert.equal(action.response.status, 180);
  assert.deepEqual(action.provisional.map((p) => p.status), [183]);
});

test("resolveAction() picks alternatives by weight, using one draw per choose", () => {
  const [rule] = loadRules([{
    choose: [
      { weight: 1, respond: { status: 500 } },
      { weight: 2, respond: { status: 501 } },
      { weight: 1, choose: [{ weight: 1, silent: true }, { weight: 1, default: true }] },
    ],
  }]);
  const statusFor = (...draws: number[]) => {
    let calls = 0;
    const action = resolveAction(rule.action, () => draws[calls++]);
    assert.equal(calls, draws.length, "one draw per choose level");
    return action.kind === "respond" ? action.response.status : action.kind;
  };
  assert.equal(statusFor(0), 500);
  assert.equal(statusFor(0.2499), 500);
  assert.equal(statusFor(0.25), 501);
  assert.equal(statusFor(0.7499), 501);
  assert.equal(statusFor(0.75, 0.49), "silent");
  assert.equal(statusFor(0.75, 0.5), "default");
  assert.equal(statusFor(0.9999999999999999, 0.9999999999999999), "default");
});

test("resolveAction() refuses a random() outside [0, 1)", () => {
  const [rule] = loadRules([{ choose: [{ weight: 1, silent: true }] }]);
  for (const bad of [1, -0.1, NaN, 2]) {
    assert.throws(() => resolveAction(rule.action, () => bad), RangeError);
  }
  const [plain] = loadRules([{ silent: true }]);
  assert.deepEqual(resolveAction(plain.action, () => 5), { kind: "silent" }, "no draw without choose");
});

test("resolveAction() merges modifiers, the innermost winning", () => {
  const [rule] = loadRules([{
    provisional: [{ status: 180, after: 0 }],
    retransmit: false,
    duplicate: 2,
    choose: [
      { weight: 1, respond: { status: 200, after: 100 } },
      { weight: 1, respond: { status: 200 }, provisional: [], duplicate: 3 },
      {
        weight: 1,
        retransmit: true,
        provisional: [{ status: 183, after: 50 }, { status: 181, after: 10 }],
        choose: [{ weight: 1, respond: { status: 486, after: 60 }, duplicate: 1 }],
      },
      { weight: 1, silent: true },
    ],
  }]);
  const pick = (r: number) => resolveAction(rule.action, () => r);

  const first = respondOf(pick(0.1));
  assert.deepEqual(first.provisional.map((p) => p.status), [180], "inherited from the rule");
  assert.equal(first.retransmit, false);
  assert.equal(first.duplicate, 2);

  const second = respondOf(pick(0.3));
  assert.deepEqual(second.provisional, [], "[] removes inherited provisionals");
  assert.equal(second.retransmit, false);
  assert.equal(second.duplicate, 3);

  const third = respondOf(pick(0.6));
  assert.deepEqual(third.provisional.map((p) => [p.status, p.after]), [[181, 10], [183, 50]], "sorted by after");
  assert.equal(third.retransmit, true);
  assert.equal(third.duplicate, 1);
  assert.equal(third.response.status, 486);

  assert.deepEqual(pick(0.9), { kind: "silent" });
});

test("createRandom() is deterministic per seed and stays in [0, 1)", () => {
  const a = createRandom(12345);
  const b = createRandom(12345);
  const xs = Array.from({ length: 1000 }, () => a());
  const ys = Array.from({ length: 1000 }, () => b());
  assert.deepEqual(xs, ys);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(new Set(xs).size > 990, "values do not repeat in a short run");
  const other = Array.from({ length: 10 }, createRandom(12346));
  assert.notDeepEqual(other, xs.slice(0, 10));
  assert.deepEqual(Array.from({ length: 3 }, createRandom(2 ** 32 + 7)), Array.from({ length: 3 }, createRandom(7)));
  assert.deepEqual(Array.from({ length: 3 }, createRandom(7.9)), Array.from({ length: 3 }, createRandom(7)));
  assert.throws(() => createRandom(NaN), RangeError);
  assert.throws(() => createRandom(Infinity), RangeError);
});

test("createRandom() produces the same sequence on every runtime", () => {
  // Pinned so that a seed given on the command line replays the same faults everywhere.
  const random = createRandom(1);
  const first = Array.from({ length: 4 }, () => Math.floor(random() * 0x100000000));
  assert.deepEqual(first, [2693262067, 11749833, 2265367787, 4213581821]);
});

test("createRandom() is roughly uniform", () => {
  const random = createRandom(2024);
  const buckets = new Array(10).fill(0);
  let sum = 0;
  for (let i = 0; i < 100000; i++) {
    const x = random();
    buckets[Math.floor(x * 10)]++;
    sum += x;
  }
  for (const count of buckets) assert.ok(count > 9500 && count < 10500, `bucket count ${count}`);
  assert.ok(Math.abs(sum / 100000 - 0.5) < 0.01);
});

test("resolveAction() with a seed splits 5/95 within a reasonable band", () => {
  const [, , options] = parseRules(BRIEF_EXAMPLE);
  const count = (seed: number) => {
    const random = createRandom(seed);
    let failures = 0;
    for (let i = 0; i < 10000; i++) {
      const action = resolveAction(options.action, random);
      if (action.kind === "respond" && action.response.status === 503) failures++;
      else assert.equal(action.kind, "default");
    }
    return failures;
  };
  const failures = count(7);
  // Expected 500, standard deviation about 22: 400..600 is more than 4.5 deviations wide.
  assert.ok(failures > 400 && failures < 600, `503 chosen ${failures} times out of 10000`);
  assert.equal(count(7), failures, "the same seed gives the same choices");
  assert.notEqual(count(8), failures, "another seed gives other choices");
});

// ---------------------------------------------------------------------------------------------
// Templates and response contents
// ---------------------------------------------------------------------------------------------

test("TEMPLATE_VARIABLES lists the documented names", () => {
  assert.deepEqual([...TEMPLATE_VARIABLES].sort(), [
    "branch",
    "call_id",
    "cseq",
    "from_tag",
    "from_uri",
    "from_user",
    "method",
    "ruri",
    "ruri_host",
    "ruri_hostport",
    "ruri_user",
    "source_address",
    "source_port",
    "to_uri",
    "to_user",
    "transport",
  ]);
  assert.ok(Object.isFrozen(TEMPLATE_VARIABLES));
  const all = TEMPLATE_VARIABLES.map((name) => `{{${name}}}`).join("|");
  const vars = Object.fromEntries(TEMPLATE_VARIABLES.map((name) => [name, name.toUpperCase()]));
  assert.equal(renderTemplate(all, vars), TEMPLATE_VARIABLES.map((name) => name.toUpperCase()).join("|"));
});

test("renderTemplate() substitutes variables", () => {
  const vars = { call_id: "abc@host", from_user: "bob", cseq: "7" };
  assert.equal(renderTemplate("{{call_id}}", vars), "abc@host");
  assert.equal(renderTemplate("hi {{ from_user }}, call {{call_id}} #{{cseq}}!", vars), "hi bob, call abc@host #7!");
  assert.equal(renderTemplate("{{from_user}}{{from_user}}", vars), "bobbob");
  assert.equal(renderTemplate("no variables", vars), "no variables");
  assert.equal(renderTemplate("", vars), "");
  assert.equal(renderTemplate("a } b }} c {", vars), "a } b }} c {");
  assert.equal(renderTemplate("[{{to_user}}]", vars), "[]", "a missing value renders empty");
  assert.equal(renderTemplate("<{{from_uri}}>", { from_uri: "sip:a\r\nVia: x" }), "<sip:a Via: x>");
  assert.equal(renderTemplate("{{ruri}}", Object.create({ ruri: "inherited" })), "", "own values only");
});

test("renderTemplate() renders the compiled templates of loaded rules", () => {
  const [rule] = loadRules([{
    respond: { status: 302, headers: [["Contact", "<sip:{{to_user}}@{{ruri_hostport}}>"]] },
  }]);
  assert.ok(rule.action.kind === "respond");
  const [name, value] = rule.action.response.headers[0];
  assert.equal(name, "Contact");
  assert.deepEqual(value.source, "<sip:{{to_user}}@{{ruri_hostport}}>");
  assert.equal(renderTemplate(value, { to_user: "carol", ruri_hostport: "h:5080" }), "<sip:carol@h:5080>");
});

test("renderTemplate() refuses unknown variables and an open {{", () => {
  assert.throws(() => renderTemplate("{{callid}}", {}), {
    name: "TypeError",
    message: 'Cannot compile template: unknown template variable "{{callid}}" (did you mean "call_id"?)',
  });
  assert.throws(() => renderTemplate("a {{ b", {}), {
    name: "TypeError",
    message: 'Cannot compile template: unclosed "{{" at character 3',
  });
  assert.throws(() => renderTemplate("{{}}", {}), /unknown template variable "\{\{\}\}" \(known: call_id, from_uri,/);
  assert.throws(() => renderTemplate("{{{call_id}}}", {}), {
    message: 'Cannot compile template: unknown template variable "{{{call_id}}" (did you mean "call_id"?)',
  });
});

test("loadRules() reads response headers as an object or as repeatable pairs", () => {
  const [object, pairs] = loadRules([
    { respond: { status: 200, headers: { "X-A": "1", "X-B": "2" } } },
    { respond: { status: 200, headers: [["Warning", '399 a "x"'], ["Warning", '399 b "y"']] } },
  ]);
  const names = (rule: Rule) => {
    assert.ok(rule.action.kind === "respond");
    return rule.action.response.headers.map(([n, v]) => [n, v.source]);
  };
  assert.deepEqual(names(object), [["X-A", "1"], ["X-B", "2"]]);
  assert.deepEqual(names(pairs), [["Warning", '399 a "x"'], ["Warning", '399 b "y"']]);
});

test("loadRules() reads every form of body", () => {
  const rules = loadRules([
    { respond: { status: 200, body: "sdp" } },
    { respond: { status: 200, body: "echo" } },
    { respond: { status: 200, body: "plain {{method}}" } },
    { respond: { status: 200, body: { type: "application/json; charset=utf-8", text: '{"a": 1}' } } },
    { respond: { status: 200, body: { text: "typeless" } } },
    { respond: { status: 200, body: "" } },
  ]);
  const bodies = rules.map((r) => {
    assert.ok(r.action.kind === "respond");
    const body = r.action.response.body;
    return body?.kind === "text" ? [body.kind, body.type, body.text.source] : [body?.kind];
  });
  assert.deepEqual(bodies, [
    ["sdp"],
    ["echo"],
    ["text", "text/plain", "plain {{method}}"],
    ["text", "application/json; charset=utf-8", '{"a": 1}'],
    ["text", "text/plain", "typeless"],
    ["text", "text/plain", ""],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Load errors
// ---------------------------------------------------------------------------------------------

test("loadRules() refuses out-of-range statuses", () => {
  const rules = (status: unknown) => ({ rules: [{ silent: true }, { silent: true }, { respond: { status } }] });
  refuses(rules(99), "rules.json: rules[2].respond.status: must be an integer 100..699, got 99");
  refuses(rules(700), "rules.json: rules[2].respond.status: must be an integer 100..699, got 700");
  refuses(rules(200.5), "rules.json: rules[2].respond.status: must be an integer 100..699, got 200.5");
  refuses(rules("200"), 'rules.json: rules[2].respond.status: must be an integer 100..699, got "200"');
  refuses(rules(null), "rules.json: rules[2].respond.status: must be an integer 100..699, got null");
  refuses([{ respond: {} }], 'rules.json: [0].respond: missing key "status"');
  refuses(
    [{ provisional: [{ status: 180 }, { status: 200 }], respond: { status: 200 } }],
    "rules.json: [0].provisional[1].status: must be an integer 101..199, got 200",
  );
  refuses(
    [{ provisional: [{ status: 100 }], respond: { status: 200 } }],
    "rules.json: [0].provisional[0].status: must be an integer 101..199, got 100",
  );
});

test("loadRules() refuses unknown keys, suggesting the likely one", () => {
  refuses([{ mtach: {}, silent: true }], 'rules.json: [0]: unknown key "mtach" (did you mean "match"?)');
  refuses(
    { rules: [{ match: { metod: "INVITE" }, silent: true }] },
    'rules.json: rules[0].match: unknown key "metod" (did you mean "method"?)',
  );
  refuses(
    [{ respond: { status: 200, Reason: "x" } }],
    'rules.json: [0].respond: unknown key "Reason" (did you mean "reason"?)',
  );
  refuses(
    [{ respond: { status: 200 }, duplicates: 2 }],
    'rules.json: [0]: unknown key "duplicates" (did you mean "duplicate"?)',
  );
  refuses(
    [{ choose: [{ weight: 1, silent: true, wieght: 2 }] }],
    'rules.json: [0].choose[0]: unknown key "wieght" (did you mean "weight"?)',
  );
  refuses(
    [{ match: { zzz: 1 }, silent: true }],
    'rules.json: [0].match: unknown key "zzz" (expected one of: method, user, host, headers, body, source, transport)',
  );
  refuses(
    { rulez: [] },
    'rules.json: unknown key "rulez" (did you mean "rules"?)',
  );
  refuses(
    [{ respond: { status: 200, body: { type: "text/plain", txt: "a" } } }],
    'rules.json: [0].respond.body: unknown key "txt" (did you mean "text"?)',
  );
  refuses(
    [{ name: "x", choose: [{ weight: 1, name: "y", silent: true }] }],
    'rules.json: [0].choose[0]: unknown key "name" (expected one of: weight, comment, respond, silent, default, ' +
      "choose, provisional, retransmit, duplicate)",
  );
});

test("loadRules() wants exactly one action", () => {
  refuses(
    { rules: [{ respond: { status: 200 }, silent: true }] },
    'rules.json: rules[0]: has "respond" and "silent"; give exactly one action',
  );
  refuses(
    [{ default: true, choose: [], silent: true }],
    'rules.json: [0]: has "silent" and "default" and "choose"; give exactly one action',
  );
  refuses(
    [{ match: { user: "x" } }],
    'rules.json: [0]: needs an action: one of "respond", "silent", "default" or "choose"',
  );
  refuses(
    [{ choose: [{ weight: 1 }] }],
    'rules.json: [0].choose[0]: needs an action: one of "respond", "silent", "default" or "choose"',
  );
  refuses([{ silent: false }], "rules.json: [0].silent: must be true, got false");
  refuses([{ default: "yes" }], 'rules.json: [0].default: must be true, got "yes"');
  refuses([{ respond: 404 }], "rules.json: [0].respond: must be an object, got 404");
  refuses(
    [{ silent: true, duplicate: 2 }],
    'rules.json: [0].duplicate: has no effect with "silent" (nothing is sent)',
  );
});

test("loadRules() refuses bad choose lists and weights", () => {
  refuses([{ choose: [] }], "rules.json: [0].choose: must be a non-empty array of alternatives, got an empty array");
  refuses([{ choose: {} }], "rules.json: [0].choose: must be a non-empty array of alternatives, got an object");
  refuses([{ choose: [{ silent: true }] }], 'rules.json: [0].choose[0]: missing key "weight"');
  refuses(
    [{ choose: [{ weight: 0, silent: true }] }],
    "rules.json: [0].choose[0].weight: must be a positive number, got 0",
  );
  refuses(
    [{ choose: [{ weight: -1, silent: true }] }],
    "rules.json: [0].choose[0].weight: must be a positive number, got -1",
  );
  refuses(
    [{ choose: [{ weight: "5", silent: true }] }],
    'rules.json: [0].choose[0].weight: must be a positive number, got "5"',
  );
  refuses([{ choose: ["x"] }], 'rules.json: [0].choose[0]: must be an object, got "x"');
  refuses(
    [{ choose: [{ weight: 1, choose: [{ weight: 1, respond: { status: 1 } }] }] }],
    "rules.json: [0].choose[0].choose[0].respond.status: must be an integer 100..699, got 1",
  );
});

test("loadRules() refuses choose nested too deep, and cycles", () => {
  let nested: Record<string, unknown> = { weight: 1, silent: true };
  for (let i = 0; i < 40; i++) nested = { weight: 1, choose: [nested] };
  assert.throws(
    () => loadRules([{ choose: [nested] }]),
    /^RulesError: rules: \[0\](\.choose\[0\]){32}\.choose: nested deeper than 32 levels$/,
  );
  const cycle: Record<string, unknown> = { weight: 1 };
  cycle.choose = [cycle];
  assert.throws(() => loadRules([{ choose: [cycle] }]), /: nested deeper than 32 levels$/);
  let ok: Record<string, unknown> = { weight: 1, silent: true };
  for (let i = 0; i < 31; i++) ok = { weight: 1, choose: [ok] };
  assert.equal(resolveAction(loadRules([{ choose: [ok] }])[0].action, () => 0).kind, "silent", "32 levels are fine");
});

test("loadRules() refuses bad regular expressions", () => {
  const cases: [match: Record<string, unknown>, path: string, pattern: string][] = [
    [{ headers: { "User-Agent": "(" } }, '[0].match.headers["User-Agent"]', "("],
    [{ headers: { Subject: "[a-" } }, "[0].match.headers.Subject", "[a-"],
    [{ body: "a{2,1}" }, "[0].match.body", "a{2,1}"],
  ];
  for (const [match, path, pattern] of cases) {
    assert.throws(() => loadRules([{ match, silent: true }], "rules.json"), (e: unknown) => {
      assert.ok(e instanceof RulesError);
      // The detail after the pattern is the engine's own wording, which differs between V8 and JavaScriptCore.
      const prefix = `rules.json: ${path}: not a valid regular expression ${JSON.stringify(pattern)}: `;
      assert.ok(e.message.startsWith(prefix), e.message);
      assert.equal(e.path, path);
      assert.ok(!/Invalid regular expression/i.test(e.message), "the engine's prefix is dropped");
      assert.ok(!e.message.slice(prefix.length).includes(pattern), "the pattern is not repeated");
      assert.ok(e.message.length > prefix.length + 3, "some detail is given");
      return true;
    });
  }
  refuses(
    [{ match: { body: 1 }, silent: true }],
    "rules.json: [0].match.body: must be a regular expression in a string, got 1",
  );
  refuses(
    [{ match: { headers: { "User-Agent": ["a"] } }, silent: true }],
    'rules.json: [0].match.headers["User-Agent"]: must be a regular expression in a string, got an array',
  );
  refuses(
    [{ match: { headers: ["User-Agent"] }, silent: true }],
    "rules.json: [0].match.headers: must be an object of header name to pattern, got an array",
  );
  refuses(
    [{ match: { headers: { "User Agent": "x" } }, silent: true }],
    'rules.json: [0].match.headers["User Agent"]: header name must be a token (RFC 3261 §25.1)',
  );
});

test("loadRules() refuses bad CIDR blocks", () => {
  refuses(
    [{ match: { source: "192.0.2.0/33" }, silent: true }],
    'rules.json: [0].match.source: not a valid CIDR "192.0.2.0/33": prefix length must be an integer 0..32',
  );
  refuses(
    [{ match: { source: ["10.0.0.0/8", "300.1.1.1"] }, silent: true }],
    'rules.json: [0].match.source[1]: not a valid CIDR "300.1.1.1": not an IPv4 address',
  );
  refuses(
    [{ match: { source: "2001:db8:::/48" }, silent: true }],
    'rules.json: [0].match.source: not a valid CIDR "2001:db8:::/48": not an IPv6 address',
  );
  refuses(
    [{ match: { source: "example.com" }, silent: true }],
    'rules.json: [0].match.source: not a valid CIDR "example.com": not an IPv4 address',
  );
});

test("loadRules() refuses unknown template variables with their path", () => {
  refuses(
    { rules: [{ respond: { status: 200, headers: { "X-Call": "{{callid}}" } } }] },
    'rules.json: rules[0].respond.headers["X-Call"]: unknown template variable "{{callid}}" (did you mean "call_id"?)',
  );
  refuses(
    [{ respond: { status: 200, body: "hello {{name}}" } }],
    'rules.json: [0].respond.body: unknown template variable "{{name}}" (known: ' +
      TEMPLATE_VARIABLES.join(", ") + ")",
  );
  refuses(
    [{ respond: { status: 200, body: { type: "text/plain", text: "{{from_user}" } } }],
    'rules.json: [0].respond.body.text: unclosed "{{" at character 1',
  );
  refuses(
    [{ respond: { status: 200, headers: [["X-A", "ok"], ["X-B", "{{ to_usr }}"]] } }],
    'rules.json: [0].respond.headers[1][1]: unknown template variable "{{to_usr}}" (did you mean "to_user"?)',
  );
});

test("loadRules() refuses negative, huge and non-numeric delays", () => {
  refuses(
    [{ respond: { status: 200, after: -1 } }],
    "rules.json: [0].respond.after: must be a number of milliseconds >= 0, got -1",
  );
  refuses(
    [{ respond: { status: 200, after: "3s" } }],
    'rules.json: [0].respond.after: must be a number of milliseconds >= 0, got "3s"',
  );
  refuses(
    [{ provisional: [{ status: 180, after: -5 }], respond: { status: 200 } }],
    "rules.json: [0].provisional[0].after: must be a number of milliseconds >= 0, got -5",
  );
  refuses(
    [{ respond: { status: 200, after: 2 ** 31 } }],
    "rules.json: [0].respond.after: must be at most 2147483647 ms (about 24.8 days), got 2147483648",
  );
  assert.equal(loadRules([{ respond: { status: 200, after: 2 ** 31 - 1 } }]).length, 1);
});

test("loadRules() refuses a provisional scheduled after the final response", () => {
  refuses(
    [{ provisional: [{ status: 180, after: 0 }, { status: 183, after: 4000 }], respond: { status: 200, after: 3000 } }],
    "rules.json: [0].provisional[1].after: 4000 ms is later than the final response ([0].respond.after: 3000 ms), " +
      "so it would never be sent",
  );
  refuses(
    [{
      provisional: [{ status: 180, after: 500 }],
      choose: [{ weight: 1, respond: { status: 200, after: 1000 } }, { weight: 1, respond: { status: 486 } }],
    }],
    "rules.json: [0].provisional[0].after: 500 ms is later than the final response ([0].choose[1].respond.after: 0 ms), " +
      "so it would never be sent",
  );
  // The same time is fine, and so is any time when there is no final response.
  assert.equal(
    loadRules([{ provisional: [{ status: 180, after: 100 }], respond: { status: 200, after: 100 } }]).length,
    1,
  );
  assert.equal(loadRules([{ provisional: [{ status: 180, after: 9000 }], respond: { status: 183 } }]).length, 1);
  assert.equal(
    loadRules([{
      provisional: [{ status: 180, after: 500 }],
      choose: [{ weight: 1, respond: { status: 486 }, provisional: [] }],
    }]).length,
    1,
  );
});

test("loadRules() refuses bad modifiers", () => {
  refuses([{ respond: { status: 200 }, duplicate: 0 }], "rules.json: [0].duplicate: must be an integer 1..10, got 0");
  refuses([{ respond: { status: 200 }, duplicate: 11 }], "rules.json: [0].duplicate: must be an integer 1..10, got 11");
  refuses(
    [{ respond: { status: 200 }, duplicate: 1.5 }],
    "rules.json: [0].duplicate: must be an integer 1..10, got 1.5",
  );
  refuses(
    [{ respond: { status: 200 }, retransmit: "no" }],
    'rules.json: [0].retransmit: must be true or false, got "no"',
  );
  refuses(
    [{ respond: { status: 200 }, provisional: { status: 180 } }],
    "rules.json: [0].provisional: must be an array, got an object",
  );
  refuses(
    [{ respond: { status: 200 }, provisional: [{ status: 180, extra: 1 }] }],
    'rules.json: [0].provisional[0]: unknown key "extra" (expected one of: status, reason, after, headers, body)',
  );
});

test("loadRules() refuses bad match values", () => {
  refuses(
    [{ match: { method: "IN VITE" }, silent: true }],
    'rules.json: [0].match.method: must be a SIP method token (RFC 3261 §25.1), got "IN VITE"',
  );
  refuses([{ match: { method: [] }, silent: true }], "rules.json: [0].match.method: must not be an empty array");
  refuses(
    [{ match: { method: ["INVITE", 5] }, silent: true }],
    "rules.json: [0].match.method[1]: must be a string, got 5",
  );
  refuses(
    [{ match: { user: 5 }, silent: true }],
    "rules.json: [0].match.user: must be a string or an array of strings, got 5",
  );
  refuses(
    [{ match: { host: null }, silent: true }],
    "rules.json: [0].match.host: must be a string or an array of strings, got null",
  );
  refuses(
    [{ match: { transport: "sctp" }, silent: true }],
    'rules.json: [0].match.transport: must be one of udp, tcp, tls, ws, wss, got "sctp"',
  );
  refuses(
    [{ match: { transport: ["udp", "quic"] }, silent: true }],
    'rules.json: [0].match.transport[1]: must be one of udp, tcp, tls, ws, wss, got "quic"',
  );
  refuses([{ match: "INVITE", silent: true }], 'rules.json: [0].match: must be an object, got "INVITE"');
});

test("loadRules() refuses bad response headers, reasons and bodies", () => {
  refuses(
    [{ respond: { status: 200, headers: { "Bad Name": "x" } } }],
    'rules.json: [0].respond.headers["Bad Name"]: header name must be a token (RFC 3261 §25.1), got "Bad Name"',
  );
  refuses(
    [{ respond: { status: 200, headers: { "X-A": "a\r\nVia: evil" } } }],
    'rules.json: [0].respond.headers["X-A"]: must be a string without line breaks, got "a\\r\\nVia: evil"',
  );
  refuses(
    [{ respond: { status: 200, headers: { "X-A": 5 } } }],
    'rules.json: [0].respond.headers["X-A"]: must be a string without line breaks, got 5',
  );
  refuses(
    [{ respond: { status: 200, headers: [["X-A"]] } }],
    "rules.json: [0].respond.headers[0]: must be a [name, value] pair, got an array",
  );
  refuses(
    [{ respond: { status: 200, headers: "X-A: 1" } }],
    'rules.json: [0].respond.headers: must be an object or an array of [name, value] pairs, got "X-A: 1"',
  );
  refuses(
    [{ respond: { status: 200, headers: { "Call-ID": "x" } } }],
    'rules.json: [0].respond.headers["Call-ID"]: "Call-ID" is copied from the request by the responder (RFC 3261 §8.2.6.2)',
  );
  refuses(
    [{ respond: { status: 200, headers: [["l", "5"]] } }],
    'rules.json: [0].respond.headers[0][0]: "l" is computed from the body by the responder',
  );
  refuses(
    [{ respond: { status: 200, headers: { "content-type": "text/html" } } }],
    'rules.json: [0].respond.headers["content-type"]: "content-type" follows the body; use "body": { "type": ..., "text": ... }',
  );
  refuses(
    [{ respond: { status: 200, reason: "OK\r\nX: y" } }],
    'rules.json: [0].respond.reason: must be a string without line breaks, got "OK\\r\\nX: y"',
  );
  refuses(
    [{ respond: { status: 200, body: { type: "plain", text: "x" } } }],
    'rules.json: [0].respond.body.type: must be a media type such as "text/plain", got "plain"',
  );
  refuses(
    [{ respond: { status: 200, body: { type: "text/plain" } } }],
    'rules.json: [0].respond.body: missing key "text"',
  );
  refuses(
    [{ respond: { status: 200, body: 42 } }],
    'rules.json: [0].respond.body: must be "sdp", "echo", a string or { "type", "text" }, got 42',
  );
});

test("loadRules() refuses a malformed top level and rule", () => {
  refuses("rules", 'rules.json: must be an array of rules or an object with a "rules" array, got "rules"');
  refuses(null, 'rules.json: must be an array of rules or an object with a "rules" array, got null');
  refuses({}, 'rules.json: missing key "rules"');
  refuses({ rules: {} }, "rules.json: rules: must be an array of rules, got an object");
  refuses({ rules: [5] }, "rules.json: rules[0]: must be an object, got 5");
  refuses({ rules: [{ name: "", silent: true }] }, 'rules.json: rules[0].name: must be a non-empty string, got ""');
  refuses({ rules: [{ comment: 1, silent: true }] }, "rules.json: rules[0].comment: must be a string, got 1");
  assert.throws(() => loadRules(5), {
    name: "RulesError",
    message: 'rules: must be an array of rules or an object with a "rules" array, got 5',
  });
});

test("RulesError carries file, path and problem and is a TypeError", () => {
  try {
    loadRules({ rules: [{ silent: true }, { respond: { status: 99 } }] }, "conf/rules.json");
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof RulesError);
    assert.ok(e instanceof TypeError);
    assert.equal(e.name, "RulesError");
    assert.equal(e.file, "conf/rules.json");
    assert.equal(e.path, "rules[1].respond.status");
    assert.equal(e.problem, "must be an integer 100..699, got 99");
    assert.equal(e.message, "conf/rules.json: rules[1].respond.status: must be an integer 100..699, got 99");
  }
});

// ---------------------------------------------------------------------------------------------
// JSON syntax errors
// ---------------------------------------------------------------------------------------------

test("parseRules() reports JSON syntax errors with line and column", () => {
  const error = refusesSyntax(
    '{ "rules": [\n  { "match": { "user": "busy" },\n    "respond": { "status": 486, } }\n] }',
    "rules.json:3:31: trailing commas are not allowed in JSON",
  );
  assert.ok(error instanceof SyntaxError);
  assert.equal(error.name, "RulesSyntaxError");
  assert.deepEqual([error.file, error.line, error.column, error.offset], ["rules.json", 3, 31, 76]);
  assert.equal(error.problem, "trailing commas are not allowed in JSON");

  refusesSyntax('{ "rules": [\n  { "silent": tru }\n] }', 'rules.json:2:15: unexpected token "tru" (expected a value)');
  refusesSyntax(
    '[\n  { "silent": true }\n  { "silent": true }\n]',
    'rules.json:3:3: unexpected token "{" (expected "," or "]" after the array element)',
  );
  refusesSyntax(
    '[{ "silent" true }]',
    'rules.json:1:13: unexpected token "true" (expected ":" after the property name)',
  );
  refusesSyntax(
    "[{ silent: true }]",
    'rules.json:1:4: unexpected token "silent" (expected a property name in double quotes)',
  );
  refusesSyntax("[{ 'silent': true }]", "rules.json:1:4: strings must be in double quotes in JSON");
  refusesSyntax('[\n  // the rules\n  { "silent": true }\n]', "rules.json:2:3: comments are not allowed in JSON");
  refusesSyntax('[{ "silent": true }] /* end */', "rules.json:1:22: comments are not allowed in JSON");
  refusesSyntax('[{ "silent": true }]]', 'rules.json:1:21: unexpected token "]" after the end of the JSON value');
  refusesSyntax(
    '[{ "silent": true }',
    'rules.json:1:20: unexpected end of input (expected "," or "]" after the array element)',
  );
  refusesSyntax("", "rules.json:1:1: unexpected end of input (expected a value)");
  refusesSyntax("  \n ", "rules.json:2:2: unexpected end of input (expected a value)");
  refusesSyntax('[{ "name": "abc }]', "rules.json:1:12: unterminated string");
  refusesSyntax('[{ "name": "a\nb" }]', "rules.json:1:12: unterminated string");
  refusesSyntax('[{ "name": "a\tb" }]', "rules.json:1:14: control character U+0009 in string (write it as an escape)");
  refusesSyntax('[{ "name": "a\\xb" }]', 'rules.json:1:14: invalid escape "\\\\x" in string');
  refusesSyntax('[{ "name": "\\u12G4" }]', "rules.json:1:13: invalid \\u escape in string");
  refusesSyntax('[{ "respond": { "status": 0486 } }]', 'rules.json:1:27: invalid number "0486"');
  refusesSyntax('[{ "respond": { "status": 4.86e } }]', 'rules.json:1:27: invalid number "4.86e"');
  refusesSyntax('[{ "respond": { "status": -x } }]', 'rules.json:1:27: invalid number "-x"');
  refusesSyntax('[{ "respond": { "status": +1 } }]', 'rules.json:1:27: unexpected token "+1" (expected a value)');
  refusesSyntax('[{ "a": 1, }]', "rules.json:1:10: trailing commas are not allowed in JSON");
  refusesSyntax("[1,]", "rules.json:1:3: trailing commas are not allowed in JSON");
  refusesSyntax("[,1]", 'rules.json:1:2: unexpected token "," (expected a value)');
  refusesSyntax('{"rules": NaN}', 'rules.json:1:11: unexpected token "NaN" (expected a value)');
  refusesSyntax('{"rules": nulll}', 'rules.json:1:11: unexpected token "nulll" (expected a value)');
  refusesSyntax("[\u00e9]", 'rules.json:1:2: unexpected token "\u00e9" (expected a value)');
});

test("parseRules() counts lines across CRLF, lone CR and a byte order mark", () => {
  refusesSyntax("[\r\n\r\n  x]", 'rules.json:3:3: unexpected token "x" (expected a value)');
  refusesSyntax("[\r\r  x]", 'rules.json:3:3: unexpected token "x" (expected a value)');
  refusesSyntax("\uFEFF[ x]", 'rules.json:1:3: unexpected token "x" (expected a value)');
});

test("parseRules() refuses a key repeated within one object", () => {
  refusesSyntax(
    '[\n  { "respond": { "status": 200 },\n    "respond": { "status": 486 } }\n]',
    'rules.json:3:5: duplicate key "respond"',
  );
  refusesSyntax('[{ "match": { "user": "a", "user": "b" }, "silent": true }]', 'rules.json:1:28: duplicate key "user"');
  refusesSyntax('[{ "silent": true, "sil\\u0065nt": true }]', 'rules.json:1:20: duplicate key "silent"');
  // The same key in different objects is fine.
  assert.equal(parseRules('[{ "silent": true }, { "silent": true }]').length, 2);
});

test("parseRules() refuses absurd nesting without overflowing the stack", () => {
  const deep = "[".repeat(100000);
  const error = refusesSyntax(deep, "rules.json:1:257: nested deeper than 256 levels");
  assert.equal(error.offset, 256);
});

test("parseRules() agrees with JSON.parse on which texts are JSON", () => {
  const base = example("busy-and-fault-injection.json");
  const random = createRandom(99);
  const alphabet = "{}[],:\"\\ \n\t0123456789-.eEtrufalsn/'x";
  let invalid = 0;
  for (let i = 0; i < 3000; i++) {
    const at = Math.floor(random() * base.length);
    const op = Math.floor(random() * 3);
    const ch = alphabet[Math.floor(random() * alphabet.length)];
    const text = op === 0
      ? base.slice(0, at) + base.slice(at + 1)
      : op === 1
      ? base.slice(0, at) + ch + base.slice(at)
      : base.slice(0, at) + ch + base.slice(at + 1);
    let engineAccepts = true;
    try {
      JSON.parse(text);
    } catch {
      engineAccepts = false;
    }
    try {
      parseRules(text, "fuzz.json");
    } catch (e) {
      if (e instanceof RulesSyntaxError) {
        if (engineAccepts) {
          assert.match(e.message, /duplicate key/, `JSON.parse accepts what parseRules calls ${e.message}:\n${text}`);
        } else {
          assert.ok(e.line !== undefined, `no position for ${e.message}`);
          assert.ok(!e.problem.startsWith("invalid JSON"), `the scanner missed an error: ${e.message}\n${text}`);
          invalid++;
        }
        continue;
      }
      assert.ok(e instanceof RulesError, String(e));
    }
    assert.ok(engineAccepts, `parseRules accepted what JSON.parse refuses:\n${text}`);
  }
  assert.ok(invalid > 500, `only ${invalid} of 3000 mutations were invalid JSON`);
});

// ---------------------------------------------------------------------------------------------
// Built-in rules and examples
// ---------------------------------------------------------------------------------------------

test("DEFAULT_RULES answers INVITE by Request-URI user", () => {
  const answer = (user: string) => {
    const rule = findRule(DEFAULT_RULES, input({ uriUser: user }));
    assert.ok(rule, `no built-in rule for ${user}`);
    assert.equal(rule.name, user);
    return respondOf(resolveAction(rule.action, Math.random));
  };
  assert.equal(answer("busy").response.status, 486);
  assert.equal(answer("decline").response.status, 603);
  assert.equal(answer("notfound").response.status, 404);

  const unavailable = answer("unavailable");
  assert.equal(unavailable.response.status, 503);
  assert.deepEqual(unavailable.response.headers.map(([n, v]) => [n, renderTemplate(v, {})]), [["Retry-After", "30"]]);

  const slow = answer("slow");
  assert.deepEqual(slow.provisional.map((p) => [p.status, p.after]), [[180, 0]]);
  assert.deepEqual([slow.response.status, slow.response.after, slow.response.body], [200, 3000, { kind: "sdp" }]);

  const noanswer = answer("noanswer");
  assert.equal(noanswer.response.status, 180, "a 1xx respond: no final response");
  assert.deepEqual(noanswer.provisional, []);

  const redirect = answer("redirect");
  assert.equal(redirect.response.status, 302);
  const [name, value] = redirect.response.headers[0];
  assert.equal(name, "Contact");
  assert.equal(renderTemplate(value, { ruri_hostport: "example.com:5080" }), "<sip:echo@example.com:5080>");
});

test("DEFAULT_RULES leave other methods and users to the built-in behaviour", () => {
  for (const method of ["OPTIONS", "MESSAGE", "BYE", "REGISTER", "invite"]) {
    assert.equal(findRule(DEFAULT_RULES, input({ method, uriUser: "busy" })), undefined, method);
  }
  for (const user of ["alice", "Busy", "busy2", "slowly", ""]) {
    assert.equal(findRule(DEFAULT_RULES, input({ uriUser: user })), undefined, user);
  }
  assert.equal(findRule(DEFAULT_RULES, input({ uriUser: undefined })), undefined);
  assert.ok(Object.isFrozen(DEFAULT_RULES));
});

test("DEFAULT_RULE_DESCRIPTIONS describes each built-in rule", () => {
  assert.deepEqual(Object.keys(DEFAULT_RULE_DESCRIPTIONS).sort(), DEFAULT_RULES.map((r) => r.name).sort());
  for (const rule of DEFAULT_RULES) {
    const action = resolveAction(rule.action, Math.random);
    const status = action.kind === "respond" ? action.response.status : -1;
    const first = action.kind === "respond" && action.provisional.length > 0 ? action.provisional[0].status : status;
    assert.ok(DEFAULT_RULE_DESCRIPTIONS[rule.name].startsWith(String(first)), rule.name);
    assert.ok(DEFAULT_RULE_DESCRIPTIONS[rule.name].includes(String(status)), rule.name);
  }
});

test("examples/busy-and-fault-injection.json loads and injects faults", () => {
  const rules = parseRules(example("busy-and-fault-injection.json"), "busy-and-fault-injection.json");
  assert.deepEqual(rules.map((r) => r.name), ["busy line", "flaky OPTIONS", "flaky calls", "old phones"]);
  assert.equal(findRule(rules, input({ uriUser: "busy-7" }))?.name, "busy line");
  assert.equal(findRule(rules, input({ headers: { "User-Agent": ["OldPhone/1.2"] } }))?.name, "old phones");
  assert.equal(findRule(rules, input({ headers: { "User-Agent": ["OldPhone/10"] } })), undefined);

  const flaky = findRule(rules, input({ uriUser: "flaky1" }));
  assert.ok(flaky);
  const random = createRandom(3);
  const seen = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const a = resolveAction(flaky.action, random);
    const key = a.kind === "respond" ? `${a.response.status}/${a.duplicate}/${a.retransmit}` : a.kind;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ["200/1/false", "200/3/true", "500/1/true", "default", "silent"]);
  assert.ok(seen.get("default")! > 1250 && seen.get("default")! < 1550, `default ${seen.get("default")}`);
});

test("examples/slow-answer.json loads and answers late", () => {
  const rules = parseRules(example("slow-answer.json"), "slow-answer.json");
  const rule = findRule(rules, input({ uriUser: "slowest" }));
  assert.equal(rule?.name, "slow answer with early media");
  const action = respondOf(resolveAction(rule.action, Math.random));
  assert.deepEqual(action.provisional.map((p) => [p.status, p.after, p.body?.kind]), [[180, 0, undefined], [
    183,
    1000,
    "sdp",
  ]]);
  assert.equal(action.response.after, 5000);
  const lazy = findRule(rules, input({ uriUser: "lazy" }));
  assert.ok(lazy);
  assert.equal(respondOf(resolveAction(lazy.action, () => 0.9)).response.after, 20000);
  assert.deepEqual(respondOf(resolveAction(lazy.action, () => 0.9)).provisional.map((p) => p.status), [180]);
});

test("examples/silent-timeout.json loads and stays silent", () => {
  const rules = parseRules(example("silent-timeout.json"), "silent-timeout.json");
  const kind = (options: InputOptions) => {
    const rule = findRule(rules, input(options));
    return rule && resolveAction(rule.action, Math.random);
  };
  assert.deepEqual(kind({ method: "OPTIONS", uriUser: "blackhole" }), { kind: "silent" });
  assert.deepEqual(kind({ method: "REGISTER", uriUser: "x", address: "198.51.100.20" }), { kind: "silent" });
  assert.deepEqual(kind({ method: "REGISTER", uriUser: "x", address: "2001:db8:dead:1::5" }), { kind: "silent" });
  assert.equal(kind({ method: "REGISTER", uriUser: "x", address: "192.0.2.1" }), undefined);
  const forever = kind({ uriUser: "forever" });
  assert.ok(forever?.kind === "respond" && forever.response.status === 183);
  const noack = kind({ uriUser: "noack" });
  assert.ok(noack?.kind === "respond" && noack.retransmit === false && noack.response.status === 200);
});

test("every example file loads", () => {
  for (const name of ["busy-and-fault-injection.json", "slow-answer.json", "silent-timeout.json"]) {
    const rules = parseRules(example(name), name);
    assert.ok(rules.length > 0, name);
    assert.ok(rules.every((r) => r.file === name));
  }
});

// Keep the Action type in use so that its shape is checked by `deno check`.
const _exhaustive = (action: Action): string => {
  switch (action.kind) {
    case "respond":
    case "silent":
    case "default":
    case "choose":
      return action.kind;
  }
};
test("Action kinds are exactly respond, silent, default and choose", () => {
  const rules = loadRules([
    { respond: { status: 200 } },
    { silent: true },
    { default: true },
    { choose: [{ weight: 1, silent: true }] },
  ]);
  assert.deepEqual(rules.map((r) => _exhaustive(r.action)), ["respond", "silent", "default", "choose"]);
});
