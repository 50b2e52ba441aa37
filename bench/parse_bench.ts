// Parse throughput: parseMessage against the `sip` and `jssip` npm parsers, in whichever
// runtime runs this file, on the realistic corpus in bench/corpus.
//
//   npm install --prefix bench && deno run -A bench/parse_bench.ts   (or: deno task bench)
//   npm install --prefix bench && bun bench/parse_bench.ts
//
// Each round parses every corpus message from its wire bytes (decode + parse, as a server
// must); the figure is the median of 7 rounds after a warm-up. Quote ratios, not absolutes:
// the machines are shared and noisy.
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { parseMessage } from "../mod.ts";

const here = new URL(".", import.meta.url);
const require = createRequire(new URL("package.json", here));
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
const corpusDir = new URL("corpus/", here);
const corpus = readdirSync(corpusDir).filter((f) => f.endsWith(".sip")).sort()
  .map((f) => new Uint8Array(readFileSync(new URL(f, corpusDir))));
const latin1 = new TextDecoder("latin1");

type Parser = (bytes: Uint8Array) => unknown;
const parsers: Record<string, Parser> = {};
try {
  const sip = require("sip") as { parse(text: string): unknown };
  parsers["npm:sip@0.0.6"] = (b) => sip.parse(latin1.decode(b));
  const jssip = require("jssip/lib/Parser.js") as { parseMessage(text: string, ua: unknown): unknown };
  parsers["npm:jssip@3.13.8"] = (b) => jssip.parseMessage(latin1.decode(b), {});
} catch (e) {
  throw new Error("peer parsers missing: run `npm install --prefix bench` first", { cause: e });
}
parsers["sipecho parseMessage"] = (b) => parseMessage(b);

function round(fn: Parser, iterations: number): number {
  const t0 = performance.now();
  let parsed = 0;
  for (let i = 0; i < iterations; i++) for (const bytes of corpus) if (fn(bytes)) parsed++;
  const seconds = (performance.now() - t0) / 1000;
  if (parsed !== iterations * corpus.length) throw new Error("a parser rejected a corpus message");
  return parsed / seconds;
}

const results: Record<string, number> = {};
for (const [name, fn] of Object.entries(parsers)) {
  round(fn, 2000);
  const rates = Array.from({ length: 7 }, () => round(fn, 3000)).sort((a, b) => a - b);
  results[name] = rates[3];
}
const reference = results["npm:sip@0.0.6"];
console.log(`parse throughput on ${runtime}, ${corpus.length} corpus messages, median of 7 rounds`);
for (const [name, rate] of Object.entries(results)) {
  const ratio = reference ? ` ${(rate / reference).toFixed(2)}x npm:sip` : "";
  console.log(`${name.padEnd(24)} ${Math.round(rate).toLocaleString("en-US").padStart(12)} msgs/s${ratio}`);
}
