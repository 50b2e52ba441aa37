import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs, UsageError } from "../../src/cli/cli.ts";

describe("parseArgs(): media flows", () => {
  test("--record DIR records each call into DIR; refused beside --no-media and --stateless", () => {
    assert.deepEqual(parseArgs(["--record", "/tmp/calls"]).media, {
      portRange: [20000, 29999],
      record: { dir: "/tmp/calls" },
    });
    assert.throws(
      () => parseArgs(["--record", ""]),
      (e) => e instanceof UsageError && /--record: expected a folder/.test(e.message),
    );
    assert.throws(() => parseArgs(["--record", "x", "--no-media"]), UsageError);
    assert.throws(() => parseArgs(["--stateless", "--record", "x"]), /--stateless cannot be combined with --record/);
  });
});
