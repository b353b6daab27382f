import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { detectorContext } from '../../../shared/engine/detectors.js';
import { DynamoEngineStore } from '../../../shared/engine/dynamo-engine-store.js';
import { compile } from '../../../shared/engine/run-batch.js';

/** A client that records each command's input and answers every query with nothing. */
function recordingClient() {
  const inputs: Array<Record<string, unknown>> = [];
  const client = {
    send: async (command: { input: Record<string, unknown> }) => {
      inputs.push(command.input);
      return { Items: [] };
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, inputs };
}

describe('DynamoEngineStore outputs', () => {
  it('reads outputs eventually consistent for routes, and consistently when asked', async () => {
    const { client, inputs } = recordingClient();
    const store = new DynamoEngineStore(client, 'table', 'test');

    await store.queryOutputs('pk', { from: 'a', to: 'z', limit: 10 });
    await store.queryOutputs('pk', { from: 'a', to: 'z', limit: 10, consistent: true });

    expect(inputs.map((i) => i.ConsistentRead)).toEqual([undefined, true]);
  });

  it('is read consistently by a detector looking for its own detection', async () => {
    const { client, inputs } = recordingClient();
    const compiled = compile({
      pipeline: 'test',
      allowedLatenessMs: 0,
      operators: [
        {
          kind: 'windows',
          name: 'w',
          key: () => 'k',
          windows: { kind: 'tumbling', sizeMs: 1, slideMs: 1 },
          aggregate: {},
        },
      ],
    });

    await detectorContext(compiled, new DynamoEngineStore(client, 'table', 'test'), 0).detection('d', 5, 'id');

    expect(inputs).toEqual([expect.objectContaining({ ConsistentRead: true, Limit: 1 })]);
  });
});
