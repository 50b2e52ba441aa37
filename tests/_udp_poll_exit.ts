// Run by deno_udp_poll_test.ts as a child process: polled UDP sockets exchange datagrams and are
// closed, once while the reactor looks on its timer and once while it waits in epoll_wait() off
// the main thread; their close() is not awaited. The process must then exit by itself: a timer,
// a waiting FFI call or a descriptor the reactor left would keep it running.
import { _reactorState, listenPolledDatagram } from "../src/net/runtime/deno_udp_poll.ts";
import type { DatagramEndpoint } from "../src/net/transport.ts";

const SOCKETS = 50;

async function exchange(): Promise<DatagramEndpoint[]> {
  let answered = 0;
  const { promise, resolve } = Promise.withResolvers<void>();
  const sockets: DatagramEndpoint[] = [];
  for (let i = 0; i < SOCKETS; i++) {
    const socket = listenPolledDatagram({ hostname: "127.0.0.1", port: 0 }, (data, from) => {
      if (data[0] === 1) socket.send(new Uint8Array([2]), from);
      else if (++answered === SOCKETS - 1) resolve();
    }, (e) => console.error(e))!;
    if (socket === undefined) throw new Error("the polled path is not available (Linux and -A needed)");
    sockets.push(socket);
  }
  for (const to of sockets.slice(1)) sockets[0].send(new Uint8Array([1]), to.local);
  const timer = setTimeout(() => {
    console.error("no answers");
    Deno.exit(1);
  }, 2000);
  await promise;
  clearTimeout(timer);
  return sockets;
}

for (const socket of await exchange()) socket.close();
if (_reactorState() !== "none") throw new Error(`closed while looking, the reactor is ${_reactorState()}`);

const sockets = await exchange();
while (_reactorState() !== "waiting") await new Promise((resolve) => setTimeout(resolve, 5));
for (const socket of sockets) socket.close();
console.log(`exchanged on ${SOCKETS} polled sockets twice, closed while looking and while waiting`);
