// policy.alphabetical (src/policy/rank-alphabetical.ts). Flux's cases come from image-reflector-controller
// internal/policy/alphabetical_test.go (TestAlphabetical_Latest), written in DOSync's order words (Flux's
// default `ASC` picks the last in byte order, as DOSync's default `desc` does; Flux's `DESC` the first, as
// DOSync's `asc`). Distinct tags tie only through an extract template: Flux's filter keeps the last listed.
import { runTable, type PolicyCase } from './table.js';

const alphabetical = (order?: unknown) => ({ policy: { alphabetical: order === undefined ? {} : { order } } });
const calver = ['16.04', '16.04.1', '16.10', '20.04', '20.10'];
const codenames = ['xenial', 'yakkety', 'zesty', 'artful', 'bionic'];
const stamps = ['1606234201', '1606364286', '1606334092', '1606334284', '1606334201'];

const flux: PolicyCase[] = [
  { name: 'Flux: Ubuntu CalVer', policy: alphabetical(), tags: calver, selected: '20.10' },
  { name: 'Flux: Ubuntu CalVer, first', policy: alphabetical('asc'), tags: calver, selected: '16.04' },
  { name: 'Flux: Ubuntu code names', policy: alphabetical(), tags: codenames, selected: 'zesty' },
  { name: 'Flux: Ubuntu code names, first', policy: alphabetical('asc'), tags: codenames, selected: 'artful' },
  { name: 'Flux: timestamps', policy: alphabetical(), tags: stamps, selected: '1606364286' },
  { name: 'Flux: timestamps, first', policy: alphabetical('asc'), tags: stamps, selected: '1606234201' },
  { name: 'Flux: timestamps with prefix', policy: alphabetical(), tags: stamps.map((t) => `rel-${t}`), selected: 'rel-1606364286' },
  { name: 'Flux: empty list', policy: alphabetical(), tags: [], selected: null },
];

const ties: PolicyCase[] = [
  { name: 'the same extracted value: the last listed', policy: { filterTags: { pattern: '^(?P<d>\\d+)-', extract: '$d' }, ...alphabetical() }, tags: ['5-b', '5-a', '4-z'], selected: '5-a' },
  { name: 'the same extracted value, the other way round', policy: { filterTags: { pattern: '^(?P<d>\\d+)-', extract: '$d' }, ...alphabetical() }, tags: ['5-a', '5-b', '4-z'], selected: '5-b' },
  { name: 'the same extracted value under asc: the last listed', policy: { filterTags: { pattern: '^(?P<d>\\d+)-', extract: '$d' }, ...alphabetical('asc') }, tags: ['4-z', '4-a', '5-b'], selected: '4-a' },
];

const orders: PolicyCase[] = [
  { name: 'order DESC (case-insensitive)', policy: alphabetical('DESC'), tags: ['a', 'b'], selected: 'b' },
  { name: 'order Asc', policy: alphabetical('Asc'), tags: ['a', 'b'], selected: 'a' },
  { name: "empty order '' is the default", policy: alphabetical(''), tags: ['a', 'b'], selected: 'b' },
  { name: 'order: (null) is the default', policy: alphabetical(null), tags: ['a', 'b'], selected: 'b' },
  { name: 'label alphabetical:ASC', sources: { labels: { 'dosync.policy': 'alphabetical:ASC' } }, tags: ['a', 'b'], selected: 'a' },
];

const values: PolicyCase[] = [
  { name: 'desc', policy: alphabetical('desc'), tags: ['a', 'c', 'b'], selected: 'c' },
  { name: 'asc', policy: alphabetical('asc'), tags: ['b', 'a', 'c'], selected: 'a' },
  { name: 'byte order (uppercase first)', policy: alphabetical(), tags: ['Z', 'a'], selected: 'a' },
  { name: '9 after 10', policy: alphabetical(), tags: ['10', '9'], selected: '9' },
  { name: 'code point order, not UTF-16 (Go compares bytes)', policy: alphabetical(), tags: ['\u{1F600}', '\uFF21'], selected: '\u{1F600}' },
  { name: 'an extracted date', policy: { filterTags: { pattern: '^nightly-(?P<d>\\d{8})$', extract: '$d' }, ...alphabetical() }, tags: ['nightly-20231231', 'nightly-20240105', 'nightly-2024010'], selected: 'nightly-20240105' },
  { name: 'an empty extracted value', policy: { filterTags: { pattern: '^x(?P<o>y)?', extract: '$o' }, ...alphabetical('asc') }, tags: ['xy', 'x'], selected: 'x' },
];

runTable('alphabetical ranker: Flux cases', flux);
runTable('alphabetical ranker: ties', ties);
runTable('alphabetical ranker: order words', orders);
runTable('alphabetical ranker: values', values);
