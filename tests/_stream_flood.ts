// A TCP client in a process of its own, for the backpressure tests of edge_test.ts: an attacker
// on another machine does not share the server's event loop, and writes as fast as the
// connection takes bytes. It connects from FROM to 127.0.0.1:PORT, never reads, and writes for
// MS milliseconds: `pings` writes MB megabytes of RFC 5626 double-CRLF keep-alives at once, then a
// megabyte more whenever the connection has taken the last; `wspings` the same with WebSocket
// pings (RFC 6455 §5.5.2, masked, empty) after a WebSocket handshake; `options` writes OPTIONS
// requests, 100 to a write, each time the connection has taken the last. It prints `writing` once
// connected, `done BYTES` when it stops writing, then stays connected (reading nothing) until it
// is killed.
//
//   deno run -A tests/_stream_flood.ts pings|wspings|options FROM PORT MS MB
import net from "node:net";
import process from "node:process";

const [mode, from, portText, msText, mbText] = process.argv.slice(2);
const port = Number(portText);
const ms = Number(msText);
const socket = net.connect({ host: "127.0.0.1", port, localAddress: from });
socket.on("error", () => {});
await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
if (mode === "wspings") {
  socket.write(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
  );
  // The 101 (read, so that the server's answer is not what backs up).
  await new Promise<void>((resolve) => socket.once("data", () => resolve()));
}
socket.pause();
process.stdout.write("writing\n");

/** `mb` megabytes (about) of keep-alives: double CRLFs, or masked WebSocket pings of 6 bytes. */
function pings(mb: number): Uint8Array {
  const ping = mode === "wspings" ? [0x89, 0x80, 1, 2, 3, 4] : [13, 10];
  const length = mb * 1024 * 1024;
  return new Uint8Array(length - length % ping.length).map((_, i) => ping[i % ping.length]);
}

let n = 0;
function options(): string {
  let text = "";
  for (let i = 0; i < 100; i++, n++) {
    text += `OPTIONS sip:echo@127.0.0.1:${port};transport=tcp SIP/2.0\r\n` +
      `Via: SIP/2.0/TCP ${from}:${socket.localPort};branch=z9hG4bK-flood-${n}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:flood@${from}>;tag=f1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: flood-${n}\r\n` +
      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  }
  return text;
}

let wake: (() => void) | undefined;
socket.on("drain", () => wake?.());
const start = Date.now();
const more = pings(1);
let taken = socket.write(mode === "options" ? options() : pings(Number(mbText)));
while (Date.now() - start < ms) {
  if (!taken) {
    // Until the connection takes more, for what is left of the time.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, ms - (Date.now() - start)));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
    if (socket.writableLength > 0) continue;
  }
  taken = socket.write(mode === "options" ? options() : more);
}
process.stdout.write(`done ${socket.bytesWritten}\n`);
// Connected, reading nothing, until killed.
setInterval(() => {}, 60_000);
