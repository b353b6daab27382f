// Placeholder so the CDK app can synthesize while this function is written; replaced by its owner.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
