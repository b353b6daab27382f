import { describe, expect, it } from 'vitest';
import { selectRouteKey } from '../../../local/runtime/ws-server.js';

describe('selectRouteKey', () => {
  it('evaluates $request.body.action', () => {
    expect(selectRouteKey('$request.body.action', '{"action":"subscribe","topic":"route:R1"}')).toBe('subscribe');
  });

  it('follows nested paths', () => {
    expect(selectRouteKey('$request.body.meta.kind', '{"meta":{"kind":"ping"}}')).toBe('ping');
  });

  it('selects nothing for non-JSON or a missing key, so $default applies', () => {
    expect(selectRouteKey('$request.body.action', 'hello')).toBeUndefined();
    expect(selectRouteKey('$request.body.action', '{"topic":"x"}')).toBeUndefined();
    expect(selectRouteKey('$request.body.action', '{"action":3}')).toBeUndefined();
  });
});
