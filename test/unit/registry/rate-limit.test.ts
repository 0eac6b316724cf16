import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimitRemaining } from '../../../src/registry/transport.js';

test("RateLimit-Remaining as Docker Hub sends it, and what is not a number", () => {
  const cases: Array<[string | string[] | undefined, number | undefined]> = [
    ['100;w=21600', 100],
    [' 0;w=21600', 0],
    ['87', 87],
    [['12;w=60', '13'], 12],
    ['', undefined],
    ['none', undefined],
    [undefined, undefined],
  ];
  for (const [value, want] of cases) assert.equal(rateLimitRemaining(value), want, JSON.stringify(value));
});
