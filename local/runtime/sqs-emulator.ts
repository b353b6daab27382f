/**
 * A small SQS emulator for the AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Op>`) that SDK v3
 * speaks, and for the query protocol (form-encoded `Action=<Op>`, XML answers) of older SDKs and CLIs,
 * with one implementation of each action behind both. No maintained npm emulator speaks JSON: sqslite
 * only speaks the query protocol. Standard
 * queues only: visibility timeout, long polling, delays, retention and redrive are emulated; FIFO is not.
 * In memory, or journaled to a file (`dataFile`) so queues and messages survive a kill.
 */

import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LOCAL_ACCOUNT_ID, localArn } from './intrinsics.js';
import { listen } from './listen.js';
import { parseQueryRequest, renderQueryError, renderQueryResponse } from './sqs-query-protocol.js';

/** A running SQS emulator. */
export interface SqsEmulator {
  /** e.g. `http://127.0.0.1:40123`; use as the SDK endpoint. */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Options of {@link startSqsEmulator}. */
export interface SqsEmulatorOptions {
  /** @default 0 (ephemeral) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * A journal file that keeps queues and messages across restarts: every create, send, delete, purge and
   * redrive is appended before the request is answered, and replayed (then compacted) at start. Messages
   * in flight at a stop become visible again, as after their visibility timeout. @default in memory
   */
  dataFile?: string;
}

/** One line of the journal. */
type JournalEntry =
  | { op: 'create'; queue: string; attributes: Record<string, string>; createdAt: number }
  | { op: 'drop'; queue: string }
  | { op: 'purge'; queue: string }
  | { op: 'send'; queue: string; message: StoredMessage }
  | { op: 'delete'; queue: string; id: string };

interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  messageAttributes?: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receiptHandle?: string;
}

interface Queue {
  name: string;
  url: string;
  createdAt: number;
  attributes: Record<string, string>;
  messages: StoredMessage[];
  waiters: Set<() => void>;
}

/** Characters SQS accepts in a message body and string attributes (its documented XML character range). */
const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/**
 * SQS's limits on one message, enforced as SQS does so that what passes here passes in AWS: body and
 * attributes (names, types, values) at most `maxBytes` bytes together, and only the characters it accepts.
 */
/** SQS's cap on the bodies and attributes of one SendMessageBatch together. */
const BATCH_MAX_BYTES = 262_144;

/** The texts SQS counts and checks in a message: its body and its attributes' names, types and values. */
const messageTexts = (body: string, attributes: Record<string, MessageAttributeValue> | undefined) => [
  body,
  ...Object.entries(attributes ?? {}).flatMap(([name, a]) => [name, a.DataType ?? '', a.StringValue ?? '']),
];
const bytesOf = (texts: string[]) => texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);

/** The bytes SQS counts for a SendMessage(Batch) entry. */
const messageBytes = (entry: Record<string, unknown>) =>
  bytesOf(
    messageTexts(
      String(entry.MessageBody ?? ''),
      entry.MessageAttributes as Record<string, MessageAttributeValue> | undefined,
    ),
  );

