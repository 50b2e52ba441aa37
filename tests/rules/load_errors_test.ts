// loadRules(): what a rules file may not say, and the message that says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveAction } from "../../src/rules/action.ts";
import { RulesError } from "../../src/rules/errors.ts";
import { loadRules } from "../../src/rules/load.ts";
import { TEMPLATE_VARIABLES } from "../../src/rules/template.ts";
import { refuses } from "./_helpers.ts";

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
      "choose, play, provisional, retransmit, duplicate, reliable, timer, auth, dtmf, refer, transfer)",
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
    'rules.json: [0]: needs an action: one of "respond", "silent", "default", "choose" or "play"',
  );
  refuses(
    [{ choose: [{ weight: 1 }] }],
    'rules.json: [0].choose[0]: needs an action: one of "respond", "silent", "default", "choose" or "play"',
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

test("loadRules() refuses a method that is not upper case, suggesting it (RFC 3261 §7.1: case-sensitive)", () => {
  refuses(
    [{ match: { method: "invite" }, respond: { status: 486 } }],
    'rules.json: [0].match.method: must be upper case: methods are case-sensitive (RFC 3261 §7.1), so "invite" matches no INVITE; ' +
      'did you mean "INVITE"? (to match a lower-case method on purpose, match the CSeq header)',
  );
  refuses(
    { rules: [{ match: { method: ["INVITE", "Bye"] }, silent: true }] },
    'rules.json: rules[0].match.method[1]: must be upper case: methods are case-sensitive (RFC 3261 §7.1), so "Bye" matches no BYE; ' +
      'did you mean "BYE"? (to match a lower-case method on purpose, match the CSeq header)',
  );
  refuses(
    [{ match: { method: "x-ping" }, silent: true }],
    'rules.json: [0].match.method: must be upper case: methods are case-sensitive (RFC 3261 §7.1), so "x-ping" matches no X-PING; ' +
      'did you mean "X-PING"? (to match a lower-case method on purpose, match the CSeq header)',
  );
  // Extension methods in upper case are tokens like any other.
  assert.equal(loadRules([{ match: { method: ["PUBLISH", "X-PING", "FOO.BAR"] }, silent: true }]).length, 1);
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
