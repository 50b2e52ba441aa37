// A pcap file (the classic libpcap format) of UDP datagrams over IPv4, built from bytes a test
// sent and received, for tshark to read: no capture, so no capture permissions needed.

/** One datagram: who sent it to whom, when (ms since the epoch), and its payload. */
export interface Datagram {
  from: { address: string; port: number };
  to: { address: string; port: number };
  time: number;
  payload: Uint8Array;
}

const LINKTYPE_RAW = 101; // each record starts with the IP header (libpcap's LINKTYPE_RAW)

function ipv4(address: string): number[] {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new Error(`not an IPv4 address: ${address}`);
  }
  return parts;
}

/** The Internet checksum (RFC 1071) of `bytes`. */
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The IPv4 packet (RFC 791) carrying the UDP datagram (RFC 768), both checksums right. */
function packet(d: Datagram, id: number): Uint8Array {
  const udpLength = 8 + d.payload.length;
  const total = 20 + udpLength;
  if (total > 0xffff) throw new Error(`a datagram of ${d.payload.length} bytes does not fit in IPv4`);
  const p = new Uint8Array(total);
  const v = new DataView(p.buffer);
  const src = ipv4(d.from.address);
  const dst = ipv4(d.to.address);
  v.setUint8(0, 0x45); // version 4, 20-byte header
  v.setUint16(2, total);
  v.setUint16(4, id & 0xffff);
  v.setUint16(6, 0x4000); // don't fragment
  v.setUint8(8, 64); // TTL
  v.setUint8(9, 17); // UDP
  p.set(src, 12);
  p.set(dst, 16);
  v.setUint16(10, checksum(p.subarray(0, 20)));
  v.setUint16(20, d.from.port);
  v.setUint16(22, d.to.port);
  v.setUint16(24, udpLength);
  p.set(d.payload, 28);
  // The UDP checksum covers a pseudo-header: addresses, protocol, UDP length (RFC 768).
  const pseudo = new Uint8Array(12 + udpLength);
  pseudo.set(src, 0);
  pseudo.set(dst, 4);
  pseudo[9] = 17;
  new DataView(pseudo.buffer).setUint16(10, udpLength);
  pseudo.set(p.subarray(20), 12);
  v.setUint16(26, checksum(pseudo) || 0xffff);
  return p;
}

/** The bytes of a pcap file holding `datagrams` in order. */
export function pcapOf(datagrams: Datagram[]): Uint8Array {
  const records = datagrams.map((d, i) => ({ time: d.time, bytes: packet(d, i + 1) }));
  const out = new Uint8Array(24 + records.reduce((n, r) => n + 16 + r.bytes.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true); // little-endian, microsecond timestamps
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true); // snaplen
  v.setUint32(20, LINKTYPE_RAW, true);
  let at = 24;
  for (const r of records) {
    v.setUint32(at, Math.floor(r.time / 1000), true);
    v.setUint32(at + 4, Math.floor((r.time % 1000) * 1000), true);
    v.setUint32(at + 8, r.bytes.length, true);
    v.setUint32(at + 12, r.bytes.length, true);
    out.set(r.bytes, at + 16);
    at += 16 + r.bytes.length;
  }
  return out;
}
