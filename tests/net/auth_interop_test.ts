// Digest authentication on the wire (RFC 3261 §22) against the command line run as a process
// (`mod.ts --udp 127.0.0.1:PORT --no-media --quiet --auth-user ...`): sipsak registers with a
// password (`sipsak -U -C ... -u alice -a secret`: 401, REGISTER with Authorization, 200), and
// SIPp plays tests/data/sipp_auth_uac.xml (INVITE, 401, ACK, INVITE with [authentication], 200,
// ACK, BYE). Each is skipped, with the reason, where its tool is missing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skipWhy } from "../_skip.ts";

function installed(tool: string, arg: string): boolean {
  try {
    return spawnSync(tool, [arg], { stdio: "ignore" }).error === undefined;
  } catch {
    return false;
  }
}

const HAVE_SIPP = installed("sipp", "-v");
const HAVE_SIPSAK = installed("sipsak", "-V");
const DATA = new URL("../data/", import.meta.url).pathname;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (or kills it after `timeout` ms). */
function runCommand(cmd: string, args: string[], timeout: number, cwd?: string): Promise<RunResult> {
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
async function freePort(): Promise<number> {
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
async function answering(port: number, within: number): Promise<void> {
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
function sippCount(stdout: string, label: string): number {
  const rows = [...stdout.matchAll(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, "g"))];
  return rows.length === 0 ? -1 : Number(rows[rows.length - 1][1]);
}

/** The command line on a UDP port of its own, with `flags`; stopped by `stop()`. */
async function startCli(flags: string[]): Promise<{ port: number; stderr: () => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const all = ["--udp", `127.0.0.1:${port}`, "--no-media", "--quiet", ...flags];
  const args = "Bun" in globalThis ? [mod, ...all] : ["run", "-A", mod, ...all];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => stderr += d);
  const exited = new Promise((resolve) => child.on("close", resolve));
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
  };
  try {
    await answering(port, 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, stderr: () => stderr, stop };
}

describe("sipsak registers with a password against --auth-user", () => {
  const skip = skipWhy(
    "sipsak digest authentication",
    HAVE_SIPSAK ? false : "sipsak is not installed (Debian package sipsak; .ci/run installs it)",
  );

  test("the right password: 401, then 200 (sipsak exits 0); a wrong one: 401 again (sipsak fails)", {
    skip,
    timeout: 60_000,
  }, async () => {
    const cli = await startCli(["--auth-user", "alice:secret"]);
    try {
      const register = (password: string) =>
        runCommand("sipsak", [
          "-U",
          "-C",
          "sip:alice@127.0.0.1:5999",
          "-s",
          `sip:alice@127.0.0.1:${cli.port}`,
          "-u",
          "alice",
          "-a",
          password,
          "-x",
          "3600",
          "-i",
          "-vv",
        ], 20_000);
      const ok = await register("secret");
      assert.equal(ok.code, 0, `sipsak exited ${ok.code}:\n${ok.stdout}\n${ok.stderr}\n${cli.stderr()}`);
      const wrong = await register("guess");
      // sipsak answers the 401 once; the second 401 ends it with "authorization failed".
      assert.notEqual(wrong.code, 0, wrong.stdout);
    } finally {
      await cli.stop();
    }
  });
});

describe("SIPp uac with [authentication] against a challenging peer", () => {
  const skip = skipWhy(
    "SIPp digest authentication",
    HAVE_SIPP ? false : "sipp is not installed (Debian package sip-tester; .ci/run installs it)",
  );

  test("INVITE, 401, ACK, INVITE with Authorization, 200, ACK, BYE: 20 calls over UDP, all successful", {
    skip,
    timeout: 120_000,
  }, async () => {
    const cli = await startCli(["--auth-user", "sipp:secret"]);
    const dir = mkdtempSync(join(tmpdir(), "sipp-auth-"));
    try {
      const r = await runCommand(
        "sipp",
        [
          `127.0.0.1:${cli.port}`,
          "-sf",
          join(DATA, "sipp_auth_uac.xml"),
          "-s",
          "echo",
          "-au",
          "sipp",
          "-ap",
          "secret",
          "-m",
          "20",
          "-r",
          "10",
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
      assert.equal(r.code, 0, `sipp exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-3000)}\n${cli.stderr()}`);
      assert.equal(sippCount(r.stdout, "Successful call"), 20, r.stdout.slice(-3000));
      assert.equal(sippCount(r.stdout, "Failed call"), 0, r.stdout.slice(-3000));
    } finally {
      await cli.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
