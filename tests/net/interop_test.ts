// Interop with real SIP tools on loopback: SIPp's built-in uac scenario (UDP, TCP, IPv6, and
// 10% packet loss) against serve(), SIPp's uac_pcap playing RTP to the echo (captured with
// tcpdump: SIPp counts no RTP it receives), and sipsak against the command line run as a
// process. CI installs the tools (Debian packages sip-tester, sipsak and tcpdump); where one is
// missing the test is skipped with that reason.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type PeerEvent, serve } from "../../mod.ts";
import { skipWhy } from "../_skip.ts";
import { HAVE_SIPP, installed, runCommand } from "./_sipp.ts";

const HAVE_SIPSAK = installed("sipsak", "-V");
const HAVE_TCPDUMP = installed("tcpdump", "--version");
/** SIPp's pcap files (Debian: /usr/share/sip-tester), which uac_pcap reads as pcap/*.pcap. */
const SIPP_PCAPS = "/usr/share/sip-tester";

/**
 * Starts a process and reports its exit code. On Deno through `Deno.Command`: its
 * node:child_process reports a child that exits 0 after handling SIGTERM as killed by the
 * signal, which would hide what this test checks.
 */
function startProcess(cmd: string, args: string[]) {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno !== undefined && !("Bun" in globalThis)) {
    const child = new deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    const decoder = new TextDecoder();
    const listeners: ((text: string) => void)[] = [];
    const reading = (async () => {
      for await (const chunk of child.stderr) for (const l of listeners) l(decoder.decode(chunk));
    })();
    return {
      onStderr: (l: (text: string) => void) => void listeners.push(l),
      kill: (signal: "SIGTERM") => child.kill(signal),
      exited: Promise.all([child.status, reading]).then(([s]) => s.code),
    };
  }
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return {
    onStderr: (l: (text: string) => void) => void child.stderr.on("data", (d) => l(String(d))),
    kill: (signal: "SIGTERM") => void child.kill(signal),
    exited,
  };
}

/** SIPp's final statistics: the cumulative column of "Successful call" and "Failed call". */
function sippCounts(stdout: string): { successful: number; failed: number } {
  const count = (label: string) => {
    const rows = [...stdout.matchAll(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, "g"))];
    return rows.length === 0 ? -1 : Number(rows[rows.length - 1][1]);
  };
  return { successful: count("Successful call"), failed: count("Failed call") };
}

async function sippUac(
  transport: "udp" | "tcp",
  host: string,
  calls: number,
  extra: string[] = [],
  stateless = false,
): Promise<{ successful: number; failed: number; invites: number }> {
  const callIds = new Set<string>();
  await using server = await serve({
    listen: [{ transport, hostname: host, port: 0 }],
    stateless,
    // SIPp is a load generator on loopback: no rate limit or shares (the public ones are tested apart).
    edge: "lab",

    onTraffic: (e) => {
      if (e.direction === "in" && e.message.type === "request" && e.message.method === "INVITE") {
        callIds.add(e.message.callId);
      }
    },
  });
  const { port } = server.addresses[0];
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  // SIPp writes no files without trace flags; run it in a scratch directory all the same.
  const dir = mkdtempSync(join(tmpdir(), "sipp-"));
  try {
    const args = [
      "-sn",
      "uac",
      "-m",
      String(calls),
      "-r",
      "100",
      "-t",
      transport === "udp" ? "u1" : "t1",
      "-i",
      host,
      "-nostdin",
      "-timeout",
      "60s",
      "-timeout_error",
      ...extra,
      target,
    ];
    const r = await runCommand("sipp", args, 90_000, dir);
    const counts = sippCounts(r.stdout);
    assert.equal(r.code, 0, `sipp exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-3000)}`);
    return { ...counts, invites: callIds.size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("SIPp uac against serve()", () => {
  const skip = skipWhy(
    "SIPp calls",
    HAVE_SIPP ? false : "sipp is not installed (Debian package sip-tester; .ci/run installs it)",
  );

  test("200 calls over UDP: all successful", { skip, timeout: 120_000 }, async () => {
    const r = await sippUac("udp", "127.0.0.1", 200);
    assert.deepEqual(r, { successful: 200, failed: 0, invites: 200 });
  });

  test("200 calls over TCP: all successful", { skip, timeout: 120_000 }, async () => {
    const r = await sippUac("tcp", "127.0.0.1", 200);
    assert.deepEqual(r, { successful: 200, failed: 0, invites: 200 });
  });

  test("50 calls over UDP on [::1]: all successful", { skip, timeout: 120_000 }, async () => {
    const r = await sippUac("udp", "::1", 50);
    assert.deepEqual(r, { successful: 50, failed: 0, invites: 50 });
  });

  test("200 calls over UDP with 10% packet loss: every call completes by retransmission", {
    skip,
    timeout: 120_000,
  }, async () => {
    const r = await sippUac("udp", "127.0.0.1", 200, ["-lost", "10"]);
    assert.deepEqual(r, { successful: 200, failed: 0, invites: 200 });
  });

  test("stateless (RFC 3261 §8.2.7): 200 calls over UDP, then 200 with 10% loss, all successful", {
    skip,
    timeout: 120_000,
  }, async () => {
    assert.deepEqual(await sippUac("udp", "127.0.0.1", 200, [], true), { successful: 200, failed: 0, invites: 200 });
    // SIPp's retransmitted INVITEs and BYEs get the response again; nothing is re-sent by the peer.
    const lossy = await sippUac("udp", "127.0.0.1", 200, ["-lost", "10"], true);
    assert.deepEqual(lossy, { successful: 200, failed: 0, invites: 200 });
  });
});

/** Whether a UDP port of 127.0.0.1 can be bound now. */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** An even port with the next `count - 1` ports free too, from the upper ephemeral range, picked at random. */
async function freePorts(count: number): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const base = 40000 + 2 * Math.floor(Math.random() * 9000);
    let ok = true;
    for (let p = base; ok && p < base + count; p++) ok = await udpFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} free UDP ports in a row on 127.0.0.1`);
}

/** Counts the packets of a capture file that match a filter (tcpdump -r prints one line each). */
async function countPackets(file: string, filter: string): Promise<number> {
  const r = await runCommand("tcpdump", ["-r", file, "-nn", filter], 20_000);
  assert.equal(r.code, 0, `tcpdump -r: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.trim() !== "").length;
}

