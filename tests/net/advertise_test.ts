// The address put in Contact and SDP: the one given, the bound one, or behind a wildcard bind the
// first interface address that callers on other machines can reach (`chooseAdvertised`).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type BoundAddress, chooseAdvertised } from "../../src/net/listeners.ts";
import { serve } from "../../src/net/serve.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { InterfaceAddress, RuntimeNet, SocketAddress } from "../../src/net/transport.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import type { SipResponse } from "../../src/sip/message.ts";
import { runtime } from "./_serve_clients.ts";

const udp = (address: string): BoundAddress[] => [{ transport: "udp", address, port: 5060 }];
const LAN: InterfaceAddress[] = [
  { name: "lo", address: "127.0.0.1" },
  { name: "lo", address: "::1" },
  { name: "eth0", address: "169.254.10.1" },
  { name: "eth0", address: "fe80::1" },
  { name: "eth0", address: "2001:db8::2" },
  { name: "eth1", address: "192.0.2.2" },
  { name: "eth1", address: "198.51.100.2" },
];

describe("chooseAdvertised()", () => {
  test("the address given wins, brackets off", () => {
    assert.deepEqual(chooseAdvertised(udp("0.0.0.0"), LAN, "[2001:db8::9]"), { address: "2001:db8::9", why: "given" });
    assert.deepEqual(chooseAdvertised(udp("127.0.0.1"), LAN, "192.0.2.9"), { address: "192.0.2.9", why: "given" });
  });

  test("a specific bound address is advertised as it is", () => {
    assert.deepEqual(chooseAdvertised(udp("192.0.2.2"), LAN), { address: "192.0.2.2", why: "bound" });
    assert.deepEqual(chooseAdvertised(udp("::1"), LAN), { address: "::1", why: "bound" });
  });

  test("0.0.0.0: the first IPv4 interface address that is neither loopback nor link-local", () => {
    assert.deepEqual(chooseAdvertised(udp("0.0.0.0"), LAN), { address: "192.0.2.2", why: "interface", name: "eth1" });
  });

  test(":: the first IPv6 one that is neither loopback nor link-local, else an IPv4 one", () => {
    assert.deepEqual(chooseAdvertised(udp("::"), LAN), { address: "2001:db8::2", why: "interface", name: "eth0" });
    const v4 = LAN.filter((i) => !i.address.includes(":") || i.address === "::1");
    assert.deepEqual(chooseAdvertised(udp("::"), v4), { address: "192.0.2.2", why: "interface", name: "eth1" });
  });

  test("only loopback (or link-local), or no list from the runtime: 127.0.0.1, said to be loopback", () => {
    const loopback = LAN.filter((i) => i.name === "lo" || i.address.startsWith("169.254.") || i.address === "fe80::1");
    assert.deepEqual(chooseAdvertised(udp("0.0.0.0"), loopback), { address: "127.0.0.1", why: "loopback" });
    assert.deepEqual(chooseAdvertised(udp("::"), []), { address: "127.0.0.1", why: "loopback" });
    assert.deepEqual(chooseAdvertised(udp("0.0.0.0"), undefined), { address: "127.0.0.1", why: "loopback" });
  });
});

/** A UDP-only shim in memory, listing `interfaces` when given; what it sent is in `sent`. */
function memoryNet(interfaces: InterfaceAddress[] | undefined) {
  let deliver: (data: Uint8Array, from: SocketAddress) => void = () => {};
  const sent: Uint8Array[] = [];
  const net: RuntimeNet = {
    name: "memory",
    listenDatagram(options, onData) {
      deliver = onData;
      return Promise.resolve({
        local: { address: options.hostname, port: 5060 },
        send: (d) => void sent.push(d),
        close() {},
      });
    },
    listenStream: () => Promise.reject(new Error("no TCP here")),
    ...(interfaces === undefined ? {} : { networkInterfaces: () => interfaces }),
  };
  return {
    net,
    sent,
    deliver: (text: string) => deliver(new TextEncoder().encode(text), { address: "192.0.2.9", port: 5060 }),
  };
}

const INVITE = "INVITE sip:echo@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
  "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.2>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n" +
  "Content-Type: application/sdp\r\nContent-Length: 67\r\n\r\n" +
  "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

describe("serve() behind a wildcard bind", () => {
  test("advertises the first interface address in Contact, SDP and uri()", async () => {
    const { net, sent, deliver } = memoryNet(LAN);
    await using server = await serve({ net, listen: [{ transport: "udp", hostname: "0.0.0.0", port: 5060 }] });
    assert.deepEqual(server.advertised, { address: "192.0.2.2", why: "interface", name: "eth1" });
    assert.equal(server.uri("echo"), "sip:echo@192.0.2.2:5060");
    deliver(INVITE.replace("Content-Length: 67", `Content-Length: ${INVITE.split("\r\n\r\n")[1].length}`));
    const ok = sent.map((d) => parseMessage(d) as SipResponse).find((m) => m.status === 200);
    assert.ok(ok !== undefined, "a 200 OK");
    assert.match(ok.headers.get("Contact") ?? "", /^<sip:echo@192\.0\.2\.2:5060>/);
    assert.match(ok.bodyText, /^c=IN IP4 192\.0\.2\.2$/m);
  });

  test("--advertise (advertise) still wins; a shim that lists no interfaces gives 127.0.0.1", async () => {
    {
      const { net } = memoryNet(LAN);
      const listen = [{ transport: "udp" as const, hostname: "0.0.0.0", port: 5060 }];
      await using server = await serve({ net, listen, advertise: "198.51.100.7" });
      assert.deepEqual(server.advertised, { address: "198.51.100.7", why: "given" });
      assert.equal(server.uri("echo"), "sip:echo@198.51.100.7:5060");
    }
    const { net } = memoryNet(undefined);
    await using server = await serve({ net, listen: [{ transport: "udp", hostname: "0.0.0.0", port: 5060 }] });
    assert.deepEqual(server.advertised, { address: "127.0.0.1", why: "loopback" });
  });
});

test(`the ${runtime} shim lists the interface addresses, loopback among them`, async () => {
  const net = await detectRuntime();
  const list = net.networkInterfaces?.();
  assert.ok(list !== undefined, "networkInterfaces() is implemented");
  assert.ok(list.some((i) => i.address === "127.0.0.1"), JSON.stringify(list));
  for (const i of list) {
    assert.equal(typeof i.name, "string");
    assert.ok(!i.address.includes("%") && !i.address.includes("["), i.address);
  }
});
