/**
 * The SQS query protocol (form-encoded `Action=...` requests, XML responses) that the AWS CLI v1 before
 * botocore 1.31 and older SDKs speak, translated to and from the JSON protocol's shapes, so the emulator
 * keeps one implementation of each action for both.
 */

/** The namespace of every SQS query response (API version 2012-11-05). */
export const SQS_XML_NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** Flattened lists of scalars: `AttributeName.1=All` → `AttributeNames: ['All']`. */
const SCALAR_LISTS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
};

/** Flattened lists of entries: `SendMessageBatchRequestEntry.1.Id=a` → `Entries: [{ Id: 'a' }]`. */
const ENTRY_LISTS = new Set(['SendMessageBatchRequestEntry', 'DeleteMessageBatchRequestEntry']);

/** Groups `Prefix.N.rest=value` by N, in N order. */
function numbered(params: [string, string][], prefix: string): [string, string][][] {
  const groups = new Map<number, [string, string][]>();
  for (const [key, value] of params) {
    const match = key.match(new RegExp(`^${prefix}\\.(\\d+)(?:\\.(.*))?$`));
    if (!match) continue;
    const index = Number(match[1]);
    const group = groups.get(index) ?? [];
    group.push([match[2] ?? '', value]);
    groups.set(index, group);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** The JSON-protocol shape of a flat list of query parameters (one request, or one batch entry). */
function shape(params: [string, string][]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of params) if (!key.includes('.')) body[key] = value;
  for (const [name, jsonName] of Object.entries(SCALAR_LISTS)) {
    const values = numbered(params, name).map((group) => group.find(([rest]) => rest === '')?.[1] ?? '');
    if (values.length > 0) body[jsonName] = values;
  }
  const attributes = numbered(params, 'Attribute');
  if (attributes.length > 0) {
    const get = (group: [string, string][], field: string) => group.find(([rest]) => rest === field)?.[1] ?? '';
    body.Attributes = Object.fromEntries(attributes.map((group) => [get(group, 'Name'), get(group, 'Value')]));
  }
  const messageAttributes = numbered(params, 'MessageAttribute');
  if (messageAttributes.length > 0) {
    body.MessageAttributes = Object.fromEntries(
      messageAttributes.map((group) => {
        const field = (name: string) => group.find(([rest]) => rest === name)?.[1];
        const value: Record<string, string> = { DataType: field('Value.DataType') ?? '' };
        const stringValue = field('Value.StringValue');
        const binaryValue = field('Value.BinaryValue');
        if (stringValue !== undefined) value.StringValue = stringValue;
        if (binaryValue !== undefined) value.BinaryValue = binaryValue;
        return [field('Name') ?? '', value];
      }),
    );
  }
  for (const name of ENTRY_LISTS) {
    const entries = numbered(params, name);
    if (entries.length > 0) body.Entries = entries.map(shape);
  }
  return body;
}

/** A query request as the action's name and its JSON-protocol input. */
export function parseQueryRequest(params: URLSearchParams): { action: string; body: Record<string, unknown> } {
  const list = [...params.entries()];
  const {
    Action: action = '',
    Version: _version,
    ...body
  } = shape(list) as Record<string, unknown> & {
    Action?: string;
    Version?: string;
  };
  return { action, body };
}

const escapeXml = (text: string) =>
  text.replace(
    /[&<>"'\r]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? '&#xD;',
  );

const element = (name: string, content: string) => `<${name}>${content}</${name}>`;

/** The element each entry of a JSON list becomes, per action and list (flattened, as SQS writes them). */
function listElement(action: string, key: string): string | undefined {
  if (key === 'Messages') return 'Message';
  if (key === 'QueueUrls') return 'QueueUrl';
  if (key === 'Successful') return `${action}ResultEntry`;
  if (key === 'Failed') return 'BatchResultErrorEntry';
  return undefined;
}

function toXml(action: string, value: Record<string, unknown>): string {
  let xml = '';
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined || field === null) continue;
    if (Array.isArray(field)) {
      const name = listElement(action, key) ?? key;
      for (const item of field) {
        xml += element(
          name,
          typeof item === 'object' ? toXml(action, item as Record<string, unknown>) : escapeXml(String(item)),
        );
      }
    } else if (key === 'Attributes') {
      for (const [name, attribute] of Object.entries(field as Record<string, string>))
        xml += element('Attribute', element('Name', escapeXml(name)) + element('Value', escapeXml(attribute)));
    } else if (key === 'MessageAttributes') {
      for (const [name, attribute] of Object.entries(field as Record<string, Record<string, string>>))
        xml += element(
          'MessageAttribute',
          element('Name', escapeXml(name)) + element('Value', toXml(action, attribute)),
        );
    } else if (typeof field === 'object') {
      xml += element(key, toXml(action, field as Record<string, unknown>));
    } else {
      xml += element(key, escapeXml(String(field)));
    }
  }
  return xml;
}

/** The XML response of `action` for its JSON-protocol output. */
export function renderQueryResponse(action: string, output: Record<string, unknown>, requestId: string): string {
  const content = toXml(action, output);
  // Actions without output (DeleteMessage, PurgeQueue, ...) have no Result element.
  const result = content ? element(`${action}Result`, content) : '';
  return (
    `<?xml version="1.0"?><${action}Response xmlns="${SQS_XML_NAMESPACE}">${result}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The query protocol's error document. `code` is the query error code (e.g. `AWS.SimpleQueueService.NonExistentQueue`). */
export function renderQueryError(
  code: string,
  message: string,
  requestId: string,
  fault: 'Sender' | 'Receiver',
): string {
  return (
    `<?xml version="1.0"?><ErrorResponse xmlns="${SQS_XML_NAMESPACE}"><Error><Type>${fault}</Type>` +
    `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><Detail/></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
