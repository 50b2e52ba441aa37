// Free UDP port blocks for the media tests, found at run time so that parallel runs and other
// programs on the machine do not collide with fixed ports.
import dgram from "node:dgram";

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

/**
 * An even port in 20000-32000 such that it and the `count - 1` ports after it are free on every
 * host given, now.
 */
export async function freeBlock(count: number, hosts: string[] = ["127.0.0.1"]): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const base = 20000 + 2 * Math.floor(Math.random() * ((12000 - count) / 2));
    let ok = true;
    for (let port = base; ok && port < base + count; port++) {
      for (const host of hosts) if (ok) ok = await isFree(port, host);
    }
    if (ok) return base;
  }
  throw new Error(`no ${count} free UDP ports in a row in 20000-32000`);
}
