/** What a function's role may do in a synthesized template, in terms a test can compare. */
import type { CfnResource } from '../../local/runtime/template.js';

/** A statement of an IAM policy document, as far as the tests read it. */
export interface PolicyStatement {
  Action: string | string[];
  Resource: unknown;
}

/** What a resource ARN in a policy names: a logical id, `<id>/index/*`, or the raw value. */
export function arnName(arn: unknown): unknown {
  const value = arn as { 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
  if (value['Fn::GetAtt']) return value['Fn::GetAtt'][0];
  const parts = value['Fn::Join']?.[1];
  if (parts?.length === 2 && typeof parts[1] === 'string') return `${arnName(parts[0])}${parts[1]}`;
  return arn;
}

/** The statements of a function role's policy, as [actions, resources named], without the logs and X-Ray ones every function has. */
export function grants(all: Record<string, CfnResource>, functionLogicalId: string): [string[], unknown[]][] {
  const role = (all[functionLogicalId]!.Properties!['Role'] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  const policy = Object.values(all).find(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(resource.Properties?.['Roles']) === JSON.stringify([{ Ref: role }]),
  );
  const statements = (policy!.Properties!['PolicyDocument'] as { Statement: PolicyStatement[] }).Statement;
  return statements
    .map((statement): [string[], unknown[]] => [
      [statement.Action].flat(),
      [statement.Resource].flat().map((resource) => arnName(resource)),
    ])
    .filter(([actions]) => !actions[0]!.startsWith('logs:') && !actions[0]!.startsWith('xray:'));
}

/** The actions `grantReadData` gives on a table, sorted as CDK writes them. */
export const TABLE_READ = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:Query',
  'dynamodb:Scan',
];
/** The actions `grantReadWriteData` gives on a table, sorted as CDK writes them. */
export const TABLE_READ_WRITE = [
  ...TABLE_READ,
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
].sort();
