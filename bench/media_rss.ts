// Resident memory of the RTP echo per stream: reserves N streams (an RTP and an RTCP socket
// each, bound and read as for a call), waits for the binds and for the runtime to settle, and
// prints the process RSS before and after, and per stream, as one JSON line. Runs on both
// runtimes: `deno run -A bench/media_rss.ts 2000`, `bun bench/media_rss.ts 2000`.
import process from "node:process";
import { MediaEcho } from "../src/media/echo.ts";
import { detectRuntime } from "../src/net/runtime/detect.ts";

const streams = Number(process.argv.at(-1)) || 2000;
const mib = (bytes: number) => Math.round(bytes / 1048576 * 10) / 10;
const net = await detectRuntime();
const echo = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [30000, 39999], inactivityTimeout: 0 });
await new Promise((resolve) => setTimeout(resolve, 500));
const before = process.memoryUsage().rss;
let refused = 0;
for (let i = 0; i < streams; i++) if (echo.reserve(`c${i}`, 0, {}) === undefined) refused++;
await new Promise((resolve) => setTimeout(resolve, 2000));
const after = process.memoryUsage().rss;
console.log(JSON.stringify({
  runtime: net.name,
  streams,
  refused,
  rssBeforeMiB: mib(before),
  rssAfterMiB: mib(after),
  kibPerStream: Math.round((after - before) / 1024 / (streams - refused) * 10) / 10,
}));
await echo.closeAll();
