import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadRules, resolveAction, RulesError } from "../../src/rules/rules.ts";

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
      [[{ default: true, dtmf: { "#": "ring" } }], /\[0\]\.dtmf\["#"\]: must be "hangup", got "ring"/],
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
});
