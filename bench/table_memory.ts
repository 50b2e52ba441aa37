// What one entry of each of the peer's tables costs in memory, measured in the pure SipPeer
// (no sockets): `deno run -A --v8-flags=--expose-gc bench/table_memory.ts [N]`,
// `bun bench/table_memory.ts [N]`. For each table, N entries are made by SIPp-like requests from
// distinct sources, a full collection runs, and the growth of the live heap is divided by N.
// These are the per-entry figures behind the memory bound in docs/limits.md.
import process from "node:process";
import { SipPeer } from "../mod.ts";
import { SourceGuard } from "../src/ua/mod.ts";

const n = Number(process.argv[2] ?? 20000);
const enc = new TextEncoder();
const sdp = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

function invite(i: number, user: string, pad = 0): Uint8Array {
  const body = sdp;
  return enc.encode(
    `INVITE sip:${user}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-${i}-1-0\r\n` +
      `From: sipp <sip:sipp@10.0.0.1:5061>;tag=${i}SIPpTag001\r\nTo: service <sip:${user}@127.0.0.1:5060>\r\n` +
      `Call-ID: ${i}-1@10.0.0.1\r\nCSeq: 1 INVITE\r\nContact: sip:sipp@10.0.0.1:5061\r\nMax-Forwards: 70\r\n` +
      (pad > 0 ? `X-Pad: ${"p".repeat(pad)}\r\n` : "") +
      `Subject: Performance Test\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

function ack(i: number, toTag: string): Uint8Array {
  return enc.encode(
    `ACK sip:echo@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-${i}-1-5\r\n` +
      `From: sipp <sip:sipp@10.0.0.1:5061>;tag=${i}SIPpTag001\r\nTo: service <sip:echo@127.0.0.1:5060>;tag=${toTag}\r\n` +
      `Call-ID: ${i}-1@10.0.0.1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
  );
}

function bye(i: number, toTag: string): Uint8Array {
  return enc.encode(
    `BYE sip:echo@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-${i}-1-7\r\n` +
      `From: sipp <sip:sipp@10.0.0.1:5061>;tag=${i}SIPpTag001\r\nTo: service <sip:echo@127.0.0.1:5060>;tag=${toTag}\r\n` +
      `Call-ID: ${i}-1@10.0.0.1\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
  );
}

function register(i: number): Uint8Array {
  return enc.encode(
    `REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-r${i}\r\n` +
      `From: <sip:user${i}@example.com>;tag=r${i}\r\nTo: <sip:user${i}@example.com>\r\nCall-ID: reg-${i}\r\n` +
      `CSeq: 1 REGISTER\r\nContact: <sip:user${i}@10.0.0.1:5061>\r\nExpires: 3600\r\nMax-Forwards: 70\r\n` +
      `Content-Length: 0\r\n\r\n`,
  );
}

const dec = new TextDecoder();
function toTag(data: Uint8Array): string {
  return /\r\nTo:[^\r]*;tag=([^;\r]+)/.exec(dec.decode(data))![1];
}

const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
const gcFn = bun ? () => bun.gc(true) : (globalThis as { gc?: () => void }).gc;
if (gcFn === undefined) {
  console.error("run Deno with --v8-flags=--expose-gc (a full collection is needed before each reading)");
  process.exit(2);
}
const gc = gcFn;
function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Makes a fresh peer, runs `fill`, and reports the live heap growth per entry. */
function measure(name: string, fill: (peer: SipPeer) => number): void {
  const peer = new SipPeer({ limits: { transactions: 1e7, pending: 1e7, dialogs: 1e7, bindings: 1e7 } });
  const before = heap();
  const entries = fill(peer);
  const after = heap();
  console.log(JSON.stringify({ table: name, entries, bytesPerEntry: Math.round((after - before) / entries) }));
  // Kept alive until measured.
  if (peer.dialogs.length < 0) console.log(peer);
}

const remote = (i: number) => ({
  address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  port: 5061,
  transport: "udp" as const,
});

// An INVITE answered at once and waiting for its ACK (before its first retransmission).
measure("pending INVITE, 200 sent, before Timer G", (peer) => {
  for (let i = 0; i < n; i++) peer.receive(invite(i, "echo"), remote(i), 0);
  return n;
});
// The same after its first retransmission: compacted.
measure("pending INVITE, 200 sent, after Timer G (compacted)", (peer) => {
  for (let i = 0; i < n; i++) peer.receive(invite(i, "echo"), remote(i), 0);
  peer.tick(600);
  return n;
});
// A held INVITE (noanswer: 180, no final): compacted at once; with a 60 KB padding header too.
measure("pending INVITE to noanswer@ (compacted)", (peer) => {
  for (let i = 0; i < n; i++) peer.receive(invite(i, "noanswer"), remote(i), 0);
  return n;
});
measure("pending INVITE to noanswer@ with a 60,000-byte header (compacted)", (peer) => {
  const m = Math.min(n, 2000);
  for (let i = 0; i < m; i++) peer.receive(invite(i, "noanswer", 60000), remote(i), 0);
  return m;
});
// A confirmed dialog (ACKed, no BYE) and its INVITE's tombstone (Timer L).
measure("confirmed dialog + INVITE tombstone", (peer) => {
  for (let i = 0; i < n; i++) {
    const out = peer.receive(invite(i, "echo"), remote(i), 0);
    peer.receive(ack(i, toTag(out[out.length - 1].data)), remote(i), 1);
  }
  return n;
});
// A call done (INVITE, ACK, BYE): the tombstones of its INVITE (Timer L) and BYE (Timer J).
measure("finished call: 2 tombstones", (peer) => {
  for (let i = 0; i < n; i++) {
    const out = peer.receive(invite(i, "echo"), remote(i), 0);
    const tag = toTag(out[out.length - 1].data);
    peer.receive(ack(i, tag), remote(i), 1);
    peer.receive(bye(i, tag), remote(i), 2);
  }
  return n;
});
// A registrar binding and its REGISTER's tombstone (Timer J).
measure("binding + REGISTER tombstone", (peer) => {
  for (let i = 0; i < n; i++) peer.receive(register(i), remote(i), 0);
  return n;
});
// A source's record in the guard (rate limit, budget, shares).
{
  const guard = new SourceGuard({ sources: 1e7 });
  const before = heap();
  for (let i = 0; i < n; i++) guard.source(remote(i).address, 0);
  const after = heap();
  console.log(
    JSON.stringify({ table: "guard source record", entries: n, bytesPerEntry: Math.round((after - before) / n) }),
  );
  if (guard.size < 0) console.log(guard);
}
