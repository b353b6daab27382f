// A WebSocket client on a bare TCP socket: it sends frames a conforming client library refuses to build
// (invalid UTF-8 in a text frame) or would cap (oversized), and reports how the server ended the connection.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** How a connection ended after the frame was sent. */
export type RawOutcome =
  | { kind: 'closed'; code?: number; reply?: string }
  | { kind: 'reply'; reply: string }
  | { kind: 'open' }
  | { kind: 'refused'; message: string };

const OPCODES = { text: 0x1, binary: 0x2 } as const;

/** One masked, final frame, as a client must send it. */
export function clientFrame(opcode: keyof typeof OPCODES, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | OPCODES[opcode], 0x80 | length])
      : length < 65_536
        ? Buffer.from([0x80 | OPCODES[opcode], 0x80 | 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | OPCODES[opcode], 0x80 | 127]), bigEndian64(length)]);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([header, mask, masked]);
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** The first server frame in `data`: its opcode, payload, and the close code of a close frame. */
function firstServerFrame(data: Buffer): { opcode: number; payload: Buffer } | undefined {
  if (data.length < 2) return undefined;
  const opcode = (data[0] ?? 0) & 0x0f;
  let length = (data[1] ?? 0) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  if (data.length < offset + length) return undefined;
  return { opcode, payload: data.subarray(offset, offset + length) };
}

/**
 * Opens a WebSocket connection to `url` on a raw socket, sends one frame and waits up to `waitMs` for the
 * server to reply or end the connection.
 */
export async function sendRawFrame(
  url: string,
  opcode: keyof typeof OPCODES,
  payload: Buffer,
  waitMs = 5_000,
): Promise<RawOutcome> {
  const { hostname, port, pathname, search } = new URL(url);
  let socket: Socket;
  try {
    socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(Number(port), hostname, () => resolve(s));
      s.once('error', reject);
    });
  } catch (error) {
    return { kind: 'refused', message: (error as Error).message };
  }
  return new Promise<RawOutcome>((resolve) => {
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let settled = false;
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'open' }), waitMs);
    socket.on('error', (error) => finish(upgraded ? { kind: 'closed' } : { kind: 'refused', message: error.message }));
    socket.on('close', () =>
      finish(upgraded ? { kind: 'closed' } : { kind: 'refused', message: 'closed before upgrade' }),
    );
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(head)) {
          finish({ kind: 'refused', message: head.split('\r\n')[0] ?? head });
          return;
        }
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        socket.write(clientFrame(opcode, payload));
      }
      const frame = firstServerFrame(buffer);
      if (!frame) return;
      if (frame.opcode === 0x8) {
        const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined;
        finish({ kind: 'closed', ...(code === undefined ? {} : { code }) });
      } else {
        finish({ kind: 'reply', reply: frame.payload.toString('utf8') });
      }
    });
    socket.write(
      `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}
