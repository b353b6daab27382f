import { basename, extname, join } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgeControl } from '../control-tower.js';
import { acknowledgeNag } from '../nag.js';
import { repoPath, repoRoot } from '../paths.js';
import { StreamfoldTable } from './streamfold-table.js';

/** CloudFormation metadata key naming a function's source entry; the local runtime runs that file. */
export const ENTRY_METADATA_KEY = 'streamfold:entry';

/** The Powertools metrics namespace every function publishes to (docs/contracts.md). */
export const METRICS_NAMESPACE = 'Streamfold';

// An export name as Lambda's Node.js runtime resolves it (no dots: those separate the file from the export).
const JS_IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** How a function may use a table. */
export type TableAccess = 'read' | 'write' | 'readWrite';

/** How a function may use a stream. */
export type StreamAccess = 'read' | 'write';

/** Options of a {@link StreamfoldFunction}. */
export interface StreamfoldFunctionProps {
  /** Handler module relative to the repository root, e.g. `functions/processor.ts`. */
  readonly entry: string;
  /**
   * Name of the export of `entry` that Lambda invokes, for a module that exports several handlers (a
   * pipeline's `handlers.ts`). The template's `Handler` is `index.<name>`; the local runtime runs the export
   * named after the last dot.
   * @default 'handler'
   */
  readonly handler?: string;
  /**
   * Longest one invocation may run.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB; CPU scales with it, and JSON parsing plus Avro validation are CPU-bound.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Powertools service name: the `service` key of logs and traces and the `service` metric dimension.
   * @default the entry's file name without extension, e.g. `processor`
   */
  readonly serviceName?: string;
  /**
   * Environment variables besides the defaults and those set by the `bind*` methods.
   * @default none
   */
  readonly environment?: Record<string, string>;
  /**
   * How long the function's logs are kept (in the Streamfold stack, its `logRetention` setting wins).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Description shown in the console.
   * @default the entry path, followed by `#<handler>` for a named export
   */
  readonly description?: string;
  /**
   * Network to attach the function to, for functions that talk to something only reachable inside a
   * VPC (an MSK cluster). Without a NAT such a function reaches AWS APIs only through VPC endpoints.
   * @default not in a VPC
   */
  readonly vpc?: StreamfoldFunctionVpc;
}

/** Where in a VPC a {@link StreamfoldFunction} runs. */
export interface StreamfoldFunctionVpc {
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** Subnets to place the function's network interfaces in. */
  readonly subnets: ec2.SubnetSelection;
  /** Security groups of the function's network interfaces. */
  readonly securityGroups: readonly ec2.ISecurityGroup[];
}

/**
 * A Node.js Lambda function with the project's defaults (Node 24 on arm64, active tracing, an explicit
 * log group with retention, ESM bundle with source maps, Powertools settings), and `bind*` methods that
 * grant access and set the matching environment variable in one call so permissions and config can't drift.
 */
export class StreamfoldFunction extends nodejs.NodejsFunction {
  /** Repo-relative entry path, as recorded in the `streamfold:entry` metadata. */
  public readonly entryPath: string;

  constructor(scope: Construct, id: string, props: StreamfoldFunctionProps) {
    const handler = props.handler ?? 'handler';
    // NodejsFunction takes a name with a dot as a whole `file.export` and Lambda would look for that file.
    if (!JS_IDENTIFIER.test(handler)) throw new Error(`${id}: handler must be an export name, got "${handler}"`);
    // Which code runs, as people read it: the entry alone for the usual `handler` export.
    const source = handler === 'handler' ? props.entry : `${props.entry}#${handler}`;
    // The log group and role are created next to the function (not inside it) because they have to
    // exist before `super()`; both are explicit so retention is set and no managed policy is attached.
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    const role = new iam.Role(scope, `${id}ServiceRole`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${source}`,
    });
    logGroup.grantWrite(role);
    if (props.vpc) {
      // What CDK attaches itself to a role it creates for a VPC function: the ENI actions (create,
      // describe, delete, assign addresses) that Lambda needs, which cannot be scoped to resources.
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
      acknowledgeNag(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        'A VPC function needs the EC2 network-interface actions, which take no resource ARNs; the AWS-maintained ' +
          'policy is the documented minimum and follows changes to what Lambda needs.',
      );
    }
    acknowledgeNag(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) use "*": X-Ray has no resource-level permissions.',
    );

    super(scope, id, {
      entry: repoPath(props.entry),
      handler,
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      description: props.description ?? source,
      ...(props.vpc
        ? { vpc: props.vpc.vpc, vpcSubnets: props.vpc.subnets, securityGroups: [...props.vpc.securityGroups] }
        : {}),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? basename(props.entry, extname(props.entry)),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // ESM output has no `require`; some CommonJS dependencies still call it.
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        mainFields: ['module', 'main'],
      },
    });
    this.entryPath = props.entry;
    if (!props.vpc) {
      acknowledgeControl(
        this,
        'CT.LAMBDA.PR.3',
        'The function reaches only AWS APIs (DynamoDB, Kinesis, SQS, API Gateway, X-Ray), all over TLS with IAM; ' +
          'in a VPC it would need a NAT gateway or an interface endpoint per service in every AZ, billed hourly, ' +
          "for no resource that only a VPC can reach. Records from MSK arrive through its event source's pollers, " +
          "which run in the cluster's VPC; the topic function, which dials the brokers itself, runs there too.",
      );
    }
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(ENTRY_METADATA_KEY, props.entry);
  }

  /** Grants access to a table and sets `envName` to its name. */
  bindTable(envName: string, table: dynamodb.ITable, access: TableAccess): this {
    if (access === 'read') table.grantReadData(this);
    else if (access === 'write') table.grantWriteData(this);
    else table.grantReadWriteData(this);
    this.addEnvironment(envName, table.tableName);
    if (table instanceof StreamfoldTable && table.indexNames.length > 0) {
      const logicalId = Stack.of(table).getLogicalId(table.node.defaultChild as dynamodb.CfnTable);
      acknowledgeNag(
        this.role!,
        `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`,
        `The wildcard covers only the indexes of this one table (${table.indexNames.join(', ')}), which the function queries.`,
      );
    }
    return this;
  }

  /** Grants access to a stream and sets `envName` to its name. */
  bindStream(envName: string, stream: kinesis.IStream, access: StreamAccess): this {
    if (access === 'read') stream.grantRead(this);
    else stream.grantWrite(this);
    this.addEnvironment(envName, stream.streamName);
    return this;
  }

  /** Grants sending to a queue and sets `envName` to its URL. */
  bindQueue(envName: string, queue: sqs.IQueue): this {
    queue.grantSendMessages(this);
    this.addEnvironment(envName, queue.queueUrl);
    return this;
  }
}
