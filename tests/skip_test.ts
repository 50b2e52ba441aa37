import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

// The runner running this test (deno or bun) runs a file with a skipped test; its output must
// carry the reason (tests/_skip.ts).
test("a test skipped for a missing tool says why in the runner's output", () => {
  const fixture = fileURLToPath(new URL("./data/skip_fixture.ts", import.meta.url));
  const onDeno = "Deno" in globalThis;
  const args = onDeno ? ["test", "--no-check", fixture] : ["test", fixture];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const output = r.stdout + r.stderr;
  assert.equal(r.status, 0, output);
  assert.match(output, /skipped \(skip_fixture\.ts\): frobnicator 3 is not installed/);
  assert.match(output, onDeno ? /ignored/ : /\(skip\)/);
});
