// Parse throughput: parseMessage against the `sip` and `jssip` npm parsers, in whichever
// runtime runs this file, on the realistic corpus in bench/corpus.
//
//   npm install --prefix bench && deno run -A bench/parse_bench.ts   (or: deno task bench)
//   npm install --prefix bench && bun bench/parse_bench.ts [rounds]
//
// Each round parses every corpus message from its wire bytes (decode + parse, as a server
// must), for about 40 ms per parser. The parsers take turns within each round, in an order that
// rotates from round to round, so that a slow spell of the shared machine falls on all of them
// alike; the ratio against npm:sip is taken round by round and the figure is its median (with
// the quartiles). Every parser is warmed up first, past the point where Bun has compiled the
// parser's once-per-message functions to its fastest tier.
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { parseMessage } from "../mod.ts";

const here = new URL(".", import.meta.url);
const require = createRequire(new URL("package.json", here));
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
const corpusDir = new URL("corpus/", here);
const corpus = readdirSync(corpusDir).filter((f) => f.endsWith(".sip")).sort()
  .map((f) => new Uint8Array(readFileSync(new URL(f, corpusDir))));
const latin1 = new TextDecoder("latin1");
const ROUNDS = Number(process.argv[2] ?? 15);
const SLICE_MS = 40;
const REFERENCE = "npm:sip@0.0.6";

type Parser = (bytes: Uint8Array) => unknown;
const parsers: Record<string, Parser> = {};
try {
  const sip = require("sip") as { parse(text: string): unknown };
  parsers[REFERENCE] = (b) => sip.parse(latin1.decode(b));
  const jssip = require("jssip/lib/Parser.js") as { parseMessage(text: string, ua: unknown): unknown };
  parsers["npm:jssip@3.13.8"] = (b) => jssip.parseMessage(latin1.decode(b), {});
} catch (e) {
  throw new Error("peer parsers missing: run `npm install --prefix bench` first", { cause: e });
}
parsers["sipecho parseMessage"] = (b) => parseMessage(b);

/** Parses the corpus `passes` times; messages per second. */
function round(fn: Parser, passes: number): number {
  const t0 = performance.now();
  let parsed = 0;
  for (let i = 0; i < passes; i++) for (const bytes of corpus) if (fn(bytes)) parsed++;
  const seconds = (performance.now() - t0) / 1000;
  if (parsed !== passes * corpus.length) throw new Error("a parser rejected a corpus message");
  return parsed / seconds;
}

// Warm-up: 150,000 messages or one second, whichever comes first (Bun reaches its fastest tier
// for the once-per-message functions after 50,000-100,000 messages), then each parser's slice of
// a round is sized from its rate.
const names = Object.keys(parsers);
const passes: Record<string, number> = {};
for (const name of names) {
  const fn = parsers[name];
  const t0 = performance.now();
  let step = 10; // passes over the corpus per warm-up round, resized to about 10 ms each time
  for (let parsed = 0; parsed < 150_000 && performance.now() - t0 < 1000;) {
    const rate = round(fn, step);
    parsed += step * corpus.length;
    step = Math.max(10, Math.round(rate * 0.01 / corpus.length));
  }
  const rate = round(fn, step * 5);
  passes[name] = Math.max(1, Math.round(rate * SLICE_MS / 1000 / corpus.length));
}

const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const ratios: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  const now: Record<string, number> = {};
  for (let k = 0; k < names.length; k++) {
    const name = names[(r + k) % names.length];
    now[name] = round(parsers[name], passes[name]);
  }
  for (const name of names) {
    rates[name].push(now[name]);
    ratios[name].push(now[name] / now[REFERENCE]);
  }
}

const at = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.round((values.length - 1) * q)];
const count = (n: number) => Math.round(n).toLocaleString("en-US").padStart(11);
console.log(
  `parse throughput on ${runtime}, ${corpus.length} corpus messages, ${ROUNDS} rounds of ~${SLICE_MS} ms per parser, ` +
    `turns rotating; ratio to npm:sip per round: median (quartiles)`,
);
for (const name of names) {
  const ratio = name === REFERENCE
    ? ""
    : ` ${at(ratios[name], 0.5).toFixed(2)}x npm:sip (${at(ratios[name], 0.25).toFixed(2)}-${
      at(ratios[name], 0.75).toFixed(2)
    })`;
  console.log(`${name.padEnd(22)} ${count(at(rates[name], 0.5))} msgs/s${ratio}`);
}
