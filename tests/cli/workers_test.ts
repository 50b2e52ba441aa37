// --workers: the flag, the arguments and RTP slices of the workers, and N processes of the
// command line on one port (SO_REUSEPORT): SIPp calls with a socket per call and lost messages
// all complete, and a binding registered through one worker is seen through every other.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type CliRuntime, main, parseArgs, UsageError } from "../../src/cli/cli.ts";
import { serve } from "../../src/net/serve.ts";
import { _rtpSlice, _workerArgs, _workerCount } from "../../src/cli/workers.ts";
import { freePort, HAVE_SIPP, runCommand, sippCount } from "../net/_sipp.ts";
import { skipWhy } from "../_skip.ts";
import { within } from "../_wait.ts";

describe("--workers, read", () => {
  test("a number, auto, and bad values named", () => {
    assert.equal(parseArgs([]).workers, 1);
    assert.equal(parseArgs(["--workers", "4"]).workers, 4);
    assert.equal(parseArgs(["--workers=auto"]).workers, "auto");
    assert.ok(_workerCount("auto") >= 1);
    for (const bad of ["0", "-1", "x", "1.5", "257", ""]) {
      assert.throws(
        () => parseArgs(["--workers", bad]),
        (e) => e instanceof UsageError && /^--workers: /.test(e.message),
      );
    }
    assert.throws(
      () => parseArgs(["--workers", "2", "--udp", "127.0.0.1:0"]),
      (e) => e instanceof UsageError && /--workers: every port must be given \(--udp port 0/.test(e.message),
    );
    assert.throws(
      () => parseArgs(["--workers", "2", "--tls", "127.0.0.1:5061"]),
      (e) => e instanceof UsageError && /--workers with --tls: give --cert and --key/.test(e.message),
    );
    assert.throws(() => parseArgs(["--worker", "0/2:5000"]), /--worker: expected INDEX\/COUNT:PORT/);

    assert.deepEqual(parseArgs(["--worker", "1/2:5000"]).worker, { index: 1, count: 2, hub: 5000 });
  });

  test("the other workers' arguments: no --workers, no --http, their index", () => {
    assert.deepEqual(
      _workerArgs(["--workers=2", "--http", "8080", "--udp", "127.0.0.1:5060", "--quiet"], 1, 2, 41000),
      ["--udp", "127.0.0.1:5060", "--quiet", "--worker", "1/2:41000"],
    );
  });

  test("each worker its own slice of the RTP ports, of whole pairs", () => {
    const slices = [0, 1, 2].map((i) => _rtpSlice([20001, 20100], i, 3)!);
    assert.deepEqual(slices, [[20002, 20033], [20034, 20065], [20066, 20100]]);
    for (const [low] of slices) assert.equal(low % 2, 0);
  });
});

describe("--workers, where processes cannot be started", () => {
  test("exit 1, said, and the ports closed", async () => {
    const port = await freePort();
    const err: string[] = [];
    const rt: CliRuntime = {
      args: ["--udp", `127.0.0.1:${port}`, "--workers", "2", "--no-media", "--quiet"],
      stdin: () => Promise.resolve(new Uint8Array()),
      readTextFile: () => Promise.reject(new Error("no files here")),
      onSignal() {},
      print() {},
      printError: (line) => void err.push(line),
      exit(code): never {
        throw Object.assign(new Error(`exit ${code}`), { code });
      },
    };
    await assert.rejects(main(rt), (e: { code?: number }) => e.code === 1);
    assert.deepEqual(err, ["sipecho: cannot start: --workers: this runtime's shim cannot start processes"]);
    // The port is free again: one server binds it, unshared.
    const server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port }] });
    await server.close();
  });
});

const LINUX = process.platform === "linux";
const why = !LINUX ? "SO_REUSEPORT spreads the load on Linux only" : !HAVE_SIPP ? "sipp is not installed" : false;

/**
 * The command line with `flags`, until its startup line; `stop()` sends SIGTERM (unless it has
 * ended) and returns its status and standard error once it has ended.
 */
