// Run by tests/skip_test.ts only (its name does not end in _test.ts): a test skipped through
// skipWhy(), whose reason the runner's output must show.
import { test } from "node:test";
import { skipWhy } from "../_skip.ts";

const skip = skipWhy("skip_fixture.ts", "frobnicator 3 is not installed");
test("a test that needs the frobnicator", { skip }, () => {
  throw new Error("skipped tests do not run");
});
