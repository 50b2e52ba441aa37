// The bare floor of ../shared/bench/limit/respond.mjs (a canned 200 OK per request, the Via,
// From, To, Call-ID and CSeq copied, nothing for ACK or responses), but on the polled UDP
// socket of the Deno shim (src/runtime/deno_udp_poll.ts) instead of Deno.listenDatagram: what
// that path costs a responder that does nothing else. `deno run -A bench/floor_poll.ts PORT`;
// bench/wire_bench.py runs it as "floor-deno-poll".
import { listenPolledDatagram } from "../src/net/runtime/deno_udp_poll.ts";

const port = Number(Deno.args[0] ?? 5107);
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const COPIED = new Set(["via", "v", "from", "f", "call-id", "i", "cseq"]);

function answer(data: Uint8Array): Uint8Array | undefined {
  const lines = decoder.decode(data).split("\r\n");
  const method = lines[0].slice(0, lines[0].indexOf(" "));
  if (method === "ACK" || method === "SIP/2.0") return undefined;
  const head = ["SIP/2.0 200 OK"];
  for (let i = 1; i < lines.length && lines[i] !== ""; i++) {
    const line = lines[i];
    const name = line.slice(0, line.indexOf(":")).trim().toLowerCase();
    if (COPIED.has(name)) head.push(line);
    else if (name === "to" || name === "t") head.push(line.includes("tag=") ? line : `${line};tag=floor`);
  }
  head.push("Contact: <sip:floor@127.0.0.1>", "Content-Length: 0", "", "");
  return encoder.encode(head.join("\r\n"));
}

const endpoint = listenPolledDatagram({ hostname: "127.0.0.1", port, poll: true }, (data, from) => {
  const response = answer(data);
  if (response !== undefined) endpoint!.send(response, from);
}, (e) => console.error(e));
if (endpoint === undefined) throw new Error("the polled UDP path is not available here (Linux and -A needed)");
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
