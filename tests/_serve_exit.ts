// Run by serve_test.ts as a child process: serve() on every transport and both loopback
// addresses, one exchange on each, a failed serve() on ports in use, then close(). The process
// must then exit by itself: a socket, timer or pending read left open would keep it running.
import dgram from "node:dgram";
import net from "node:net";
import { serve } from "../src/net/serve.ts";

const encoder = new TextEncoder();
const TIMEOUT = 2000;

function options(host: string, port: number, transport: string, sentBy: string, id: string): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return `OPTIONS sip:echo@${h}:${port} SIP/2.0\r\nVia: SIP/2.0/${transport} ${sentBy};branch=z9hG4bK-${id}\r\n` +
    `From: <sip:a@example.com>;tag=1\r\nTo: <sip:echo@${h}>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\n` +
    "Content-Length: 0\r\n\r\n";
}

function bounded<T>(what: string, run: (done: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what}`)), TIMEOUT);
    run((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

for (const host of ["127.0.0.1", "::1"]) {
  const h = host.includes(":") ? `[${host}]` : host;
  // OPTIONS leaves transactions whose timers (Timer J) must not outlive close().
  const server = await serve({
    listen: ["udp", "tcp", "ws"].map((t) => ({ transport: t as "udp" | "tcp" | "ws", hostname: host, port: 0 })),
    connections: { idleTimeout: 60_000 },
  });
  const [udp, tcp, ws] = server.addresses.map((a) => a.port);

  const u = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  await bounded<void>("UDP bind", (done) => u.bind(0, host, () => done()));
  await bounded<void>("UDP answer", (done) => {
    u.once("message", () => done());
    u.send(encoder.encode(options(host, udp, "UDP", `${h}:${u.address().port}`, "exit-udp")), udp, host);
  });
  u.close();

  // The TCP and WebSocket connections stay open: close() must close them.
  const t = net.connect({ host, port: tcp });
  const tClosed = bounded<void>("TCP close", (done) => t.on("close", () => done()));
  t.on("error", () => {});
  await bounded<void>("TCP answer", (done) => {
    t.once("data", () => done());
    t.write(options(host, tcp, "TCP", `${h}:9`, "exit-tcp"));
  });

  const w = new WebSocket(`ws://${h}:${ws}/`, ["sip"]);
  const wClosed = bounded<void>("WebSocket close", (done) => w.addEventListener("close", () => done()));
  await bounded<void>("WebSocket answer", (done) => {
    w.addEventListener("message", () => done(), { once: true });
    w.addEventListener("open", () => w.send(options(host, ws, "WS", "x.invalid", "exit-ws")), { once: true });
  });

  // A second server on the same ports fails, and closes what it had opened before failing.
  for (const taken of server.addresses) {
    const failed = await serve({
      listen: [
        { transport: "udp", hostname: host, port: 0 },
        { transport: taken.transport, hostname: host, port: taken.port },
      ],
    }).then(() => "listening", (e: { code?: string }) => e.code);
    if (failed !== "EADDRINUSE") throw new Error(`${taken.transport} port in use: ${failed}`);
  }

  await server.close();
  await tClosed;
  await wClosed;
}
console.log("served udp tcp ws on 127.0.0.1 and ::1, closed");
