import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

/** A key attribute: its name and DynamoDB type. */
export interface KeyAttribute {
  /** Attribute name. */
  readonly name: string;
  /**
   * Attribute type.
   * @default dynamodb.AttributeType.STRING
   */
  readonly type?: dynamodb.AttributeType;
}

/** A global secondary index, projecting all attributes. */
export interface StreamfoldIndex {
  /** Index name, as the functions query it. */
  readonly indexName: string;
  /** Partition key of the index. */
  readonly partitionKey: KeyAttribute;
  /**
   * Sort key of the index.
   * @default no sort key
   */
  readonly sortKey?: KeyAttribute;
}

/** Options of a {@link StreamfoldTable}. */
export interface StreamfoldTableProps {
  /** Partition key. */
  readonly partitionKey: KeyAttribute;
  /**
   * Sort key.
   * @default no sort key
   */
  readonly sortKey?: KeyAttribute;
  /**
   * Global secondary indexes (all attributes projected).
   * @default none
   */
  readonly globalSecondaryIndexes?: readonly StreamfoldIndex[];
  /**
   * Attribute holding an epoch-seconds expiry that DynamoDB deletes items by.
   * @default no TTL
   */
  readonly timeToLiveAttribute?: string;
  /**
   * What happens to the table and its data when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Data the offline runtime can load into this table when it starts (`npm start` passes the data
   * directory by the seed's name), recorded as the `streamfold:seed` metadata the runtime reads.
   * AWS ignores it: a deployed stack is loaded with the loader's own command.
   * @default nothing to seed
   */
  readonly localSeed?: LocalSeed;
}

/** CloudFormation metadata key of a table's offline seeding step (read by local/runtime/plan.ts). */
export const SEED_METADATA_KEY = 'streamfold:seed';

/** A table's offline seeding step: a loader module exporting `load(dir, tableName, { client, log })`. */
export interface LocalSeed {
  /** What `npm start` and the runtime's `seeds` option call it, e.g. `gtfs`. */
  readonly name: string;
  /** Repo-relative loader module. */
  readonly loader: string;
  /** The loader's export. */
  readonly export: string;
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: key.type ?? dynamodb.AttributeType.STRING };
}

/** A DynamoDB table with the project's defaults: on-demand, point-in-time recovery, AWS-managed encryption. */
export class StreamfoldTable extends dynamodb.Table {
  /** Names of the global secondary indexes; grants on the table cover them as `<arn>/index/*`. */
  public readonly indexNames: readonly string[];

  constructor(scope: Construct, id: string, props: StreamfoldTableProps) {
    super(scope, id, {
      partitionKey: attribute(props.partitionKey),
      ...(props.sortKey ? { sortKey: attribute(props.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      ...(props.timeToLiveAttribute ? { timeToLiveAttribute: props.timeToLiveAttribute } : {}),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of props.globalSecondaryIndexes ?? []) {
      this.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    this.indexNames = (props.globalSecondaryIndexes ?? []).map((index) => index.indexName);
    if (props.localSeed) {
      const { name, loader, export: exportName } = props.localSeed;
      (this.node.defaultChild as dynamodb.CfnTable).addMetadata(SEED_METADATA_KEY, {
        name,
        loader,
        export: exportName,
      });
    }
  }
}
