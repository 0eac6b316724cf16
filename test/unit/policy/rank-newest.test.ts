// policy.newest (src/policy/rank-newest.ts), a dosync addition without a Flux counterpart: the most recent
// push time wins; equal push times go to the tag first in byte order, whatever the input order.
import { at, runTable, type PolicyCase } from './table.js';

const newest = { policy: { newest: {} } };
const jan = at('2024-01-01T00:00:00Z');

const cases: PolicyCase[] = [
  { name: 'newest push wins', policy: newest, tags: [{ tag: 'a', pushedAt: jan }, { tag: 'b', pushedAt: at('2024-03-01T00:00:00Z') }, { tag: 'c', pushedAt: at('2024-02-01T00:00:00Z') }], selected: 'b' },
  { name: 'tags without push time are dropped', policy: { policy: { newest: null } }, tags: [{ tag: 'a', pushedAt: jan }, 'b'], selected: 'a' },
  { name: 'no push time at all', policy: newest, tags: ['a', 'b'], selected: null },
  { name: 'tie: first in byte order', policy: newest, tags: [{ tag: 'y', pushedAt: jan }, { tag: 'x', pushedAt: jan }], selected: 'x' },
  { name: 'tie the other way round: still first in byte order', policy: newest, tags: [{ tag: 'x', pushedAt: jan }, { tag: 'y', pushedAt: jan }], selected: 'x' },
  {
    name: 'with a glob filter',
    policy: { tagPattern: 'staging-*', ...newest },
    tags: [{ tag: 'prod-1', pushedAt: at('2024-05-01T00:00:00Z') }, { tag: 'staging-1', pushedAt: at('2024-04-01T00:00:00Z') }, { tag: 'staging-2', pushedAt: at('2024-03-01T00:00:00Z') }],
    selected: 'staging-1',
  },
  {
    name: 'a tag listed twice keeps its latest push time',
    policy: newest,
    tags: [{ tag: 'a', pushedAt: jan }, { tag: 'b', pushedAt: at('2024-02-01T00:00:00Z') }, { tag: 'a', pushedAt: at('2024-03-01T00:00:00Z') }],
    selected: 'a',
  },
];

runTable('newest ranker', cases);
