// The project's runtime configuration (deno.json, bunfig.toml): a file that imports a package the
// project does not have must fail on both runtimes, so that no dependency slips into src/ on one
// of them. Bun, left to its defaults, would fetch such a package from the registry and run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { within } from "./_wait.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;

test("a bare import of a package the project does not have fails (bunfig.toml: install.auto off)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sipecho-config-"));
  try {
    // is-odd is on the npm registry: with Bun's auto-install on, this file would run.
    const script = join(dir, "stray_import.ts");
    writeFileSync(script, 'import isOdd from "is-odd";\nconsole.log("ran", typeof isOdd);\n');
    // Started from the top of the checkout, as the README's commands are: Bun reads bunfig.toml there.
    const args = isBun ? [script] : ["run", "-A", script];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => out += d);
    child.stderr.on("data", (d) => out += d);
    const code = await within(new Promise<number | null>((resolve) => child.on("exit", resolve)), "the run", 30000);
    assert.notEqual(code, 0, out);
    assert.doesNotMatch(out, /^ran /m);
    assert.match(out, /is-odd/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
