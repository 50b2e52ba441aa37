// Running SIPp scenarios from tests/data against the command line started as a process, for the
// interop tests (interop_test.ts, flows_interop_test.ts, refer_interop_test.ts).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

export function installed(tool: string, arg: string): boolean {
  try {
    return spawnSync(tool, [arg], { stdio: "ignore" }).error === undefined;
  } catch {
    return false;
  }
}

export const HAVE_SIPP = installed("sipp", "-v");
const DATA = new URL("../data/", import.meta.url).pathname;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (or kills it after `timeout` ms). */
export function runCommand(cmd: string, args: string[], timeout: number, cwd?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A UDP port of 127.0.0.1 free now, from the upper ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = 40000 + Math.floor(Math.random() * 20000);
    const free = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => {
        s.close();
        resolve(false);
      });
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free UDP port on 127.0.0.1");
}

/** Waits until an OPTIONS to `port` is answered (the process is up; --quiet prints nothing). */
export async function answering(port: number, within: number): Promise<void> {
  const socket = dgram.createSocket("udp4");
  try {
    const answered = new Promise<void>((resolve) => socket.once("message", () => resolve()));
    const deadline = Date.now() + within;
    let n = 0;
    for (;;) {
      const options = `OPTIONS sip:echo@127.0.0.1:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:1;rport;branch=z9hG4bK-up${n++}\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n` +
        `To: <sip:echo@127.0.0.1>\r\nCall-ID: up@test\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      socket.send(options, port, "127.0.0.1");
      const up = await Promise.race([answered.then(() => true), new Promise((r) => setTimeout(() => r(false), 250))]);
      if (up) return;
      if (Date.now() > deadline) throw new Error(`sipecho did not answer on udp 127.0.0.1:${port} in ${within} ms`);
    }
  } finally {
    socket.close();
  }
}

/** SIPp's final count of a row ("Successful call", "Failed call"). */
export function sippCount(stdout: string, label: string): number {
  const rows = [...stdout.matchAll(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, "g"))];
  return rows.length === 0 ? -1 : Number(rows[rows.length - 1][1]);
}

/** Plays `scenario` `calls` times against the command line on a UDP port of its own. */
export async function playAgainstCli(scenario: string, calls: number): Promise<{ successful: number; failed: number }> {
  const port = await freePort();
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const isBun = "Bun" in globalThis;
  const flags = ["--udp", `127.0.0.1:${port}`, "--no-media", "--quiet", "--rules", join(DATA, "flows_rules.json")];
  const args = isBun ? [mod, ...flags] : ["run", "-A", mod, ...flags];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => stderr += d);
  const exited = new Promise((resolve) => child.on("close", resolve));
  const dir = mkdtempSync(join(tmpdir(), "sipp-"));
  try {
    await answering(port, 30_000);
    const r = await runCommand(
      "sipp",
      [
        `127.0.0.1:${port}`,
        "-sf",
        join(DATA, scenario),
        "-m",
        String(calls),
        "-r",
        "20",
        "-i",
        "127.0.0.1",
        "-nostdin",
        "-timeout",
        "60s",
        "-timeout_error",
      ],
      90_000,
      dir,
    );
    assert.equal(r.code, 0, `sipp exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-3000)}\n${stderr}`);
    return { successful: sippCount(r.stdout, "Successful call"), failed: sippCount(r.stdout, "Failed call") };
  } finally {
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
