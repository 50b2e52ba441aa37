// Runs a test script as its own process and reports how it ended: the check that a server or a
// mock peer leaves no socket, timer or connection open is that the process exits by itself.
import { spawn } from "node:child_process";
import process from "node:process";
import { within } from "./_wait.ts";

/**
 * Runs `script` (a path) on the current runtime with `flags` before it (Deno: `run -A`, ...),
 * and resolves with its exit code and everything it wrote, or rejects if it has not exited
 * within `ms` (which is what a leaked handle looks like).
 */
export async function runToExit(
  script: string,
  flags: string[],
  ms: number,
): Promise<{ code: number | null; out: string }> {
  const decoder = new TextDecoder();
  const child = spawn(process.execPath, [...flags, script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => out += decoder.decode(d));
  child.stderr.on("data", (d) => out += decoder.decode(d));
  try {
    const code = await within(
      new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c))),
      `${script} to exit`,
      ms,
    );
    return { code, out };
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
