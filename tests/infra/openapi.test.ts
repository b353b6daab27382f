/**
 * docs/openapi.yaml is the API's contract; these tests keep it, the deployed REST API (the synthesized
 * template) and the read API's router from drifting apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { routes } from '../../pipelines/transit/routes.js';
import { synthTemplate } from '../helpers/synth.js';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface OpenApiOperation {
  security?: Record<string, string[]>[];
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], OpenApiOperation>>>;
  security?: Record<string, string[]>[];
  components?: {
    securitySchemes?: Record<
      string,
      { type: string; in?: string; name?: string; 'x-amazon-apigateway-authtype'?: string }
    >;
  };
}

const document = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as OpenApiDocument;

/** `METHOD /path` of every operation in the document. */
function documentedOperations(): Map<string, OpenApiOperation> {
  const operations = new Map<string, OpenApiOperation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) operations.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return operations;
}

type Ref = { Ref: string } | { 'Fn::GetAtt': [string, string] };

/**
 * `METHOD /path` of every API Gateway method in the template, each path rebuilt by walking its resource's
 * PathPart/ParentId chain up to the API's root. CORS preflight (OPTIONS) methods are not part of the contract.
 */
function deployedMethods(): Map<string, { apiKeyRequired: boolean; authorizationType: string }> {
  const template = synthTemplate();
  const resources = template.findResources('AWS::ApiGateway::Resource') as Record<
    string,
    { Properties: { PathPart: string; ParentId: Ref } }
  >;
  const pathOf = (ref: Ref): string => {
    if ('Fn::GetAtt' in ref) {
      expect(ref['Fn::GetAtt'][1]).toBe('RootResourceId');
      return '';
    }
    const resource = resources[ref.Ref];
    if (!resource) throw new Error(`resource ${ref.Ref} is not an AWS::ApiGateway::Resource`);
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart}`;
  };
  const methods = template.findResources('AWS::ApiGateway::Method') as Record<
    string,
    { Properties: { HttpMethod: string; ResourceId: Ref; ApiKeyRequired?: boolean; AuthorizationType?: string } }
  >;
  const deployed = new Map<string, { apiKeyRequired: boolean; authorizationType: string }>();
  for (const { Properties: method } of Object.values(methods)) {
    if (method.HttpMethod === 'OPTIONS') continue;
    const path = pathOf(method.ResourceId) || '/';
    deployed.set(`${method.HttpMethod} ${path}`, {
      apiKeyRequired: method.ApiKeyRequired === true,
      authorizationType: method.AuthorizationType ?? 'NONE',
    });
  }
  return deployed;
}

describe('docs/openapi.yaml', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('documents exactly the REST methods the stack deploys', () => {
    const documented = [...documentedOperations().keys()].sort();
    const deployed = [...deployedMethods().keys()].sort();

    expect(deployed.length).toBeGreaterThan(0);
    expect(documented).toEqual(deployed);
  });

  it('requires the x-api-key header exactly where API Gateway requires a key', () => {
    const scheme = document.components?.securitySchemes?.apiKey;
    const documentedWithKey = [...documentedOperations()]
      .filter(([, operation]) => (operation.security ?? document.security ?? []).some((s) => 'apiKey' in s))
      .map(([key]) => key)
      .sort();
    const deployedWithKey = [...deployedMethods()]
      .filter(([, method]) => method.apiKeyRequired)
      .map(([key]) => key)
      .sort();

    expect(scheme).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(documentedWithKey).toEqual(['POST /v1/events', 'POST /v1/transit/events']);
    expect(deployedWithKey).toEqual(documentedWithKey);
  });

  it("lists each route's security as the template sets it: API key, IAM (SigV4), Cognito or none", () => {
    const SCHEME_OF: Record<string, string | undefined> = {
      NONE: undefined,
      AWS_IAM: 'sigv4',
      COGNITO_USER_POOLS: 'cognito',
    };
    const schemes = document.components?.securitySchemes ?? {};
    const documented = Object.fromEntries(
      [...documentedOperations()].map(([key, operation]) => {
        expect(operation.security, `${key} states its security`).toBeDefined();
        return [key, (operation.security ?? []).flatMap((requirement) => Object.keys(requirement)).sort()];
      }),
    );
    const deployed = Object.fromEntries(
      [...deployedMethods()].map(([key, method]) => {
        const scheme = SCHEME_OF[method.authorizationType];
        return [key, [...(method.apiKeyRequired ? ['apiKey'] : []), ...(scheme ? [scheme] : [])].sort()];
      }),
    );

    expect(documented).toEqual(deployed);
    expect(schemes.sigv4?.['x-amazon-apigateway-authtype']).toBe('awsSigv4');
    expect(schemes.cognito?.['x-amazon-apigateway-authtype']).toBe('cognito_user_pools');
  });

  it('has a route in the read API for every documented GET, and no undocumented one', () => {
    const documentedGets = [...documentedOperations().keys()].filter((key) => key.startsWith('GET ')).sort();
    const routed = routes.map((route) => `${route.method} ${route.resource}`).sort();

    expect(routed).toEqual(documentedGets);
  });
});
