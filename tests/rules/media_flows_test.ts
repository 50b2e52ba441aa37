import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadRules, MAX_DTMF_SEQUENCE, parseRules, resolveAction, RulesError } from "../../src/rules/rules.ts";
import { _matchDtmf, _pushDtmf } from "../../src/rules/media_flows.ts";

describe("rules: media flows", () => {
  test('"dtmf" is a modifier: keys upper case, merged from the outside in', () => {
    const [rule] = loadRules([{
      dtmf: { "#": "hangup" },
      choose: [{ weight: 1, default: true, dtmf: { a: "hangup" } }, {
        weight: 1,
        respond: { status: 200, body: "sdp" },
      }],
    }]);
    assert.deepEqual(resolveAction(rule.action, () => 0.1), {
      kind: "default",
      provisional: [],
      retransmit: true,
      duplicate: 1,
      dtmf: { A: "hangup" },
    });
    const other = resolveAction(rule.action, () => 0.9);
    assert.ok(other.kind === "respond");
    assert.deepEqual(other.dtmf, { "#": "hangup" });
  });

  test('"play" is an action answered as the built-in answer, with "then" defaulting to hangup', () => {
    const [short, long] = loadRules([{ play: "hello.wav" }, {
      play: { file: "a.wav", then: "echo" },
      dtmf: { "1": "hangup" },
    }]);
    assert.deepEqual(resolveAction(short.action, Math.random), {
      kind: "default",
      provisional: [],
      retransmit: true,
      duplicate: 1,
      play: { file: "hello.wav", then: "hangup" },
    });
    const action = resolveAction(long.action, Math.random);
    assert.ok(action.kind === "default");
    assert.deepEqual([action.play, action.dtmf], [{ file: "a.wav", then: "echo" }, { "1": "hangup" }]);
  });

  test("bad dtmf and play values are refused with their path", () => {
    const cases: [unknown, RegExp][] = [
      [[{ default: true, dtmf: { "x": "hangup" } }], /rules: \[0\]\.dtmf\.x: is not a DTMF key/],
      [
        [{ default: true, dtmf: { "#": "ring" } }],
        /\[0\]\.dtmf\["#"\]: must be "hangup", "echo" or \{ "play": \.\.\. \}, got "ring"/,
      ],
      [[{ default: true, dtmf: "#" }], /\[0\]\.dtmf: must be an object/],
      [[{ play: "" }], /\[0\]\.play\.file: must be a non-empty file name/],
      [[{ play: { file: "a.wav", then: "loop" } }], /\[0\]\.play\.then: must be "hangup" or "echo"/],
      [[{ play: { file: "a.wav", loop: true } }], /\[0\]\.play/],
      [[{ play: "a.wav", default: true }], /give exactly one action/],
      [[{ silent: true, dtmf: { "#": "hangup" } }], /\[0\]\.dtmf: has no effect with "silent"/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => loadRules(value), (e) => e instanceof RulesError && message.test(e.message));
    }
  });

  test("dtmf keys may be sequences, with hangup, echo and play actions", () => {
    const [rule] = loadRules([{
      default: true,
      dtmf: {
        "1234#": "hangup",
        "0": "echo",
        "1": { play: "menu.wav" },
        "2a": { play: { file: "b.wav", then: "echo" } },
      },
    }]);
    const action = resolveAction(rule.action, Math.random);
    assert.ok(action.kind === "default");
    assert.deepEqual(action.dtmf, {
      "1234#": "hangup",
      "0": "echo",
      "1": { play: { file: "menu.wav", then: "hangup" } },
      "2A": { play: { file: "b.wav", then: "echo" } },
    });
  });

  test("bad dtmf sequences and actions are refused with their JSON path in the file", () => {
    const file = (dtmf: unknown) => JSON.stringify({ rules: [{ default: true, dtmf }] });
    const long = "1".repeat(MAX_DTMF_SEQUENCE + 1);
    const cases: [unknown, string][] = [
      [{ "12x": "hangup" }, 'rules.json: rules[0].dtmf["12x"]: is not a DTMF key or sequence: keys 0-9, *, #, A-D'],
      [{ "": "hangup" }, 'rules.json: rules[0].dtmf[""]: is not a DTMF key or sequence: keys 0-9, *, #, A-D'],
      [{ [long]: "hangup" }, `rules.json: rules[0].dtmf["${long}"]: is 33 keys long, at most 32`],
      [
        { "1a": "hangup", "1A": "echo" },
        'rules.json: rules[0].dtmf["1A"]: names the keys 1A twice (keys are not case sensitive)',
      ],
      [{ "1": { play: "" } }, 'rules.json: rules[0].dtmf["1"].play.file: must be a non-empty file name, got ""'],
      [
        { "1": { play: { file: "a.wav", then: "loop" } } },
        'rules.json: rules[0].dtmf["1"].play.then: must be "hangup" or "echo", got "loop"',
      ],
      [{ "1": { plya: "a.wav" } }, 'rules.json: rules[0].dtmf["1"]: unknown key "plya" (did you mean "play"?)'],
      [{ "1": {} }, 'rules.json: rules[0].dtmf["1"]: must be "hangup", "echo" or { "play": ... }, got an empty object'],
      [{ "1": 5 }, 'rules.json: rules[0].dtmf["1"]: must be "hangup", "echo" or { "play": ... }, got 5'],
    ];
    for (const [dtmf, message] of cases) {
      assert.throws(
        () => parseRules(file(dtmf), "rules.json"),
        (e) => e instanceof RulesError && e.message === message,
      );
    }
    // The longest sequence allowed loads.
    const max = "#".repeat(MAX_DTMF_SEQUENCE);
    assert.equal(parseRules(file({ [max]: "hangup" }), "rules.json").length, 1);
  });

  test("a sequence matches the end of the keys received; the longest wins; the keys kept are the last 32", () => {
    const actions = { "#": "hangup", "99#": "echo", "1": "echo", "1234#": "hangup" } as const;
    assert.equal(_matchDtmf(actions, "5"), undefined);
    assert.equal(_matchDtmf(actions, "1"), "1");
    assert.equal(_matchDtmf(actions, "51"), "1");
    assert.equal(_matchDtmf(actions, "9#"), "#");
    assert.equal(_matchDtmf(actions, "799#"), "99#");
    assert.equal(_matchDtmf(actions, "01234#"), "1234#");
    assert.equal(_matchDtmf(actions, "1234"), undefined);
    let keys = "";
    for (let i = 0; i < 40; i++) keys = _pushDtmf(keys, String(i % 10));
    assert.equal(keys.length, MAX_DTMF_SEQUENCE);
    assert.equal(keys, "89012345678901234567890123456789");
    // A sequence of 32 keys still matches after 40 keys; one that began earlier is gone.
    assert.equal(_matchDtmf({ [keys]: "hangup" }, keys), keys);
    assert.equal(_matchDtmf({ "7": "hangup" }, _pushDtmf(keys, "7")), "7");
  });

  test("the menu example of docs/rules.md loads, and its sequences avoid its single keys", () => {
    const doc = readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8");
    const block = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('"menu"'));
    assert.ok(block !== undefined, "the menu example");
    const [rule] = parseRules(block, "docs/rules.md");
    const action = resolveAction(rule.action, Math.random);
    assert.ok(action.kind === "default");
    const dtmf = action.dtmf!;
    assert.deepEqual(Object.keys(dtmf).sort(), ["0", "1", "2345#", "99#"]);
    assert.equal(_matchDtmf(dtmf, "2345#"), "2345#");
    assert.equal(_matchDtmf(dtmf, "99#"), "99#");
    for (const prefix of ["2", "23", "234", "2345", "9", "99"]) {
      assert.equal(_matchDtmf(dtmf, prefix), undefined, prefix);
    }
  });
});
