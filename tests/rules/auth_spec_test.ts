// The `auth` of a rules file: the top-level settings (loadAuthConfig) and the rule modifier,
// what they may say and the messages that name what they may not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveAction } from "../../src/rules/action.ts";
import { loadAuthConfig, parseAuthConfig } from "../../src/rules/auth_spec.ts";
import { RulesError } from "../../src/rules/errors.ts";
import { loadRules, parseRules } from "../../src/rules/load.ts";
import { refuses } from "./_helpers.ts";

test("loadAuthConfig() reads realm, users (password, { password }, { ha1 }), proxy, algorithms, methods", () => {
  const md5 = "939e7578ed9e3c518a452acee763bce9";
  const config = loadAuthConfig({
    auth: {
      realm: "lab.example.com",
      users: { alice: "secret", bob: { password: "pw" }, carol: { ha1: { MD5: md5.toUpperCase() } } },
      proxy: true,
      algorithms: ["MD5", "SHA-256-sess"],
      methods: ["REGISTER", "MESSAGE"],
    },
    rules: [],
  }, "r.json");
  assert.deepEqual(config, {
    realm: "lab.example.com",
    users: { alice: { password: "secret" }, bob: { password: "pw" }, carol: { ha1: { MD5: md5 } } },
    proxy: true,
    algorithms: ["MD5", "SHA-256-sess"],
    methods: ["REGISTER", "MESSAGE"],
  });
  assert.equal(loadAuthConfig({ rules: [] }), undefined);
  assert.equal(loadAuthConfig([{ silent: true }]), undefined);
  assert.deepEqual(
    parseAuthConfig('{ "auth": { "users": { "__proto__": "x" } }, "rules": [] }')?.users,
    Object.defineProperty({}, "__proto__", {
      value: { password: "x" },
      enumerable: true,
      writable: true,
      configurable: true,
    }),
  );
});

test("loadAuthConfig() names the JSON path of each mistake", () => {
  const bad = (auth: unknown, message: string | RegExp) =>
    assert.throws(() => loadAuthConfig({ auth, rules: [] }, "r.json"), (e) => {
      assert.ok(e instanceof RulesError);
      if (typeof message === "string") assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  bad("x", 'r.json: auth: must be an object with "realm", "users", ..., got "x"');
  bad({ realms: "x" }, 'r.json: auth: unknown key "realms" (did you mean "realm"?)');
  bad({ realm: "" }, 'r.json: auth.realm: must be a non-empty string without control characters, got ""');
  bad({ realm: "a\r\nb" }, 'r.json: auth.realm: must be a non-empty string without control characters, got "a\\r\\nb"');
  bad({ users: [] }, "r.json: auth.users: must be an object of users by name, got an empty array");
  bad(
    { users: { alice: 1 } },
    'r.json: auth.users.alice: must be a password, { "password": ... } or { "ha1": { "MD5": ... } }, got 1',
  );
  bad({ users: { alice: {} } }, 'r.json: auth.users.alice: give exactly one of "password" and "ha1"');
  bad({ users: { "a b": { password: 1 } } }, 'r.json: auth.users["a b"].password: must be a string, got 1');
  bad(
    { users: { bob: { ha1: { SHA1: "00" } } } },
    'r.json: auth.users.bob.ha1: unknown key "SHA1" (expected one of: MD5, SHA-256, SHA-512-256)',
  );
  bad(
    { users: { bob: { ha1: { "SHA-256": "zz" } } } },
    'r.json: auth.users.bob.ha1.SHA-256: must be 64 hex digits (H(A1) of SHA-256), got "zz"',
  );
  bad({ proxy: "yes" }, 'r.json: auth.proxy: must be true or false, got "yes"');
  bad({ algorithms: [] }, /^r\.json: auth\.algorithms: must be a non-empty list of SHA-512-256, /);
  bad({ algorithms: ["SHA-1"] }, /^r\.json: auth\.algorithms\[0\]: must be one of SHA-512-256, .*got "SHA-1"$/);
  bad({ algorithms: ["md5"] }, 'r.json: auth.algorithms[0]: is spelt "MD5" (RFC 7616 §6.1), got "md5"');
  bad({ algorithms: ["MD5", "MD5"] }, "r.json: auth.algorithms: names MD5 twice");
  bad({ methods: "REGISTER" }, 'r.json: auth.methods: must be a list of methods, got "REGISTER"');
  bad(
    { methods: ["register"] },
    'r.json: auth.methods[0]: must be upper case (methods are case-sensitive, RFC 3261 §7.1): "REGISTER"',
  );
  bad(
    { methods: ["INVITE", "ACK"] },
    "r.json: auth.methods[1]: ACK cannot be challenged (RFC 3261 §22.1: it cannot be resubmitted)",
  );
  bad({ methods: ["CANCEL"] }, /auth\.methods\[0\]: CANCEL cannot be challenged/);
});

test("loadRules() checks the top-level auth too, and takes the auth modifier on rules and alternatives", () => {
  refuses({ auth: { proxy: 1 }, rules: [] }, "rules.json: auth.proxy: must be true or false, got 1");
  const rules = parseRules(
    JSON.stringify({
      auth: { users: { alice: "secret" } },
      rules: [
        { match: { user: "pbx" }, auth: true, default: true },
        { match: { user: "open" }, auth: false, respond: { status: 200 } },
        { match: { user: "proxy" }, auth: { proxy: true, realm: "p" }, respond: { status: 200 } },
        { choose: [{ weight: 1, auth: true, default: true }, { weight: 1, default: true }] },
      ],
    }),
    "r.json",
  );
  assert.deepEqual(resolveAction(rules[0].action, Math.random), {
    kind: "default",
    provisional: [],
    retransmit: true,
    duplicate: 1,
    auth: {},
  });
  assert.equal(resolveAction(rules[1].action, Math.random).kind === "respond" && rules[1].action.kind, "respond");
  const open = resolveAction(rules[1].action, Math.random);
  assert.equal(open.kind !== "silent" && open.auth, false);
  const proxy = resolveAction(rules[2].action, Math.random);
  assert.deepEqual(proxy.kind !== "silent" && proxy.auth, { realm: "p", proxy: true });
  const first = resolveAction(rules[3].action, () => 0.25);
  const second = resolveAction(rules[3].action, () => 0.75);
  assert.deepEqual(first.kind !== "silent" && first.auth, {});
  assert.equal(second.kind !== "silent" && second.auth, undefined);
  refuses(
    [{ auth: "yes", default: true }],
    'rules.json: [0].auth: must be true, false or an object with "realm", "users", ..., got "yes"',
  );
  refuses(
    [{ auth: { methods: ["INVITE"] }, default: true }],
    'rules.json: [0].auth: unknown key "methods" (expected one of: realm, users, proxy, algorithms, comment)',
  );
  refuses([{ auth: true, silent: true }], 'rules.json: [0].auth: has no effect with "silent" (nothing is sent)');
  assert.ok(Object.isFrozen(loadRules([{ auth: { users: { a: "b" } }, default: true }])[0].action));
});
