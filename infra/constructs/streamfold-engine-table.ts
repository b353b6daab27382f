import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { StreamfoldTable } from './streamfold-table.js';

const STRING = dynamodb.AttributeType.STRING;
const NUMBER = dynamodb.AttributeType.NUMBER;

/** Options of a {@link StreamfoldEngineTable}. */
export interface StreamfoldEngineTableProps {
  /**
   * What happens to the table and its data when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A table of the engine store's layout (shared/engine/dynamo-engine-store.ts): items by `pk`/`sk`, the
 * sparse `due` index of open windows and sessions by close time, which the tick queries, and expiry by
 * `ttl`. Each pipeline has one, and so does transit beside its own tables; one construct keeps them alike.
 */
export class StreamfoldEngineTable extends StreamfoldTable {
  constructor(scope: Construct, id: string, props: StreamfoldEngineTableProps = {}) {
    super(scope, id, {
      partitionKey: { name: 'pk', type: STRING },
      sortKey: { name: 'sk', type: STRING },
      globalSecondaryIndexes: [
        {
          indexName: 'due',
          partitionKey: { name: 'dueShard', type: STRING },
          sortKey: { name: 'closeAt', type: NUMBER },
        },
      ],
      timeToLiveAttribute: 'ttl',
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    });
  }
}
