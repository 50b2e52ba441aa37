// Digest authentication on the wire (RFC 3261 §22) against the command line run as a process
// (`mod.ts --udp 127.0.0.1:PORT --no-media --quiet --auth-user ...`): sipsak registers with a
// password (`sipsak -U -C ... -u alice -a secret`: 401, REGISTER with Authorization, 200), and
// SIPp plays tests/data/sipp_auth_uac.xml (INVITE, 401, ACK, INVITE with [authentication], 200,
// ACK, BYE). Each is skipped, with the reason, where its tool is missing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skipWhy } from "../_skip.ts";
import { answering, freePort, HAVE_SIPP, installed, runCommand, sippCount } from "./_sipp.ts";

const HAVE_SIPSAK = installed("sipsak", "-V");
const DATA = new URL("../data/", import.meta.url).pathname;

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