describe("SIPp uac_pcap: RTP to serve({ media }) comes back", () => {
  const getuid = (process as { getuid?: () => number }).getuid;
  const skip = skipWhy(
    "SIPp uac_pcap",
    !HAVE_SIPP
      ? "sipp is not installed (Debian package sip-tester; .ci/run installs it)"
      : !HAVE_TCPDUMP
      ? "tcpdump is not installed (Debian package tcpdump; .ci/run installs it)"
      : getuid?.() !== 0
      ? "not root: SIPp plays pcap through a raw socket and tcpdump captures on lo, both need root"
      : !existsSync(`${SIPP_PCAPS}/g711a.pcap`)
      ? `SIPp's pcap files are not in ${SIPP_PCAPS}`
      : false,
  );

  test("every RTP packet SIPp plays is echoed back to its media port", { skip, timeout: 120_000 }, async () => {
    const events: PeerEvent[] = [];
    // SIPp's SIP port, its media port (RTP, RTCP and the video pair above) and its control port;
    // and the echo's ports apart from them. Picked now: another run may hold fixed ones.
    const base = await freePorts(6);
    let echoBase = await freePorts(8);
    while (echoBase < base + 6 && base < echoBase + 8) echoBase = await freePorts(8);
    await using server = await serve({
      listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
      media: { portRange: [echoBase, echoBase + 7] },
      onEvent: (e) => void events.push(e),
    });
    const [sipPort, mediaPort, controlPort] = [base + 5, base, base + 4];
    const dir = mkdtempSync(join(tmpdir(), "sipp-pcap-"));
    const capture = join(dir, "echo.pcap");
    const tcpdump = spawn("tcpdump", ["-i", "lo", "-nn", "-U", "-w", capture, `udp and port ${mediaPort}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const tcpdumpExit = new Promise<number | null>((resolve) => tcpdump.on("close", resolve));
    try {
      symlinkSync(SIPP_PCAPS, join(dir, "pcap"));
      // tcpdump says "listening on lo" once it captures.
      await new Promise<void>((resolve, reject) => {
        let stderr = "";
        const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
        tcpdump.stderr.on("data", (d) => {
          stderr += d;
          if (/listening on/.test(stderr)) {
            clearTimeout(timer);
            resolve();
          }
        });
        tcpdump.once("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      const args = [
        `127.0.0.1:${server.addresses[0].port}`,
        "-sn",
        "uac_pcap",
        "-s",
        "echo",
        "-m",
        "1",
        "-i",
        "127.0.0.1",
        "-p",
        String(sipPort),
        "-mi",
        "127.0.0.1",
        "-mp",
        String(mediaPort),
        "-cp",
        String(controlPort),
        "-nostdin",
        "-timeout",
        "60s",
        "-timeout_error",
      ];
      const r = await runCommand("sipp", args, 90_000, dir);
      const log = events.map((e) => `${e.kind}: ${e.message}`).join("\n");
      assert.equal(r.code, 0, `sipp exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-3000)}\n${log}`);
      // Let the last echoes reach the capture, then stop it (SIGINT flushes the file).
      await new Promise((resolve) => setTimeout(resolve, 200));
      tcpdump.kill("SIGINT");
      await tcpdumpExit;
      const played = await countPackets(capture, `src port ${mediaPort}`);
      const echoed = await countPackets(capture, `dst port ${mediaPort}`);
      assert.ok(played > 200, `SIPp played ${played} packets`);
      assert.equal(echoed, played, `${played} played, ${echoed} echoed`);
      const media = events.find((e) => e.kind === "media")?.media;
      assert.equal(media?.packetsIn, played);
      assert.equal(media?.packetsOut, played);
      assert.deepEqual(media?.sources, [{ address: "127.0.0.1", port: mediaPort }]);
    } finally {
      if (tcpdump.exitCode === null) tcpdump.kill("SIGINT");
      await tcpdumpExit;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the command line as a process", () => {
  const skip = skipWhy(
    "sipsak",
    HAVE_SIPSAK ? false : "sipsak is not installed (Debian package sipsak; .ci/run installs it)",
  );

  test("sipsak's OPTIONS ping is answered (sipsak exits 0), and SIGTERM ends the process with 0", {
    skip,
    timeout: 60_000,
  }, async () => {
    const isBun = "Bun" in globalThis;
    const mod = new URL("../../mod.ts", import.meta.url).pathname;
    // Port 0 cannot be told to sipsak in advance: the server prints its bound port on stderr.
    const args = isBun ? [mod, "--udp", "127.0.0.1:0"] : ["run", "-A", mod, "--udp", "127.0.0.1:0"];
    const child = startProcess(process.execPath, args);
    let stderr = "";
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no startup line: ${stderr}`)), 30_000);
        child.onStderr((d) => {
          stderr += d;
          const m = /listening on udp 127\.0\.0\.1:(\d+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      const r = await runCommand("sipsak", ["-s", `sip:echo@127.0.0.1:${port}`, "-v"], 20_000);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^SIP\/2\.0 200 OK/m);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await child.exited, 0, stderr);
    assert.match(stderr, /sipecho: stopping\n$/);
  });
});
