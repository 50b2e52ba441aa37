// In-memory cost of one call through the pure SipPeer (INVITE, ACK, BYE from a SIPp-like UAC),
// without sockets: `deno run -A bench/peer_bench.ts [calls] [cps] [--stateless] [--guard]`,
// `bun bench/peer_bench.ts`. `--guard` gives the peer the public edge limits (rate limit and
// shares lifted, as for a known load generator): the cost of the per-source accounting.
// Reports µs per call and heap growth (live after a collection: always on Bun, on Deno with
// `--v8-flags=--expose-gc`); the clock advances as at the given call rate, so the
// transaction tables fill as they would on the wire.
import process from "node:process";
import { EDGE_PUBLIC, SipPeer } from "../mod.ts";
import { SourceGuard } from "../src/ua/mod.ts";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const stateless = process.argv.includes("--stateless");
const guarded = process.argv.includes("--guard");
const calls = Number(args[0] ?? 25000);
const cps = Number(args[1] ?? 2500);
const enc = new TextEncoder();
const sdp = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

function invite(i: number): Uint8Array {
  return enc.encode(
    `INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-${i}-1-0\r\n` +
      `From: sipp <sip:sipp@127.0.0.1:5061>;tag=${i}SIPpTag001\r\nTo: service <sip:service@127.0.0.1:5060>\r\n` +
      `Call-ID: ${i}-1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: sip:sipp@127.0.0.1:5061\r\nMax-Forwards: 70\r\n` +
      `Subject: Performance Test\r\nContent-Type: application/sdp\r\nContent-Length:   ${sdp.length}\r\n\r\n${sdp}`,
  );
}
/** An in-dialog request of call `i` as SIPp's uac sends it: ACK (CSeq 1, branch -5) or BYE (CSeq 2, branch -7). */
function inDialog(method: "ACK" | "BYE", i: number, toTag: string): Uint8Array {
  const [seq, branch] = method === "ACK" ? [1, 5] : [2, 7];
  return enc.encode(
    `${method} sip:service@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-${i}-1-${branch}\r\n` +
      `From: sipp <sip:sipp@127.0.0.1:5061>;tag=${i}SIPpTag001\r\nTo: service <sip:service@127.0.0.1:5060>;tag=${toTag}\r\n` +
      `Call-ID: ${i}-1@127.0.0.1\r\nCSeq: ${seq} ${method}\r\nContact: sip:sipp@127.0.0.1:5061\r\nMax-Forwards: 70\r\n` +
      `Subject: Performance Test\r\nContent-Length: 0\r\n\r\n`,
  );
}

// The To tag of the 200, read from the wire bytes as SIPp reads it (the peer builds no
// SipResponse unless `message` is asked for).
const dec = new TextDecoder();
function toTag(data: Uint8Array): string {
  return /\r\nTo:[^\r]*;tag=([^;\r]+)/.exec(dec.decode(data))![1];
}

const guard = guarded ? new SourceGuard({ ...EDGE_PUBLIC, rate: Infinity, burst: Infinity, share: 1 }) : undefined;
const peer = new SipPeer({ limits: { transactions: 1e6, pending: 1e6, dialogs: 1e6 }, stateless, guard });
const remote = { address: "127.0.0.1", port: 5061, transport: "udp" as const };
// A full collection: Bun.gc(true) on Bun, gc() on Deno with --v8-flags=--expose-gc.
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
const gc = bun ? () => bun.gc(true) : (globalThis as { gc?: () => void }).gc;
gc?.();
const heap0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
let sent = 0;
for (let i = 0; i < calls; i++) {
  const at = (i * 1000) / cps;
  const out = peer.receive(invite(i), remote, at);
  sent += out.length;
  const tag = toTag(out[out.length - 1].data);
  sent += peer.receive(inDialog("ACK", i, tag), remote, at + 0.5).length;
  sent += peer.receive(inDialog("BYE", i, tag), remote, at + 1).length;
  sent += peer.tick(at + 1).length;
}
const t1 = performance.now();
gc?.();
const heap1 = process.memoryUsage().heapUsed;
console.log(
  JSON.stringify({
    calls,
    sent,
    us_per_call: +((t1 - t0) * 1000 / calls).toFixed(1),
    heap_growth_mib: +((heap1 - heap0) / 1048576).toFixed(1),
    transactions: peer.transactions.length,
    dialogs: peer.dialogs.length,
  }),
);
