// The RTP echo alone, for bench/rtp_echo_bench.py: opens one call with N streams on the ports from
// BASE, waits for the load to start, then prints the CPU per echoed packet over SECONDS and the
// process's peak RSS as one JSON line. `deno run -A bench/rtp_echo_server.ts ROOT N BASE SECONDS`
// (or `bun ...`), ROOT being the sipecho tree to measure (another checkout, to compare).
import process from "node:process";
import { readFileSync } from "node:fs";

const [root, streams, base, seconds] = process.argv.slice(2).map((a, i) => i === 0 ? a : Number(a)) as [
  string,
  number,
  number,
  number,
];
const { MediaEcho } = await import(`${root}/src/media/echo.ts`);
const { detectRuntime } = await import(`${root}/src/net/runtime/detect.ts`);
const net = await detectRuntime();
const echo = new MediaEcho({
  net,
  hostname: "127.0.0.1",
  portRange: [base, base + 2 * streams - 1],
  inactivityTimeout: 0,
});
const opened = await echo.open(
  "load",
  Array.from({ length: streams }, (_, index) => ({ index, rtcpMux: false })),
);
if (!opened.ok) throw new Error("the streams could not be opened");
console.log("ready");
while ((echo.stats("load")?.packetsIn ?? 0) < 1000) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const before = echo.stats("load")!.packetsOut;
const cpu = process.cpuUsage();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const used = process.cpuUsage(cpu);
const packets = echo.stats("load")!.packetsOut - before;
// VmHWM: the most resident memory the process has had (proc(5)).
const peak = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))
  ?.[1];
console.log(JSON.stringify({
  runtime: net.name,
  packets,
  usPerPacket: Math.round((used.user + used.system) / packets * 100) / 100,
  peakRssMiB: peak === undefined ? undefined : Math.round(Number(peak) / 1024),
}));
await echo.closeAll();
process.exit(0);