function checkMessageLimits(
  body: string,
  attributes: Record<string, MessageAttributeValue> | undefined,
  maxBytes: number,
): void {
  const texts = messageTexts(body, attributes);
  const bytes = bytesOf(texts);
  if (bytes > maxBytes) {
    throw new SqsApiError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`,
    );
  }
  if (!texts.every((text) => text.isWellFormed() && SQS_TEXT.test(text))) {
    throw new SqsApiError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
}

/** An SQS error, rendered as the JSON protocol's error body. */
class SqsApiError extends Error {
  override name = 'SqsApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly queryCode = code,
  ) {
    super(message);
  }
}

const DEFAULT_ATTRIBUTES: Record<string, string> = {
  DelaySeconds: '0',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
};

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

/** MD5 of message attributes, computed the way SQS does (the SDK checks it). */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string {
  const chunks: Buffer[] = [];
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name];
    if (!value) continue;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      chunks.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(value.BinaryValue, 'base64'));
    } else {
      chunks.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(chunks));
}

/** Starts the emulator on loopback. */
/** A batch action's answer: each entry succeeds or fails on its own, as SQS reports it. */
function perEntry(entries: Record<string, unknown>[], act: (entry: Record<string, unknown>) => object) {
  const Successful: unknown[] = [];
  const Failed: unknown[] = [];
  for (const entry of entries) {
    try {
      Successful.push({ Id: entry.Id, ...act(entry) });
    } catch (error) {
      Failed.push({
        Id: entry.Id,
        SenderFault: true,
        Code: (error as SqsApiError).code,
        Message: (error as Error).message,
      });
    }
  }
  return { Successful, Failed };
}

export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
  const queues = new Map<string, Queue>();
  let endpoint = '';
  const closing = new AbortController();
  const { dataFile } = options;
  const journal = (entry: JournalEntry) => {
    if (dataFile) appendFileSync(dataFile, `${JSON.stringify(entry)}\n`);
  };
  const persisted = ({ receiptHandle: _, firstReceiveAt: __, ...message }: StoredMessage): StoredMessage => ({
    ...message,
    receiveCount: 0,
  });

  const queueOf = (body: Record<string, unknown>): Queue => {
    const url = body.QueueUrl;
    if (typeof url !== 'string') throw new SqsApiError('MissingParameter', 'QueueUrl is required');
    const queue = queues.get(url.slice(url.lastIndexOf('/') + 1));
    if (!queue) {
      throw new SqsApiError(
        'QueueDoesNotExist',
        'The specified queue does not exist.',
        'AWS.SimpleQueueService.NonExistentQueue',
      );
    }
    return queue;
  };
  const addQueue = (name: string, attributes: Record<string, string>, createdAt: number): Queue => {
    const queue: Queue = {
      name,
      url: `${endpoint}/${LOCAL_ACCOUNT_ID}/${name}`,
      createdAt,
      attributes,
      messages: [],
      waiters: new Set(),
    };
    queues.set(name, queue);
    return queue;
  };

  /** Replays the journal, then rewrites it as the queues and messages that are left. */
  const restore = (file: string) => {
    if (existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      for (const [index, line] of lines.entries()) {
        if (!line) continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch (error) {
          // Only the last line can be cut short, by a kill in the middle of its write.
          if (index >= lines.length - 2) break;
          throw new Error(`${file}:${index + 1} is not a journal entry`, { cause: error });
        }
        if (entry.op === 'create') addQueue(entry.queue, entry.attributes, entry.createdAt);
        else if (entry.op === 'drop') queues.delete(entry.queue);
        else {
          const queue = queues.get(entry.queue);
          if (!queue) continue;
          if (entry.op === 'purge') queue.messages = [];
          else if (entry.op === 'send') queue.messages.push(entry.message);
          else {
            const { id } = entry;
            queue.messages = queue.messages.filter((m) => m.id !== id);
          }
        }
      }
    }
    const compacted: JournalEntry[] = [...queues.values()].flatMap((queue) => [
      { op: 'create' as const, queue: queue.name, attributes: queue.attributes, createdAt: queue.createdAt },
      ...queue.messages.map((message) => ({ op: 'send' as const, queue: queue.name, message })),
    ]);
    writeFileSync(`${file}.tmp`, compacted.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    renameSync(`${file}.tmp`, file);
  };

  const attribute = (queue: Queue, name: string) => Number(queue.attributes[name] ?? DEFAULT_ATTRIBUTES[name] ?? 0);

  const enqueue = (queue: Queue, entry: Record<string, unknown>) => {
    const body = entry.MessageBody;
    if (typeof body !== 'string' || body.length === 0)
      throw new SqsApiError('MissingParameter', 'MessageBody is required');
    const now = Date.now();
    const delay = entry.DelaySeconds === undefined ? attribute(queue, 'DelaySeconds') : Number(entry.DelaySeconds);
    const messageAttributes = entry.MessageAttributes as Record<string, MessageAttributeValue> | undefined;
    checkMessageLimits(body, messageAttributes, attribute(queue, 'MaximumMessageSize'));
    const message: StoredMessage = {
      id: randomUUID(),
      body,
      md5OfBody: md5(body),
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      ...(messageAttributes && Object.keys(messageAttributes).length > 0
        ? { messageAttributes, md5OfMessageAttributes: md5OfMessageAttributes(messageAttributes) }
        : {}),
    };
    journal({ op: 'send', queue: queue.name, message: persisted(message) });
    queue.messages.push(message);
    for (const wake of queue.waiters) wake();
    return {
      MessageId: message.id,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  };

  const expire = (queue: Queue, now: number) => {
    const oldest = now - attribute(queue, 'MessageRetentionPeriod') * 1000;
    if (queue.messages.some((m) => m.sentAt < oldest))
      queue.messages = queue.messages.filter((m) => m.sentAt >= oldest);
  };

  const redriveTarget = (queue: Queue): { target: Queue; maxReceiveCount: number } | undefined => {
    const policy = queue.attributes.RedrivePolicy;
    if (!policy) return undefined;
    const parsed = JSON.parse(policy) as { deadLetterTargetArn?: string; maxReceiveCount?: number };
    const name = parsed.deadLetterTargetArn?.slice(parsed.deadLetterTargetArn.lastIndexOf(':') + 1);
    const target = name === undefined ? undefined : queues.get(name);
    return target ? { target, maxReceiveCount: Number(parsed.maxReceiveCount ?? 10) } : undefined;
  };

  const take = (queue: Queue, max: number, visibilityTimeout: number) => {
    const now = Date.now();
    expire(queue, now);
    const redrive = redriveTarget(queue);
    const taken: StoredMessage[] = [];
    for (const message of [...queue.messages]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        // Received too often without being deleted: moves to the dead-letter queue, like SQS.
        const moved = { ...message, visibleAt: now, receiveCount: 0 };
        journal({ op: 'send', queue: redrive.target.name, message: persisted(moved) });
        journal({ op: 'delete', queue: queue.name, id: message.id });
        queue.messages.splice(queue.messages.indexOf(message), 1);
        redrive.target.messages.push(moved);
        for (const wake of redrive.target.waiters) wake();
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveAt ??= now;
      message.visibleAt = now + visibilityTimeout * 1000;
      message.receiptHandle = Buffer.from(`${queue.name}:${message.id}:${randomUUID()}`).toString('base64');
      taken.push(message);
    }
    return taken;
  };

  const wantsAll = (names: unknown, name: string) =>
    Array.isArray(names) && names.some((n) => n === 'All' || n === '.*' || n === name);

  const render = (message: StoredMessage, body: Record<string, unknown>) => {
    const systemNames = body.MessageSystemAttributeNames ?? body.AttributeNames;
    const system: Record<string, string> = {};
    const all: Record<string, string> = {
      SenderId: LOCAL_ACCOUNT_ID,
      SentTimestamp: String(message.sentAt),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
    };
    for (const [name, value] of Object.entries(all)) if (wantsAll(systemNames, name)) system[name] = value;
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(message.messageAttributes ?? {})) {
      if (wantsAll(body.MessageAttributeNames, name)) attributes[name] = value;
    }
    return {
      MessageId: message.id,
      ReceiptHandle: message.receiptHandle,
      MD5OfBody: message.md5OfBody,
      Body: message.body,
      ...(Object.keys(system).length > 0 ? { Attributes: system } : {}),
      ...(Object.keys(attributes).length > 0
        ? { MessageAttributes: attributes, MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }
        : {}),
    };
  };

  const receive = async (body: Record<string, unknown>, requestClosed: AbortSignal) => {
    const queue = queueOf(body);
    const max = Math.min(Math.max(Number(body.MaxNumberOfMessages ?? 1), 1), 10);
    const visibilityTimeout =
      body.VisibilityTimeout === undefined ? attribute(queue, 'VisibilityTimeout') : Number(body.VisibilityTimeout);
    const waitSeconds =
      body.WaitTimeSeconds === undefined
        ? attribute(queue, 'ReceiveMessageWaitTimeSeconds')
        : Number(body.WaitTimeSeconds);
    const deadline = Date.now() + waitSeconds * 1000;
    let taken = take(queue, max, visibilityTimeout);
    while (taken.length === 0 && Date.now() < deadline && !requestClosed.aborted && !closing.signal.aborted) {
      // Woken by a send, or re-checked every 100 ms for messages whose visibility timeout or delay ran out.
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          queue.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(100, Math.max(deadline - Date.now(), 0)));
        queue.waiters.add(wake);
      });
      taken = take(queue, max, visibilityTimeout);
    }
    return { Messages: taken.map((m) => render(m, body)) };
  };

  const deleteByHandle = (queue: Queue, handle: unknown) => {
    const index = queue.messages.findIndex((m) => m.receiptHandle !== undefined && m.receiptHandle === handle);
    if (index >= 0) {
      journal({ op: 'delete', queue: queue.name, id: queue.messages[index]?.id ?? '' });
      queue.messages.splice(index, 1);
      return;
    }
    // SQS accepts a handle of a message that is already gone; reject only what it could never have issued.
    if (typeof handle !== 'string' || !Buffer.from(handle, 'base64').toString().startsWith(`${queue.name}:`)) {
      throw new SqsApiError('ReceiptHandleIsInvalid', `The input receipt handle "${String(handle)}" is not valid.`);
    }
  };

  const operations: Record<string, (body: Record<string, unknown>, closed: AbortSignal) => unknown> = {
    CreateQueue: (body) => {
      const name = body.QueueName;
      if (typeof name !== 'string' || !/^[\w-]{1,80}(\.fifo)?$/.test(name)) {
        throw new SqsApiError('InvalidParameterValue', `invalid QueueName ${String(name)}`);
      }
      let queue = queues.get(name);
      if (!queue) {
        const attributes = (body.Attributes as Record<string, string> | undefined) ?? {};
        const createdAt = Date.now();
        journal({ op: 'create', queue: name, attributes, createdAt });
        queue = addQueue(name, attributes, createdAt);
      }
      return { QueueUrl: queue.url };
    },
    GetQueueUrl: (body) => {
      const queue = queues.get(String(body.QueueName));
      if (!queue)
        throw new SqsApiError(
          'QueueDoesNotExist',
          'The specified queue does not exist.',
          'AWS.SimpleQueueService.NonExistentQueue',
        );
      return { QueueUrl: queue.url };
    },
    ListQueues: (body) => {
      const prefix = typeof body.QueueNamePrefix === 'string' ? body.QueueNamePrefix : '';
      return { QueueUrls: [...queues.values()].filter((q) => q.name.startsWith(prefix)).map((q) => q.url) };
    },
    DeleteQueue: (body) => {
      const { name } = queueOf(body);
      journal({ op: 'drop', queue: name });
      queues.delete(name);
      return {};
    },
    PurgeQueue: (body) => {
      const queue = queueOf(body);
      journal({ op: 'purge', queue: queue.name });
      queue.messages = [];
      return {};
    },
    SendMessage: (body) => enqueue(queueOf(body), body),
    SendMessageBatch: (body) => {
      const queue = queueOf(body);
      const entries = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
      if (entries.length === 0 || entries.length > 10) {
        throw new SqsApiError(
          entries.length === 0 ? 'EmptyBatchRequest' : 'TooManyEntriesInBatchRequest',
          'a batch holds 1 to 10 entries',
        );
      }
      const total = entries.reduce((sum, entry) => sum + messageBytes(entry), 0);
      if (total > BATCH_MAX_BYTES) {
        throw new SqsApiError(
          'BatchRequestTooLong',
          `Batch requests cannot be longer than ${BATCH_MAX_BYTES} bytes; this one is ${total}.`,
        );
      }
      return perEntry(entries, (entry) => enqueue(queue, entry));
    },
    ReceiveMessage: (body, closed) => receive(body, closed),
    DeleteMessage: (body) => {
      deleteByHandle(queueOf(body), body.ReceiptHandle);
      return {};
    },
    DeleteMessageBatch: (body) => {
      const queue = queueOf(body);
      const entries = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
      return perEntry(entries, (entry) => {
        deleteByHandle(queue, entry.ReceiptHandle);
        return {};
      });
    },
    ChangeMessageVisibility: (body) => {
      const queue = queueOf(body);
      const message = queue.messages.find((m) => m.receiptHandle === body.ReceiptHandle);
      if (!message) throw new SqsApiError('MessageNotInflight', 'The message is not in flight.');
      message.visibleAt = Date.now() + Number(body.VisibilityTimeout) * 1000;
      return {};
    },
    GetQueueAttributes: (body) => {
      const queue = queueOf(body);
      const now = Date.now();
      expire(queue, now);
      const all: Record<string, string> = {
        ...DEFAULT_ATTRIBUTES,
        ...queue.attributes,
        QueueArn: localArn('sqs', queue.name),
        CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
        ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
        ApproximateNumberOfMessagesNotVisible: String(
          queue.messages.filter((m) => m.visibleAt > now && m.receiveCount > 0).length,
        ),
        ApproximateNumberOfMessagesDelayed: String(
          queue.messages.filter((m) => m.visibleAt > now && m.receiveCount === 0).length,
        ),
      };
      const names = Array.isArray(body.AttributeNames) ? body.AttributeNames : [];
      const Attributes: Record<string, string> = {};
      for (const [name, value] of Object.entries(all))
        if (names.includes('All') || names.includes(name)) Attributes[name] = value;
      return { Attributes };
    },
  };

  /** The action and its JSON-shaped input of a request in either protocol. */
  const parse = (req: IncomingMessage, text: string) => {
    const target = req.headers['x-amz-target'];
    if (target !== undefined) {
      const action = String(target).startsWith('AmazonSQS.') ? String(target).slice('AmazonSQS.'.length) : '';
      return { protocol: 'json' as const, action, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    }
    const url = new URL(req.url ?? '/', endpoint);
    const params = new URLSearchParams(url.search);
    for (const [key, value] of new URLSearchParams(text)) params.append(key, value);
    const { action, body } = parseQueryRequest(params);
    // Query clients may post to the queue's URL instead of naming it in QueueUrl.
    if (body.QueueUrl === undefined && /^\/\d+\/[\w-]+(\.fifo)?$/.test(url.pathname))
      body.QueueUrl = `${endpoint}${url.pathname}`;
    return { protocol: 'query' as const, action, body };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const requestClosed = new AbortController();
    res.on('close', () => requestClosed.abort());
    const requestId = randomUUID();
    const send = (status: number, contentType: string, payload: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': requestId, ...headers });
      res.end(payload);
    };
    let protocol: 'json' | 'query' = req.headers['x-amz-target'] === undefined ? 'query' : 'json';
    let action = '';
    try {
      const request = parse(req, Buffer.concat(chunks).toString('utf8'));
      protocol = request.protocol;
      action = request.action;
      const operation = Object.hasOwn(operations, action) ? operations[action] : undefined;
      if (!operation) {
        throw new SqsApiError(
          protocol === 'json' ? 'UnsupportedOperation' : 'InvalidAction',
          `${action || 'this request'} is not supported by the local SQS emulator`,
        );
      }
      const output = (await operation(request.body, requestClosed.signal)) as Record<string, unknown>;
      if (protocol === 'json') send(200, 'application/x-amz-json-1.0', JSON.stringify(output));
      else send(200, 'text/xml', renderQueryResponse(action, output, requestId));
    } catch (error) {
      const apiError =
        error instanceof SqsApiError
          ? error
          : new SqsApiError('InternalFailure', error instanceof Error ? error.message : String(error));
      const internal = apiError.code === 'InternalFailure';
      const fault = internal ? 'Receiver' : 'Sender';
      if (protocol === 'json') {
        send(
          internal ? 500 : 400,
          'application/x-amz-json-1.0',
          JSON.stringify({ __type: `com.amazonaws.sqs#${apiError.code}`, message: apiError.message }),
          { 'x-amzn-query-error': `${apiError.queryCode};${fault}` },
        );
      } else {
        send(
          internal ? 500 : 400,
          'text/xml',
          renderQueryError(apiError.queryCode, apiError.message, requestId, fault),
        );
      }
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  endpoint = `http://${options.host ?? '127.0.0.1'}:${port}`;
  // Synchronous from here to the return: no request is served before the journal is replayed.
  if (dataFile) restore(dataFile);
  return {
    endpoint,
    port,
    close: async () => {
      closing.abort();
      for (const queue of queues.values()) for (const wake of queue.waiters) wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
