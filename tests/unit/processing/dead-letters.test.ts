import { readFileSync } from 'node:fs';
import type { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  deadLetterBody,
  MAX_DEAD_LETTER_BODY_BYTES,
  SqsDeadLetterSink,
  sqsAttributeText,
} from '../../../shared/events/dead-letters.js';
import { deadLetter, pipeline, position, sourceRecords } from '../../helpers/processing.js';

const letter = deadLetter;

describe('deadLetterBody', () => {
  it('keeps a small dead letter whole', () => {
    const message = letter({ lat: 91 });
    expect(JSON.parse(deadLetterBody(message))).toEqual(message);
  });

  it('counts bytes, not characters: a payload of 597,382 bytes in 3-byte characters fits in 256 KiB with a note', () => {
    const payload = { note: '€'.repeat(199_127) };
    const body = deadLetterBody(letter(payload));
    const parsed = JSON.parse(body);

    expect(Buffer.byteLength(JSON.stringify(payload))).toBeGreaterThan(597_000);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_DEAD_LETTER_BODY_BYTES);
    expect(parsed).toMatchObject({ reason: letter(null).reason, errors: letter(null).errors });
    expect(parsed.payload).toMatchObject({ truncated: true, reason: expect.stringMatching(/payload of \d+ bytes/) });
    expect(JSON.stringify(payload).startsWith(parsed.payload.preview)).toBe(true);
  });

  it('fits a payload made of characters JSON escapes six times over', () => {
    const body = deadLetterBody(letter({ text: '\u0001'.repeat(300_000) }));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_DEAD_LETTER_BODY_BYTES);
    expect(JSON.parse(body).payload.truncated).toBe(true);
  });

  it('keeps a dead letter whose payload nests 20,000 levels, with the reason and a bounded preview', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    const parsed = JSON.parse(deadLetterBody(letter({ extra: deep })));

    expect(parsed.payload).toMatchObject({ truncated: true, reason: expect.stringMatching(/deeper than 32 levels/) });
    expect(parsed.payload.preview).toMatch(/^\{"extra":\[\[/);
  });

  it('escapes the characters SQS refuses, so the message is accepted and reads back the same', () => {
    const body = deadLetterBody(letter({ text: 'a\uFFFFb\uFFFE' }));
    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(JSON.parse(body).payload.text).toBe('a\uFFFFb\uFFFE');
  });

  it('gives SQS an attribute without refused characters or a cut surrogate pair', () => {
    const text = sqsAttributeText(`${'x'.repeat(999)}😀\uFFFF`);
    expect(text.isWellFormed()).toBe(true);
    expect(text).toHaveLength(1000);
    expect(sqsAttributeText('raw \u0001\u001f bytes\tand\nlines')).toBe('raw \uFFFD\uFFFD bytes\tand\nlines');
  });
});

describe('SqsDeadLetterSink', () => {
  it('splits dead letters into batches within SQS 10 entries and 256 KiB, so big ones do not fail small ones', async () => {
    const batches: Array<{ entries: number; bytes: number }> = [];
    const sqs = {
      send: async (command: SendMessageBatchCommand) => {
        const entries = command.input.Entries ?? [];
        batches.push({
          entries: entries.length,
          bytes: entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? ''), 0),
        });
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      },
    } as unknown as SQSClient;
    const big = () => letter({ blob: 'x'.repeat(200_000) });
    const small = () => letter({ lat: 91 });

    const unsent = await new SqsDeadLetterSink(sqs, 'q').send([
      big(),
      small(),
      big(),
      ...Array.from({ length: 12 }, small),
    ]);

    expect(unsent).toEqual([]);
    expect(batches.map((b) => b.entries)).toEqual([2, 10, 3]);
    expect(batches.every((b) => b.bytes < 256 * 1024)).toBe(true);
  });
});

describe('the dead-letter contract in docs/contracts.md', () => {
  const contract = readFileSync(new URL('../../../docs/contracts.md', import.meta.url), 'utf8');
  const line = /`DeadLetterQueue`[^\n]*\n\s*`(\{.*\})`/.exec(contract)?.[1] ?? '';
  const keysOf = (text: string) => [...text.matchAll(/"(\w+)"\??:/g)].map((m) => m[1]);

  it('names the fields a processor dead letter has, record fields included', async () => {
    const p = pipeline();
    await p.run(sourceRecords([{ ...position(), lat: 91 }]));
    const [message] = p.deadLetters.messages;
    const recordDoc = /"record"\?: (\{[^}]*\})/.exec(line)?.[1] ?? '';

    expect(keysOf(recordDoc).sort()).toEqual(Object.keys(message!.record!).sort());
    const documented = keysOf(line.replace(recordDoc, '').replace(/\[\{[^\]]*\]/, '[]'));
    expect(Object.keys(message!).every((key) => documented.includes(key))).toBe(true);
  });
});
