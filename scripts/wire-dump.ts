/**
 * Prints the TCP payloads of a loopback capture (a libpcap file from `tcpdump -w`), one
 * line per segment with data, as `src → dst  hex`, annotated as SP: an 8-byte header, a
 * 64-bit length and, for survey ports, the 4-byte survey id. Used by
 * scripts/capture-wire.sh for the README's "Wire format" dumps.
 *
 *   node --import tsx scripts/wire-dump.ts capture.pcap SURVEY_PORT PUBSUB_PORT
 */
import { readFileSync } from 'node:fs';

const [file, surveyPortArg, pubsubPortArg] = process.argv.slice(2);
if (!file || !surveyPortArg || !pubsubPortArg) {
  console.error('usage: wire-dump.ts capture.pcap SURVEY_PORT PUBSUB_PORT');
  process.exit(2);
}
const surveyPort = Number(surveyPortArg);
const pubsubPort = Number(pubsubPortArg);
const pcap = readFileSync(file);

const magic = pcap.readUInt32LE(0);
const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
const u32 = (o: number) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
const linkType = u32(20);
// 1 = Ethernet (Linux "lo" through tcpdump), 113 = Linux cooked (SLL, "any"), 276 = SLL2.
const linkHeader = linkType === 1 ? 14 : linkType === 113 ? 16 : linkType === 276 ? 20 : -1;
if (linkHeader < 0) throw new Error(`unsupported link type ${linkType}`);

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
const who = (port: number) => (port === surveyPort ? 'surveyor' : port === pubsubPort ? 'pub' : `:${port}`);
const seen = new Map<string, number>(); // per direction: bytes seen, to tell the SP header from messages
const peers = new Map<number, string>(); // a peer's ephemeral port → "peer 1", "peer 2"... in order of appearance
const peerName = (port: number) => {
  if (!peers.has(port)) peers.set(port, `peer ${peers.size + 1}`);
  return peers.get(port)!;
};

let t0 = -1;
for (let off = 24; off + 16 <= pcap.length; ) {
  const sec = u32(off);
  const usec = u32(off + 4);
  const caplen = u32(off + 8);
  const pkt = pcap.subarray(off + 16, off + 16 + caplen);
  off += 16 + caplen;
  const ip = pkt.subarray(linkHeader);
  if (ip[0]! >> 4 !== 4 || ip[9] !== 6) continue; // IPv4 TCP only (the tests use 127.0.0.1)
  const tcp = ip.subarray((ip[0]! & 0x0f) * 4);
  const src = tcp.readUInt16BE(0);
  const dst = tcp.readUInt16BE(2);
  const payload = tcp.subarray((tcp[12]! >> 4) * 4, ip.readUInt16BE(2) - (ip[0]! & 0x0f) * 4);
  if (payload.length === 0) continue;
  const t = sec + usec / 1e6;
  if (t0 < 0) t0 = t;
  const key = `${src}>${dst}`;
  const before = seen.get(key) ?? 0;
  seen.set(key, before + payload.length);
  const serverPort = src === surveyPort || src === pubsubPort ? src : dst;
  const peer = peerName(src === serverPort ? dst : src);
  const dir = src === serverPort ? `${who(serverPort)} → ${peer}` : `${peer} → ${who(serverPort)}`;
  let note = '';
  if (before === 0 && payload.length >= 8 && payload.subarray(0, 4).equals(Buffer.from([0, 0x53, 0x50, 0]))) {
    note = `SP header, protocol 0x${payload.readUInt16BE(4).toString(16)}`;
  } else if (payload.length >= 8) {
    const len = payload.readBigUInt64BE(0);
    note = `length ${len}`;
    if (serverPort === surveyPort && payload.length >= 12) {
      const id = payload.readUInt32BE(8);
      note += `, survey id 0x${id.toString(16)}${id & 0x80000000 ? ' (high bit set)' : ''}`;
      if (payload.length > 12) note += `, body ${JSON.stringify(payload.subarray(12).toString('utf8'))}`;
      else note += ', empty body';
    } else {
      note += len === 0n ? ', empty list' : `, body ${JSON.stringify(payload.subarray(8).toString('utf8'))}`;
    }
  }
  console.log(`${(t - t0).toFixed(3).padStart(7)} s  ${dir.padEnd(18)} ${hex(payload).padEnd(51)} ${note}`);
}
