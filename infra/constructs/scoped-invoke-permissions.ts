import { type IAspect, Stack, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { suppressControl } from '../control-tower.js';

/**
 * Scopes every permission that lets an AWS service invoke a function to this stack's account as well as
 * to its source ARN (CDK already sets the API's execute-api ARN, or the rule's ARN for EventBridge).
 * Control Tower's CT.LAMBDA.PR.2 accepts only a literal SourceAccount or a SourceArn that is a string or a
 * reference to a resource of the template; an environment-agnostic stack has no literal account, so an
 * API's permission (its SourceArn is an `Fn::Join`) is suppressed there, with why. A rule's permission
 * names the rule itself (`Fn::GetAtt`) and passes as it is.
 */
export class ScopedInvokePermissions implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof lambda.CfnPermission)) return;
    if (typeof node.principal !== 'string' || !node.principal.endsWith('.amazonaws.com')) return;
    const stack = Stack.of(node);
    const { account } = stack;
    node.sourceAccount ??= account;
    if (Token.isUnresolved(account) && !isLocalReference(stack.resolve(node.sourceArn))) {
      suppressControl(
        node,
        'CT.LAMBDA.PR.2',
        'The permission is scoped to the API: SourceArn is its execute-api ARN (partition, region, account, API id, ' +
          'stage, method, path) and SourceAccount is AWS::AccountId. The rule reads only literal values, which an ' +
          'environment-agnostic stack cannot have; give the stack an account (env) and it passes without this.',
      );
    }
  }
}

/** Whether a resolved value names a resource of the template (`Fn::GetAtt`, or a `Ref` that is no pseudo parameter). */
function isLocalReference(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const entries = Object.entries(value);
  if (entries.length !== 1) return false;
  const [key, target] = entries[0]!;
  return key === 'Fn::GetAtt' || (key === 'Ref' && typeof target === 'string' && !target.startsWith('AWS::'));
}
