import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../../src/metrics/index.js';

test('service series carry the project label when one is named; two projects with the same service name stay apart', async () => {
  const m = createMetrics({ processMetrics: false });
  m.checked('web', 'shop');
  m.checked('web', 'blog');
  m.checked('web', 'blog');
  m.updated('web', 'rolled-back', 'shop');
  m.failed('web', 'health', 'shop');
  m.forgetService('web', 'blog');
  const text = await m.render();
  assert.match(text, /^dosync_checks_total\{service="web",project="shop"\} 1$/m);
  assert.doesNotMatch(text, /project="blog"/, 'forgetService drops only that project\'s series');
  assert.match(text, /^dosync_updates_total\{service="web",result="rolled-back",project="shop"\} 1$/m);
  assert.match(text, /^dosync_failures_total\{service="web",stage="health",project="shop"\} 1$/m);
});
