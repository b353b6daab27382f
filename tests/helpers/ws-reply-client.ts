// A WebSocket client for the fuzzer: one reply per frame, in order, with pushed updates set aside, and the
// check of a reply against what the contract (docs/contracts.md, WebSocket messages) gives the frame.
import WebSocket from 'ws';
import type { FrameSpec } from './fuzz-arbitraries.js';

/** A WebSocket client that hands out replies one at a time and ignores pushed updates. */
export class ReplyClient {
  private socket!: WebSocket;
  private replies: string[] = [];
  private waiter: ((reply: string | undefined) => void) | undefined;
  closedWith: string | undefined;

  async open(url: string): Promise<void> {
    this.replies = [];
    this.closedWith = undefined;
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => {
      const text = String(data);
      if (/^\{"topic":/.test(text) && text.includes('"kind":')) return; // a broadcast, not a reply
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(text);
      } else this.replies.push(text);
    });
    this.socket.on('close', (code, reason) => {
      this.closedWith = `closed ${code} ${String(reason)}`;
      this.waiter?.(undefined);
    });
    this.socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  async send(frame: FrameSpec, timeoutMs = 5_000): Promise<string | undefined> {
    if (frame.kind === 'text') this.socket.send(frame.text);
    else this.socket.send(Buffer.from(frame.bytes), { binary: true });
    const queued = this.replies.shift();
    if (queued !== undefined) return queued;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
    });
  }

  close(): void {
    this.socket.terminate();
  }
}

/** What is wrong with `reply` as the answer to `frame`, or undefined when it is what the contract gives. */
export function judgeReply(frame: FrameSpec, reply: string): string | undefined {
  let message: { type?: unknown; topic?: unknown; topics?: unknown; message?: unknown };
  try {
    message = JSON.parse(reply);
  } catch {
    return `reply is not JSON: ${reply.slice(0, 80)}`;
  }
  if (message.message === 'Internal server error') return `reply ${reply.slice(0, 120)}`;
  const expectation = frame.kind === 'text' ? frame.expect : { type: 'any' as const };
  if (expectation.type === 'any') {
    return ['subscribed', 'unsubscribed', 'error'].includes(String(message.type))
      ? undefined
      : `reply ${reply.slice(0, 120)}`;
  }
  if (message.type !== expectation.type) return `reply ${reply.slice(0, 160)}, contract: type ${expectation.type}`;
  if (expectation.type === 'error')
    return typeof message.message === 'string' ? undefined : 'error reply without a message';
  if (expectation.topic !== undefined && message.topic !== expectation.topic) return `reply ${reply.slice(0, 160)}`;
  if (expectation.topics !== undefined) {
    const got = Array.isArray(message.topics) ? [...message.topics].map(String).sort() : [];
    if (JSON.stringify(got) !== JSON.stringify([...expectation.topics].sort())) return `reply ${reply.slice(0, 160)}`;
  }
  return undefined;
}
