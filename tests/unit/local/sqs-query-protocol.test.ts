import { describe, expect, it } from 'vitest';
import {
  parseQueryRequest,
  renderQueryError,
  renderQueryResponse,
  SQS_XML_NAMESPACE,
} from '../../../local/runtime/sqs-query-protocol.js';

describe('SQS query protocol', () => {
  it('reads a form-encoded request as the JSON protocol input of its action', () => {
    const params = new URLSearchParams(
      'Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fq&MessageBody=hi' +
        '&MessageAttribute.1.Name=kind&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=a',
    );

    expect(parseQueryRequest(params)).toEqual({
      action: 'SendMessage',
      body: {
        QueueUrl: 'http://h/000000000000/q',
        MessageBody: 'hi',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'a' } },
      },
    });
  });

  it('reads numbered lists, attribute maps and batch entries in index order', () => {
    const params = new URLSearchParams(
      'Action=SendMessageBatch&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&AttributeName.2=B&AttributeName.1=A' +
        '&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=2' +
        '&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=1&SendMessageBatchRequestEntry.1.DelaySeconds=3',
    );

    expect(parseQueryRequest(params).body).toEqual({
      Attributes: { VisibilityTimeout: '5' },
      AttributeNames: ['A', 'B'],
      Entries: [
        { Id: 'a', MessageBody: '1', DelaySeconds: '3' },
        { Id: 'b', MessageBody: '2' },
      ],
    });
  });

  it('writes a received message as SQS does: flattened Message, Attribute and MessageAttribute elements', () => {
    const xml = renderQueryResponse(
      'ReceiveMessage',
      {
        Messages: [
          {
            MessageId: 'm1',
            ReceiptHandle: 'r1',
            MD5OfBody: 'abc',
            Body: '{"a":"<&>"}',
            Attributes: { ApproximateReceiveCount: '1' },
            MessageAttributes: { kind: { DataType: 'String', StringValue: 'a' } },
          },
        ],
      },
      'req-1',
    );

    expect(xml).toBe(
      `<?xml version="1.0"?><ReceiveMessageResponse xmlns="${SQS_XML_NAMESPACE}"><ReceiveMessageResult><Message>` +
        '<MessageId>m1</MessageId><ReceiptHandle>r1</ReceiptHandle><MD5OfBody>abc</MD5OfBody>' +
        '<Body>{&quot;a&quot;:&quot;&lt;&amp;&gt;&quot;}</Body>' +
        '<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>' +
        '<MessageAttribute><Name>kind</Name><Value><DataType>String</DataType><StringValue>a</StringValue></Value></MessageAttribute>' +
        '</Message></ReceiveMessageResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ReceiveMessageResponse>',
    );
  });

  it('writes batch results as <Action>ResultEntry and BatchResultErrorEntry, and no Result for empty outputs', () => {
    const batch = renderQueryResponse(
      'DeleteMessageBatch',
      {
        Successful: [{ Id: 'a' }],
        Failed: [{ Id: 'b', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'no' }],
      },
      'r',
    );
    const empty = renderQueryResponse('DeleteMessage', {}, 'r');

    expect(batch).toContain(
      '<DeleteMessageBatchResult><DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>' +
        '<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault><Code>ReceiptHandleIsInvalid</Code><Message>no</Message></BatchResultErrorEntry>' +
        '</DeleteMessageBatchResult>',
    );
    expect(empty).toBe(
      `<?xml version="1.0"?><DeleteMessageResponse xmlns="${SQS_XML_NAMESPACE}"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteMessageResponse>`,
    );
  });

  it('writes an error as an ErrorResponse with type, query error code and message', () => {
    expect(renderQueryError('AWS.SimpleQueueService.NonExistentQueue', 'gone', 'r', 'Sender')).toBe(
      `<?xml version="1.0"?><ErrorResponse xmlns="${SQS_XML_NAMESPACE}"><Error><Type>Sender</Type>` +
        '<Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>gone</Message><Detail/></Error><RequestId>r</RequestId></ErrorResponse>',
    );
  });
});