async function startCli(flags: string[]): Promise<{
  stop(signal?: boolean): Promise<{ code: number | null; stderr: string }>;
}> {
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const args = "Bun" in globalThis ? [mod, ...flags] : ["run", "-A", mod, ...flags];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const up = Promise.withResolvers<void>();
  child.stderr.on("data", (d) => {
    stderr += d;
    if (stderr.includes(" listening on ")) up.resolve();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  void exited.then(() => up.reject(new Error(`sipecho exited as it started: ${stderr}`)));
  await within(up.promise, "the startup line", 60_000);
  return {
    async stop(signal = true) {
      // Not child.kill(): Deno's node:child_process then reports a null code whatever the exit.
      if (signal && child.exitCode === null) process.kill(child.pid!, "SIGTERM");
      const code = await within(exited, "every worker to stop", 20_000);
      return { code, stderr };
    },
  };
}

/** The requests each worker said it took, from the lines they print as they end. */
function tallies(stderr: string, method: string): number[] {
  return [...stderr.matchAll(new RegExp(`worker (\\d+): (\\d+) INVITE, (\\d+) REGISTER`, "g"))]
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => Number(method === "INVITE" ? m[2] : m[3]));
}

describe("--workers 2, one port", { skip: skipWhy("--workers processes", why) }, () => {
  test(
    "SIPp, a socket per call, 10% of messages lost: every call completes, over both workers",
    { timeout: 150_000 },
    async () => {
      const port = await freePort();
      const cli = await startCli(["--udp", `127.0.0.1:${port}`, "--workers", "2", "--no-media", "--quiet"]);
      const dir = mkdtempSync(join(tmpdir(), "sipp-workers-"));
      let r;
      try {
        r = await runCommand(
          "sipp",
          [`127.0.0.1:${port}`, "-sn", "uac", "-t", "un", "-lost", "10", "-m", "40", "-r", "20", "-d", "100"].concat(
            ["-i", "127.0.0.1", "-nostdin", "-timeout", "90s", "-timeout_error", "-max_socket", "100"],
          ),
          120_000,
          dir,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const { code, stderr } = await cli.stop();
      assert.equal(code, 0, stderr);
      assert.equal(sippCount(r.stdout, "Failed call"), 0, r.stdout.slice(-3000));
      assert.equal(sippCount(r.stdout, "Successful call"), 40, r.stdout.slice(-3000));
      const invites = tallies(stderr, "INVITE");
      assert.equal(invites.length, 2, stderr);
      // 40 source ports hashed over two sockets: each gets some (all on one: 1 in 2^39).
      for (const n of invites) assert.ok(n > 0, `INVITEs per worker: ${invites}`);
    },
  );

  test(
    "SIPp over TCP, a connection per call: every call completes, over both workers",
    { timeout: 150_000 },
    async () => {
      const port = await freePort();
      const cli = await startCli(["--tcp", `127.0.0.1:${port}`, "--workers", "2", "--no-media", "--quiet"]);
      const dir = mkdtempSync(join(tmpdir(), "sipp-workers-"));
      let r;
      try {
        r = await runCommand(
          "sipp",
          [`127.0.0.1:${port}`, "-sn", "uac", "-t", "tn", "-m", "30", "-r", "20", "-d", "100", "-i", "127.0.0.1"]
            .concat(
              ["-nostdin", "-timeout", "90s", "-timeout_error", "-max_socket", "100"],
            ),
          120_000,
          dir,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const { code, stderr } = await cli.stop();
      assert.equal(code, 0, stderr);
      assert.equal(sippCount(r.stdout, "Successful call"), 30, r.stdout.slice(-3000));
      const invites = tallies(stderr, "INVITE");
      assert.equal(invites.length, 2, stderr);
      assert.equal(invites[0] + invites[1], 30, stderr);
      for (const n of invites) assert.ok(n > 0, `INVITEs per worker: ${invites}`);
    },
  );

  test("a binding registered through one worker is seen through the other", { timeout: 90_000 }, async () => {
    const port = await freePort();
    const cli = await startCli(["--udp", `127.0.0.1:${port}`, "--workers", "2", "--no-media", "--quiet"]);
    const sockets: dgram.Socket[] = [];
    try {
      const ask = async (contact: boolean, n: number): Promise<string> => {
        const s = dgram.createSocket("udp4");
        sockets.push(s);
        await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
        const answer = new Promise<string>((resolve) => s.on("message", (m) => resolve(String(m))));
        const p = s.address().port;
        const text = `REGISTER sip:127.0.0.1:${port} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP 127.0.0.1:${p};rport;branch=z9hG4bK-w${n}\r\nMax-Forwards: 70\r\n` +
          `From: <sip:bob@example.com>;tag=w${n}\r\nTo: <sip:bob@example.com>\r\nCall-ID: w${n}@test\r\n` +
          `CSeq: 1 REGISTER\r\n${contact ? "Contact: <sip:bob@192.0.2.7:5090>\r\nExpires: 600\r\n" : ""}` +
          "Content-Length: 0\r\n\r\n";
        s.send(text, port, "127.0.0.1");
        return await within(answer, `the answer to REGISTER ${n}`, 5000);
      };
      assert.match(await ask(true, 0), /^SIP\/2\.0 200 /);
      // The sibling learns of it a loopback datagram later.
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A query (no Contact, RFC 3261 §10.2.3) from each of 24 source ports, hashed over both workers.
      for (let n = 1; n <= 24; n++) {
        const answer = await ask(false, n);
        assert.match(answer, /^SIP\/2\.0 200 /);
        assert.match(answer, /\r\nContact: <sip:bob@192\.0\.2\.7:5090>;expires=(59\d|600)\r\n/, `query ${n}`);
      }
    } finally {
      for (const s of sockets) s.close();
    }
    const { code, stderr } = await cli.stop();
    assert.equal(code, 0, stderr);
    const registers = tallies(stderr, "REGISTER");
    assert.equal(registers.length, 2, stderr);
    for (const n of registers) assert.ok(n > 0, `REGISTERs per worker: ${registers}`);
  });

  test("a worker that dies stops them all, said on standard error, status 1", { timeout: 90_000 }, async () => {
    const port = await freePort();
    const cli = await startCli(["--udp", `127.0.0.1:${port}`, "--workers", "2", "--no-media", "--quiet"]);
    // Worker 1 of this run: the process whose command line has our port and --worker 1/2.
    const ours: number[] = [];
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      } catch { /* gone */ }
      if (cmdline.includes(`127.0.0.1:${port}`) && cmdline.includes("\0--worker\0" + "1/2:")) ours.push(Number(name));
    }
    assert.equal(ours.length, 1, `worker 1 of port ${port}: ${ours}`);
    process.kill(ours[0], "SIGKILL");
    const { code, stderr } = await cli.stop(false);
    assert.match(stderr, /sipecho: worker 1 \(pid \d+\) ended with status \d+; stopping every worker/);
    assert.equal(code, 1);
  });
});
