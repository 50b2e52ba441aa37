// Run by uac_connect_test.ts as a child process: a mock peer calls a server over connections
// it opens (TCP and WebSocket), then both close. The process must then exit by itself: a
// connection, timer or pending read or connect left open would keep it running.
import { mockPeer } from "../src/testing/mock.ts";
import { serve } from "../src/net/serve.ts";

const TIMEOUT = 2000;

function bounded<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`no ${what}`)), TIMEOUT)),
  ]).finally(() => clearTimeout(timer));
}

const sut = await bounded(
  "server",
  serve({
    listen: [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }, { transport: "ws", hostname: "127.0.0.1", port: 0 }],
  }),
);
const peer = await bounded("mock", mockPeer({ transport: ["tcp", "ws"] }));
for (const transport of ["tcp", "ws"] as const) {
  const call = await bounded(
    `${transport} INVITE`,
    peer.request({ method: "INVITE", uri: sut.uri("echo", transport), sdp: true }),
  );
  if (call.status !== 200) throw new Error(`${transport}: ${call.status}`);
  if ((await bounded(`${transport} BYE`, call.bye())).status !== 200) throw new Error(`${transport}: BYE failed`);
}
// A connect still pending at close() must not keep the process alive either (192.0.2.1 is
// TEST-NET-1: a connection there hangs or fails, either way close() gives up on it).
const pending = peer.request({ method: "OPTIONS", uri: "sip:x@192.0.2.1:5060;transport=tcp" }).catch(() => {});
await bounded("mock close", peer.close());
await pending;
await bounded("server close", sut.close());
console.log("called over tcp and ws, closed");
