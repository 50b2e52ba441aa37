// resolveAction() and createRandom(): from a rule to what is sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRandom, resolveAction } from "../../src/rules/action.ts";
import { loadRules, parseRules } from "../../src/rules/load.ts";
import { BRIEF_EXAMPLE, respondOf } from "./_helpers.ts";

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
