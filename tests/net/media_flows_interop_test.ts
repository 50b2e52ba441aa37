// Interop of the media flows with SIPp: a SIPp scenario calls the command line (run as a
// process, `--log json`), plays Debian's RFC 4733 DTMF captures (dtmf_2833_1.pcap, then
// dtmf_2833_pound.pcap; the echo comes back to SIPp, which ignores it) and hangs up; the
// command line must log one dtmf event per key, "1" then "#". Skipped, saying why, without
// SIPp, without root (SIPp plays pcap through a raw socket) or without the pcap files.
// A second scenario (tests/data/sipp_info_dtmf_uac.xml) sends the keys by SIP INFO instead.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { freeBlock } from "../_ports.ts";
import { skipWhy } from "../_skip.ts";
import { HAVE_SIPP } from "./_sipp.ts";

const DATA = new URL("../data/", import.meta.url).pathname;

const SIPP_PCAPS = "/usr/share/sip-tester";
const PCAPS = ["dtmf_2833_1.pcap", "dtmf_2833_pound.pcap"];

const SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="dtmf to sipecho">
  <send retrans="500"><![CDATA[
INVITE sip:echo@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:echo@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
  <nop><action><exec play_pcap_audio="pcap/${PCAPS[0]}"/></action></nop>
  <pause milliseconds="1000"/>
  <nop><action><exec play_pcap_audio="pcap/${PCAPS[1]}"/></action></nop>
  <pause milliseconds="1000"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`;

/** The command that runs the command line on this runtime. */
function cliCommand(): string[] {
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined && !("Bun" in globalThis)) return [deno.execPath(), "run", "-A", mod];
  return [process.execPath, mod];
}

/** The command line on `port` (UDP), RTP on 8 ports from `rtpLow`, lab profile, JSON log lines. */
function startCli(port: number, rtpLow: number) {
  const [cmd, ...pre] = cliCommand();
  const args = ["--udp", `127.0.0.1:${port}`, "--rtp-ports", `${rtpLow}-${rtpLow + 7}`, "--profile", "lab"];
  const child = spawn(cmd, [...pre, ...args, "--log", "json"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => out += d);
  child.stderr.on("data", (d) => out += d);
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return {
    out: () => out,
    async started() {
      for (let i = 0; i < 100 && !out.includes(String(port)); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(out.includes(String(port)), `the command line did not start: ${out}`);
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

describe("SIPp plays RFC 4733 DTMF to the command line", () => {
  const skip = skipWhy(
    "SIPp DTMF pcap",
    !HAVE_SIPP
      ? "sipp is not installed (Debian package sip-tester; .ci/run installs it)"
      : process.getuid?.() !== 0
      ? "not root: SIPp plays pcap through a raw socket, which needs root"
      : !PCAPS.every((p) => existsSync(`${SIPP_PCAPS}/${p}`))
      ? `SIPp's DTMF pcap files (${PCAPS.join(", ")}) are not in ${SIPP_PCAPS}`
      : false,
  );

  test("the digits SIPp plays are logged, one dtmf event per key press", { skip, timeout: 60_000 }, async () => {
    const base = await freeBlock(16);
    const [sipPort, mediaPort, controlPort, rtpLow] = [base + 5, base, base + 4, base + 6];
    const cliPort = base + 14;
    const dir = mkdtempSync(join(tmpdir(), "sipp-dtmf-"));
    const cli = startCli(cliPort, rtpLow);
    try {
      symlinkSync(SIPP_PCAPS, join(dir, "pcap"));
      writeFileSync(join(dir, "dtmf.xml"), SCENARIO);
      await cli.started();
      const sipp = spawnSync("sipp", [
        `127.0.0.1:${cliPort}`,
        "-sf",
        "dtmf.xml",
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
        "30s",
        "-timeout_error",
      ], { cwd: dir, encoding: "utf8", timeout: 45_000 });
      assert.equal(
        sipp.status,
        0,
        `sipp exited ${sipp.status}: ${sipp.stderr}\n${sipp.stdout?.slice(-2000)}\n${cli.out()}`,
      );
      for (let i = 0; i < 20 && !/"event":"media"/.test(cli.out()); i++) await new Promise((r) => setTimeout(r, 100));
      const dtmf = cli.out().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((e) =>
        e.event === "dtmf"
      );
      assert.deepEqual(dtmf.map((e) => [e.dtmf.digit, e.dtmf.source, e.dtmf.ended]), [["1", "rtp", true], [
        "#",
        "rtp",
        true,
      ]], cli.out());
      assert.ok(dtmf.every((e) => e.dtmf.duration > 0), cli.out());
    } finally {
      await cli.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SIPp sends DTMF by SIP INFO to the command line", () => {
  const skip = skipWhy("SIPp INFO DTMF", HAVE_SIPP ? false : "sipp is not installed (Debian package sip-tester)");

  test("each INFO is answered 200 and its key logged: dtmf-relay 5, dtmf #", { skip, timeout: 60_000 }, async () => {
    const base = await freeBlock(12);
    const [sipPort, controlPort, rtpLow, cliPort] = [base, base + 1, base + 2, base + 10];
    const cli = startCli(cliPort, rtpLow);
    try {
      await cli.started();
      const sipp = spawnSync("sipp", [
        `127.0.0.1:${cliPort}`,
        "-sf",
        join(DATA, "sipp_info_dtmf_uac.xml"),
        "-m",
        "1",
        "-i",
        "127.0.0.1",
        "-p",
        String(sipPort),
        "-cp",
        String(controlPort),
        "-nostdin",
        "-timeout",
        "30s",
        "-timeout_error",
      ], { encoding: "utf8", timeout: 45_000 });
      assert.equal(
        sipp.status,
        0,
        `sipp exited ${sipp.status}: ${sipp.stderr}\n${sipp.stdout?.slice(-2000)}\n${cli.out()}`,
      );
      // The log lines come through a pipe: wait for the second key's (or 5 s).
      const keys = () =>
        cli.out().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((e) =>
          e.event === "dtmf"
        )
          .map((e) => [e.dtmf.digit, e.dtmf.source]);
      for (let i = 0; i < 50 && keys().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(keys(), [["5", "info"], ["#", "info"]], cli.out());
    } finally {
      await cli.stop();
    }
  });
});
