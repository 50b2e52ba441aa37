// The rules files in examples/ load and do what they say.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRandom, resolveAction } from "../../src/rules/action.ts";
import { parseRules } from "../../src/rules/load.ts";
import { findRule } from "../../src/rules/match.ts";
import { example, input, type InputOptions, respondOf } from "./_helpers.ts";

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
