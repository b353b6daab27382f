import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on `scope` (and its children). Every acknowledgment lives next to the
 * code that causes the finding and must say why it is acceptable; an empty reason fails the synth.
 */
export function acknowledgeNag(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`cdk-nag acknowledgment ${id} on ${scope.node.path} needs a reason`);
  Validations.of(scope).acknowledge({ id, reason });
}
