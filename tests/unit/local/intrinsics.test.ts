// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are CloudFormation Fn::Sub templates, not JS ones
import { describe, expect, it } from 'vitest';
import { findReferencedId, localArn, resolveIntrinsic } from '../../../local/runtime/intrinsics.js';
import { fixtureTemplate } from './fixtures/fixture-template.js';

const addresses = {
  sqsEndpoint: 'http://127.0.0.1:9324',
  webSocketManagementUrl: 'http://127.0.0.1:3001',
  webSocketUrl: 'ws://127.0.0.1:3001',
};
const where = { resource: 'Fn', property: 'Environment.Variables.X' };
const resolve = (expression: unknown) => resolveIntrinsic(fixtureTemplate(), expression, addresses, where);

describe('resolveIntrinsic', () => {
  it('resolves a Ref of a table or stream to its logical id', () => {
    expect(resolve({ Ref: 'SeenTable' })).toBe('SeenTable');
    expect(resolve({ Ref: 'PoisonStream' })).toBe('PoisonStream');
  });

  it('resolves a Ref of a queue to its local URL', () => {
    expect(resolve({ Ref: 'FailureQueue' })).toBe('http://127.0.0.1:9324/000000000000/FailureQueue');
  });

  it('resolves GetAtt Arn to well-formed fake ARNs', () => {
    expect(resolve({ 'Fn::GetAtt': ['SeenTable', 'Arn'] })).toBe(
      'arn:aws:dynamodb:us-east-1:000000000000:table/SeenTable',
    );
    expect(resolve({ 'Fn::GetAtt': ['FailureQueue', 'Arn'] })).toBe('arn:aws:sqs:us-east-1:000000000000:FailureQueue');
    expect(resolve({ 'Fn::GetAtt': 'EchoFunction.Arn' })).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:EchoFunction',
    );
  });

  it('resolves Fn::Sub with resources, attributes, pseudo parameters and literals', () => {
    expect(resolve({ 'Fn::Sub': '${SeenTable}|${PartialStream.Arn}|${AWS::Region}|${!Literal}' })).toBe(
      'SeenTable|arn:aws:kinesis:us-east-1:000000000000:stream/PartialStream|us-east-1|${Literal}',
    );
    expect(resolve({ 'Fn::Sub': ['${Name}-x', { Name: { Ref: 'SeenTable' } }] })).toBe('SeenTable-x');
  });

  it('maps any callback URL built from the WebSocket API to the local management endpoint', () => {
    expect(resolve({ 'Fn::Sub': 'https://${WsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${WsStage}' })).toBe(
      'http://127.0.0.1:3001',
    );
    expect(
      resolve({ 'Fn::Join': ['', ['wss://', { Ref: 'WsApi' }, '.execute-api.us-east-1.amazonaws.com/prod']] }),
    ).toBe('ws://127.0.0.1:3001');
  });

  it('fails naming the resource and property for an intrinsic it does not know', () => {
    expect(() => resolve({ 'Fn::If': ['c', 'a', 'b'] })).toThrow(
      'Fn.Environment.Variables.X: Fn::If is not supported by the local runtime',
    );
  });

  it('fails for an attribute it cannot emulate', () => {
    expect(() => resolve({ 'Fn::GetAtt': ['SeenTable', 'StreamArn'] })).toThrow(/SeenTable.StreamArn/);
  });
});

describe('findReferencedId', () => {
  it('finds the function inside an integration URI', () => {
    const template = fixtureTemplate();
    const uri = template.Resources.ApiRootGET?.Properties?.Integration as { Uri: unknown };

    expect(findReferencedId(template, uri.Uri, new Set(['AWS::Lambda::Function']))).toBe('EchoFunction');
  });
});

describe('localArn', () => {
  it('builds a stream ARN in the region and account of the local stack', () => {
    expect(localArn('kinesis', 'InputStream')).toBe('arn:aws:kinesis:us-east-1:000000000000:stream/InputStream');
  });
});
