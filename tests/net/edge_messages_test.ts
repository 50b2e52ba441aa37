// serve() at the edge (its public limits, the default) on real loopback sockets: where a UDP
// response goes when the Via names somewhere else, oversized messages, and dialogs left idle.
// Each test checks that a second, well-behaved client on another source address is still served
// (the peers and their addresses are in _edge_peers.ts). Every port is picked by the system (port
// 0); every wait is bounded; no test asserts a duration, only outcomes within generous bounds;
// every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { SipRequest, SipResponse } from "../../src/sip/message.ts";
import { sleep } from "../_wait.ts";
import {
  ATTACKER,
  encoder,
  final,
  GOOD,
  line,
  request,
  runtime,
  SERVER,
  udpCall,
  udpEdge,
  udpOptions,
  UdpPeer,
  until,
} from "./_edge_peers.ts";

describe(`serve() at the edge on ${runtime}: messages`, () => {
  test(
    "serve() sends a UDP response to the source, not to a unicast maddr elsewhere (127.0.0.9) nor to a host name " +
      "in maddr",
    { timeout: 15_000 },
    async () => {
      const { port, peers: [client], close } = await udpEdge({}, ATTACKER);
      // A socket at the address maddr names, on the sent-by port: where the response would go.
      const target = await UdpPeer.open("127.0.0.9", client.port);
      try {
        for (const maddr of ["127.0.0.9", "nonexistent.invalid"]) {
          // No rport: by RFC 3261 §18.2.2 the response would go to maddr at the sent-by port.
          await client.send(
            request({
              method: "OPTIONS",
              port,
              sentBy: client.sentBy,
              viaParams: `;maddr=${maddr}`,
              branch: `z9hG4bK-maddr-${maddr}`,
              callId: `maddr-${maddr}`,
            }),
            port,
          );
          // Promptly: no name is looked up for it.
          const ok = await client.next(`200 to OPTIONS with maddr=${maddr}`, undefined, 1500) as SipResponse;
          assert.equal(line(ok), "200 OPTIONS");
          assert.equal(ok.callId, `maddr-${maddr}`);
        }
        await sleep(300);
        assert.equal(target.datagrams, 0, "nothing went to 127.0.0.9");
      } finally {
        target.close();
        await close();
      }
    },
  );

  test(
    "serve() answers a UDP OPTIONS whose Via values fill a datagram 513 with one Via, and a REGISTER with 2,000 " +
      "Contacts 403, and goes on answering",
    { timeout: 15_000 },
    async () => {
      const { server, port, peers: [client], close } = await udpEdge({}, ATTACKER);
      try {
        // As many Via values as fit the largest UDP payload over IPv4, 65,507 bytes (serve() takes
        // messages up to 65,535), 20 to a Via field (a message has at most 256 fields): every
        // response copies them, so none fits a datagram.
        const head = request({
          method: "OPTIONS",
          port,
          sentBy: client.sentBy,
          branch: "z9hG4bK-vias",
          callId: "vias",
        });
        const at = head.indexOf("Max-Forwards:");
        const value = (i: number) => `SIP/2.0/UDP 10.${i >> 8 & 255}.${i & 255}.1;branch=z9hG4bK${i}`;
        const fields: string[][] = [];
        let bytes = encoder.encode(head).length;
        let count = 0;
        for (;;) {
          const v = value(count);
          // A new field costs "Via: " and CRLF, another value in a field ", ".
          const more = count % 20 === 0 ? 7 + v.length : 2 + v.length;
          if (bytes + more > 65_507) break;
          if (count % 20 === 0) fields.push([]);
          fields.at(-1)!.push(v);
          bytes += more;
          count++;
        }
        const options = head.slice(0, at) + fields.map((f) => `Via: ${f.join(", ")}\r\n`).join("") + head.slice(at);
        assert.equal(encoder.encode(options).length, bytes);
        assert.ok(count >= 1500, `${count} Via values fit`);
        await client.send(options, port);
        const tooLarge = await client.next("the answer to an OPTIONS with many Vias") as SipResponse;
        assert.equal(tooLarge.status, 513);
        assert.equal(tooLarge.reason, "Message Too Large: any response would be too large for UDP");
        assert.deepEqual(tooLarge.headers.getAll("Via"), [
          `SIP/2.0/UDP ${client.sentBy};branch=z9hG4bK-vias;rport=${client.port};received=${ATTACKER}`,
        ]);

        // 2,000 Contact values, 100 to a field.
        const contacts = Array.from(
          { length: 20 },
          (_, f) =>
            "Contact: " + Array.from({ length: 100 }, (_, i) => `<sip:c${100 * f + i}@${client.sentBy}>`).join(", "),
        );
        const register = request({
          method: "REGISTER",
          port,
          uri: `sip:${SERVER}:${port}`,
          to: "sip:many@example.com",
          sentBy: client.sentBy,
          branch: "z9hG4bK-contacts",
          callId: "contacts",
          extra: contacts,
        });
        await client.send(register, port);
        const forbidden = await client.next("403 to 2,000 Contacts", undefined, 1500) as SipResponse;
        assert.equal(forbidden.status, 403);
        assert.match(forbidden.reason, /^Forbidden: too many contacts/);
        assert.deepEqual(server.peer.bindings(), []);
        await udpOptions(client, port, "after-big");
      } finally {
        await close();
      }
    },
  );

  test(
    "serve() ends a silent UDP dialog with BYE after timers.dialogIdle and keeps one that sends INFO every 150 ms",
    { timeout: 15_000 },
    async () => {
      const { server, port, peers: [silent, busy], close } = await udpEdge(
        { timers: { dialogIdle: 400 } },
        ATTACKER,
        GOOD,
      );
      let talking = true;
      let talk: Promise<void> | undefined;
      try {
        const silentTag = await udpCall(silent, port, "silent", { hangUp: false });
        const busyTag = await udpCall(busy, port, "busy", { hangUp: false });
        const base = { port, sentBy: busy.sentBy, callId: "busy", toTag: busyTag };
        let cseq = 1;
        talk = (async () => {
          while (talking) {
            await sleep(150);
            cseq++;
            await busy.send(request({ ...base, method: "INFO", branch: `z9hG4bK-info-${cseq}`, cseq }), port);
            const ok = await busy.next(`200 to INFO ${cseq}`, final("INFO"));
            assert.equal(line(ok), "200 INFO");
          }
        })();
        const bye = await silent.next("a BYE from the server", (m) => m.type === "request", 3000) as SipRequest;
        assert.equal(bye.method, "BYE");
        assert.equal(bye.callId, "silent");
        assert.equal(bye.from.tag, silentTag);
        // Answered 200 (RFC 3261 §15.1.2), with its Via, From, To, Call-ID and CSeq.
        const answer = [
          "SIP/2.0 200 OK",
          ...["Via", "From", "To", "Call-ID", "CSeq"].map((name) => `${name}: ${bye.headers.get(name)}`),
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n");
        await silent.send(answer, port);
        await until("the silent dialog to be gone", () => !server.peer.dialogs.some((d) => d.callId === "silent"));
        // The other dialog: kept for three times dialogIdle while it talks.
        await sleep(1200);
        talking = false;
        await talk;
        assert.deepEqual(busy.inbox.items.filter((m) => m.type === "request").map(line), []);
        assert.ok(server.peer.dialogs.some((d) => d.callId === "busy"), "the talking dialog is kept");
        assert.ok(cseq >= 5, `${cseq - 1} INFOs`);
        // And its BYE is answered as usual.
        await busy.send(request({ ...base, method: "BYE", branch: "z9hG4bK-busy-bye", cseq: ++cseq }), port);
        assert.equal(line(await busy.next("200 to BYE", final("BYE"))), "200 BYE");
        // The BYE the server sent was answered: it is not sent again.
        assert.equal(silent.inbox.items.filter((m) => m.type === "request").length, 0);
      } finally {
        talking = false;
        await talk?.catch(() => {});
        await close();
      }
    },
  );

  test(
    "serve() answers a UDP REGISTER with 300 Contact fields (over the 256 header fields a message may have) " +
      "rather than dropping it",
    async () => {
      const { port, peers: [client], close } = await udpEdge({}, ATTACKER);
      try {
        await client.send(
          request({
            method: "REGISTER",
            port,
            uri: `sip:${SERVER}:${port}`,
            to: "sip:fields@example.com",
            sentBy: client.sentBy,
            branch: "z9hG4bK-fields",
            callId: "fields",
            extra: Array.from({ length: 300 }, (_, i) => `Contact: <sip:c${i}@${client.sentBy}>`),
          }),
          port,
        );
        const answer = await client.next("the answer to 300 Contact fields", final("REGISTER")) as SipResponse;
        assert.deepEqual([answer.status, answer.reason], [400, "Message has more than 256 header fields"]);
      } finally {
        await close();
      }
    },
  );
});
