// RFC 4733 telephone-event packets for the DTMF tests, sent as a phone sends a key press.

/** One telephone-event RTP packet (RFC 4733 §2.3): version 2, payload type `pt`. */
export function eventPacket(
  o: {
    seq: number;
    timestamp: number;
    event: number;
    end?: boolean;
    duration: number;
    marker?: boolean;
    ssrc?: number;
    pt?: number;
  },
): Uint8Array {
  const packet = new Uint8Array(16);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = (o.marker ? 0x80 : 0) | (o.pt ?? 101);
  view.setUint16(2, o.seq & 0xffff);
  view.setUint32(4, o.timestamp >>> 0);
  view.setUint32(8, o.ssrc ?? 0x1234);
  packet[12] = o.event;
  packet[13] = (o.end ? 0x80 : 0) | 10;
  view.setUint16(14, o.duration);
  return packet;
}

/**
 * The packets of one key press as RFC 4733 §2.5.1 has a sender make them: the start packet
 * three times with the marker bit (§2.5.1.2 allows repeating it), updates every 50 ms, and
 * the end packet three times (§2.5.1.4); all with the event's timestamp.
 */
export function keyPress(event: number, timestamp: number, firstSeq: number, ms = 100, pt = 101): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let seq = firstSeq;
  const units = ms * 8;
  for (let i = 0; i < 3; i++) {
    packets.push(eventPacket({ seq: seq++, timestamp, event, duration: 0, marker: true, pt }));
  }
  for (let d = 400; d < units; d += 400) packets.push(eventPacket({ seq: seq++, timestamp, event, duration: d, pt }));
  for (let i = 0; i < 3; i++) {
    packets.push(eventPacket({ seq: seq++, timestamp, event, duration: units, end: true, pt }));
  }
  return packets;
}
