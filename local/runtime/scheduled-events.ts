/** The event EventBridge sends the targets of a scheduled rule, built for a local tick. */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './intrinsics.js';

/** A `Scheduled Event` exactly as EventBridge builds it: `detail` is empty, `resources` names the rule. */
export function buildScheduledEvent(
  ruleArn: string,
  at: Date,
  id: string = randomUUID(),
): ScheduledEvent<Record<string, never>> {
  return {
    version: '0',
    id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    // EventBridge writes whole seconds: 2026-01-01T00:01:00Z.
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [ruleArn],
    detail: {},
  };
}
