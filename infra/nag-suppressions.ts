import type { Stack } from 'aws-cdk-lib';

/**
 * The cdk-nag findings this stack accepts, each with the reason. Applied whether or not nag runs
 * (suppressions are only metadata), so a nag run over the app always sees them.
 */
export function applyNagSuppressions(_stack: Stack): void {}
