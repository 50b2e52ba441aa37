// --http and --stats on the command line: main() run with a fake runtime, a call placed by the
// mock peer's UAC, the startup line and the summary line read back from standard error.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CliRuntime, main, parseArgs, UsageError } from "../../src/cli/cli.ts";
import { formatStatsLine } from "../../src/cli/stats_line.ts";
import { MockPeer } from "../../src/testing/mock.ts";
import { serve } from "../../src/net/serve.ts";
import { until } from "../_wait.ts";

/** Runs main() until `during` is done, then sends it the signal; what it wrote, and its exit code. */
async function run(args: string[], during: (err: string[]) => Promise<void>): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  let signal: (() => void) | undefined;
  const started = Promise.withResolvers<void>();
  const rt: CliRuntime = {
    args,
    stdin: () => Promise.resolve(new Uint8Array()),
    readTextFile: () => Promise.reject(new Error("no files")),
    onSignal: (h) => {
      signal = h;
      started.resolve();
    },
    print() {},
    printError: (line) => void err.push(line),
    exit: (c: number): never => {
      throw Object.assign(new Error(`exit ${c}`), { code: c });
    },
  };
  let code = -1;
  const done = main(rt).catch((e) => void (code = (e as { code: number }).code));
  await Promise.race([started.promise, done]);
  try {
    await during(err);
  } finally {
    signal?.();
  }
  await done;
  return { code, err };
}

describe("--stats", () => {
  test("main() with --http and --stats 1 names the HTTP port on the startup line and writes a summary a second", async () => {
    const { code, err } = await run(["--udp", "127.0.0.1:0", "--http", "0", "--stats", "1", "--quiet"], async (err) => {
      const m = /listening on udp 127\.0\.0\.1:(\d+), http 127\.0\.0\.1:(\d+);/.exec(err[0]);
      assert.ok(m !== null, err[0]);
      await using uac = await MockPeer.start();
      const call = await uac.request({ method: "INVITE", uri: `sip:busy@127.0.0.1:${m[1]}`, sdp: true });
      assert.equal(call.status, 486);
      assert.equal((await fetch(`http://127.0.0.1:${m[2]}/healthz`)).status, 200);
      await until(() => err.some((l) => l.startsWith("sipecho: stats")), "a stats line", 2500);
    });
    assert.equal(code, 0);
    const line = err.find((l) => l.startsWith("sipecho: stats"))!;
    assert.match(
      line,
      /^sipecho: stats 1 s: [01]\.0 calls\/s \(INVITE\), 0 calls active, [01] failures \(4xx-6xx sent\), 0 dropped, 0 parse errors$/,
    );
  });

  test("formatStatsLine() gives the rates over the interval, and the calls active now", async () => {
    await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
    await using uac = await MockPeer.start();
    const before = server.stats();
    for (let i = 0; i < 4; i++) await uac.request({ method: "INVITE", uri: server.uri("busy"), sdp: true });
    const call = await uac.request({ method: "INVITE", uri: server.uri("echo"), sdp: true });
    call.ack();
    assert.equal(
      formatStatsLine(before, server.stats(), 2),
      "sipecho: stats 2 s: 2.5 calls/s (INVITE), 1 calls active, 4 failures (4xx-6xx sent), 0 dropped, 0 parse errors",
    );
  });

  test("parseArgs() takes --stats in whole seconds 1..86400", () => {
    assert.equal(parseArgs(["--stats", "10"]).stats, 10);
    assert.equal(parseArgs([]).stats, undefined);
    for (const bad of ["0", "1.5", "86401", "x"]) assert.throws(() => parseArgs(["--stats", bad]), UsageError);
  });
});
