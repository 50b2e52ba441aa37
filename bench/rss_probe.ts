// Runs the sipecho command line (the arguments are sipecho's) and writes, every 250 ms, where its
// memory is: RSS split into anonymous and file-backed pages (/proc/self/status), V8's heap
// (Deno.memoryUsage) and each V8 space's size/used, MiB. For issue 20 (peak RSS on Deno).
//   RSS_PROBE_OUT=/tmp/probe.log deno run -A bench/rss_probe.ts --stateless --udp 127.0.0.1:7297 --quiet
//   RSS_PROBE_GC=10 deno run -A --v8-flags=--expose-gc bench/rss_probe.ts ...   # a full collection every 10 s first
// Linux only (reads /proc/self/status). Run it under load with ../shared/bench/sipbench.py --server "...".
import v8 from "node:v8";

const out = Deno.env.get("RSS_PROBE_OUT") ?? "rss_probe.log";
const gcEvery = Number(Deno.env.get("RSS_PROBE_GC") ?? 0) * 4;
const gc = (globalThis as { gc?: () => void }).gc;
const file = Deno.openSync(out, { write: true, create: true, truncate: true });
const encoder = new TextEncoder();
const start = performance.now();
const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
const kib = (status: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
let ticks = 0;

setInterval(() => {
  const collected = gcEvery > 0 && gc !== undefined && ++ticks % gcEvery === 0;
  if (collected) gc!();
  const m = Deno.memoryUsage();
  const status = Deno.readTextFileSync("/proc/self/status");
  const spaces = v8.getHeapSpaceStatistics()
    .filter((s) => s.space_size > 0)
    .map((s) => `${s.space_name.replace("_space", "")}=${mib(s.space_size)}/${mib(s.space_used_size)}`);
  const line = [
    ((performance.now() - start) / 1000).toFixed(1),
    collected ? "gc" : "-",
    `rss=${mib(m.rss)}`,
    `anon=${(kib(status, "RssAnon") / 1024).toFixed(1)}`,
    `file=${(kib(status, "RssFile") / 1024).toFixed(1)}`,
    `heapTotal=${mib(m.heapTotal)}`,
    `heapUsed=${mib(m.heapUsed)}`,
    `external=${mib(m.external)}`,
    ...spaces,
  ].join(" ");
  file.writeSync(encoder.encode(line + "\n"));
}, 250);

const { main } = await import("../src/cli/cli.ts");
await main();
