// Hold and resume end to end (RFC 3264 §8.4, RFC 6337 §5.3): serve() with `media` on loopback
// UDP, a call written by hand (tests/net/_media_phone.ts) put on hold by a re-INVITE or an
// UPDATE whose offer says a=sendonly, a=inactive or c=0.0.0.0: the answer says recvonly or
// inactive, and RTP sent meanwhile is not echoed; back to sendrecv, it is echoed again. On Deno
// and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { freeBlock } from "../_ports.ts";
import { serve, type SipServer } from "../../src/net/serve.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import { getDirection } from "../../src/media/sdp_attributes.ts";
import type { SipResponse } from "../../src/sip/message.ts";
import { sleep, within } from "../_wait.ts";
import { HOST, Phone, rtp } from "./_media_phone.ts";

const BASE = await freeBlock(20);
/** How long a held stream is watched for an echo that must not come, ms. */
const QUIET = 400;

async function holdServer(): Promise<SipServer> {
  return await serve({
    listen: [{ transport: "udp", hostname: HOST, port: 0 }],
    media: { portRange: [BASE, BASE + 19] },
    edge: "lab",
  });
}

/** The phone's offer with a direction attribute, or at c=0.0.0.0 (the old hold). */
function offer(phone: Phone, direction: string): string {
  if (direction === "0.0.0.0") return phone.offer().replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
  return phone.offer() + `a=${direction}\r\n`;
}

/** The direction of the answer's first m-line. */
function answered(response: SipResponse): string {
  const sdp = parseSdp(response.bodyText);
  return getDirection(sdp, sdp.media[0]);
}

/** Sends `count` RTP packets to `port` and returns how many came back within QUIET ms. */
async function echoed(phone: Phone, port: number, count: number, seq: number): Promise<number> {
  phone.rtp.items.length = 0;
  for (let i = 0; i < count; i++) await phone.rtp.send(rtp(seq + i, 0x4321), port);
  await sleep(QUIET);
  return phone.rtp.items.filter((d) => d.from.port === port).length;
}

/** A re-INVITE (then its ACK) or an UPDATE with `body`; the 200. */
async function offerAgain(
  phone: Phone,
  method: "INVITE" | "UPDATE",
  callId: string,
  toTag: string,
  cseq: number,
  body: string,
): Promise<SipResponse> {
  await phone.sip.send(phone.request(method, callId, { toTag, cseq, body }), phone.serverPort);
  const ok = await phone.response(callId, method, 200);
  if (method === "INVITE") await phone.sip.send(phone.request("ACK", callId, { toTag, cseq }), phone.serverPort);
  return ok;
}

describe("serve({ media }): hold and resume (RFC 3264 §8.4)", () => {
  test("a re-INVITE with a=sendonly holds (recvonly, no echo); a=sendrecv resumes", async () => {
    const server = await holdServer();
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("hold-1");
      await phone.ack("hold-1", call.toTag);
      assert.equal((await phone.echo(call.port, 2)).length, 2);

      const held = await offerAgain(phone, "INVITE", "hold-1", call.toTag, 2, offer(phone, "sendonly"));
      assert.equal(answered(held), "recvonly");
      assert.equal(parseSdp(held.bodyText).media[0].port, call.port, "the stream keeps its port on hold");
      assert.equal(await echoed(phone, call.port, 3, 10), 0, "nothing echoed on hold");
      assert.ok(server.media!.stats("hold-1")!.streams[0].rtp.packetsIn >= 5, "the held RTP still arrives");

      const resumed = await offerAgain(phone, "INVITE", "hold-1", call.toTag, 3, offer(phone, "sendrecv"));
      assert.equal(answered(resumed), "sendrecv");
      assert.equal((await phone.echo(call.port, 2, 0x4321)).length, 2, "echo again after resume");

      await phone.sip.send(phone.request("BYE", "hold-1", { toTag: call.toTag, cseq: 4 }), phone.serverPort);
      await phone.response("hold-1", "BYE", 200);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });

  test("an UPDATE holds too: a=inactive, then c=0.0.0.0 (inactive both), then a=sendrecv resumes", async () => {
    const server = await holdServer();
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("hold-2");
      await phone.ack("hold-2", call.toTag);
      assert.equal((await phone.echo(call.port, 1)).length, 1);

      const inactive = await offerAgain(phone, "UPDATE", "hold-2", call.toTag, 2, offer(phone, "inactive"));
      assert.equal(answered(inactive), "inactive");
      assert.equal(await echoed(phone, call.port, 3, 10), 0);

      const old = await offerAgain(phone, "UPDATE", "hold-2", call.toTag, 3, offer(phone, "0.0.0.0"));
      assert.equal(answered(old), "inactive");
      assert.equal(await echoed(phone, call.port, 2, 20), 0);

      const resumed = await offerAgain(phone, "UPDATE", "hold-2", call.toTag, 4, offer(phone, "sendrecv"));
      assert.equal(answered(resumed), "sendrecv");
      assert.equal((await phone.echo(call.port, 2, 0x4321)).length, 2);

      await phone.sip.send(phone.request("BYE", "hold-2", { toTag: call.toTag, cseq: 5 }), phone.serverPort);
      await phone.response("hold-2", "BYE", 200);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
  });
});
