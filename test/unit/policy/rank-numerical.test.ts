// policy.numerical (src/policy/rank-numerical.ts). Flux's cases come from image-reflector-controller
// internal/policy/numerical_test.go (TestNumerical_Latest). Flux's order words are the other way round from
// DOSync's: Flux's default `ASC` and DOSync's default `desc` both pick the highest, Flux's `DESC` picks the
// lowest like DOSync's `asc`; the cases are written in dosync's (DOSync's) words. Flux shuffles its lists;
// here each runs as listed and reversed. Ties: numerical.go takes an equal number too, so the last listed wins.
import { runTable, type PolicyCase } from './table.js';

const numerical = (order?: unknown) => ({ policy: { numerical: order === undefined ? {} : { order } } });

const flux: Array<[string, string[], 'highest' | 'lowest', string]> = [
  ['integers, highest', ['-62', '-88', '73', '72', '15', '16', '15', '29', '-33', '-91'], 'highest', '73'],
  ['integers, lowest', ['5', '-8', '-78', '25', '70', '-4', '80', '92', '-20', '-24'], 'lowest', '-78'],
  ['floats, highest', ['47.40896403322944', '-27.8520927455902', '-27.930666514224427', '-31.352485948094568', '-50.41072694704882', '-21.962849842263736', '24.71884721436865', '-39.99177354004344', '53.47333823144817', '3.2008658570411086'], 'highest', '53.47333823144817'],
  ['floats, lowest', ['-65.27202780220686', '57.82948329142309', '22.40184684363291', '-86.36934305697784', '-90.29082099756083', '-12.041712603564264', '77.70488240399305', '-38.98425003883552', '16.06867070412028', '53.735674335181216'], 'lowest', '-90.29082099756083'],
  ['Unix timestamps, highest', ['1606234201', '1606364286', '1606334092', '1606334284', '1606334201'], 'highest', '1606364286'],
  ['Unix timestamps, lowest', ['1606234201', '1606364286', '1606334092', '1606334284', '1606334201'], 'lowest', '1606234201'],
  ['single value, highest', ['1'], 'highest', '1'],
  ['single value, lowest', ['1'], 'lowest', '1'],
  // Flux fails the whole policy on a value that is no number; DOSync (and dosync) leave that tag out.
  ['a value that is no number', ['0', '1a', 'b'], 'highest', '0'],
];

const fluxCases: PolicyCase[] = flux.flatMap(([name, tags, want, selected]) => {
  const policy = numerical(want === 'highest' ? 'desc' : 'asc');
  return [
    { name: `Flux: ${name}`, policy, tags, selected },
    { name: `Flux: ${name} (reversed)`, policy, tags: [...tags].reverse(), selected },
  ];
});

const ties: PolicyCase[] = [
  { name: 'equal numbers 7, 007: the last listed', policy: numerical(), tags: ['7', '007'], selected: '007' },
  { name: 'equal numbers 007, 7: the last listed', policy: numerical(), tags: ['007', '7'], selected: '7' },
  { name: 'equal lowest numbers under asc: the last listed', policy: numerical('asc'), tags: ['1', '1.0', '2', '1e0'], selected: '1e0' },
  { name: 'numbers equal past 2^53 stay apart (exact, not float64)', policy: numerical(), tags: ['9007199254740993', '9007199254740992'], selected: '9007199254740993' },
  {
    name: 'the same extracted number: the last listed (Flux filter.go)',
    policy: { filterTags: { pattern: '^b-(?P<n>\\d+)-', extract: '$n' }, ...numerical() },
    tags: ['b-5-x', 'b-5-y', 'b-4-z'],
    selected: 'b-5-y',
  },
  {
    name: 'different extracted values, equal numbers: the value listed last',
    policy: { filterTags: { pattern: '^b-(?P<n>[0-9.]+)-', extract: '$n' }, ...numerical() },
    tags: ['b-5-x', 'b-5.0-y', 'b-5-z'],
    selected: 'b-5.0-y',
  },
];

const orders: PolicyCase[] = [
  { name: 'order DESC (case-insensitive, Flux upper-cases it)', policy: numerical('DESC'), tags: ['1', '2'], selected: '2' },
  { name: 'order Asc', policy: numerical('Asc'), tags: ['1', '2'], selected: '1' },
  { name: "empty order '' is the default", policy: numerical(''), tags: ['1', '2'], selected: '2' },
  { name: 'order: (null) is the default', policy: numerical(null), tags: ['1', '2'], selected: '2' },
  { name: 'numerical: null block = desc', policy: { policy: { numerical: null } }, tags: ['1', '2'], selected: '2' },
  { name: 'label numerical:ASC', sources: { labels: { 'dosync.policy': 'numerical:ASC' } }, tags: ['1', '2'], selected: '1' },
  { name: 'label numerical: (empty) is the default', sources: { labels: { 'dosync.policy': 'numerical:' } }, tags: ['1', '2'], selected: '2' },
];

const values: PolicyCase[] = [
  { name: 'numerical desc', policy: numerical('desc'), tags: ['5', '10', '9'], selected: '10' },
  { name: 'numerical asc', policy: numerical('asc'), tags: ['5', '10', '9'], selected: '5' },
  { name: 'floats', policy: numerical('desc'), tags: ['1.5', '1.25', '1.10'], selected: '1.5' },
  { name: 'negatives', policy: { filterTags: { pattern: '^n(?P<v>.*)$', extract: '$v' }, ...numerical('asc') }, tags: ['n-1', 'n0', 'n-0.5'], selected: 'n-1' },
  { name: 'skips non-numbers', policy: numerical(), tags: ['3', 'abc', '7x'], selected: '3' },
  { name: 'nanosecond timestamps', policy: { filterTags: { pattern: '^b-(?P<ns>\\d+)$', extract: '$ns' }, ...numerical() }, tags: ['b-1718435261000000001', 'b-1718435261000000000'], selected: 'b-1718435261000000001' },
  { name: 'exponent', policy: numerical(), tags: ['999', '1e3'], selected: '1e3' },
  { name: 'build numbers, not alphabetical', policy: { filterTags: { pattern: '^build-(\\d+)$', extract: '$1' }, ...numerical('desc') }, tags: ['build-99', 'build-123'], selected: 'build-123' },
  { name: 'nothing numeric', policy: numerical(), tags: ['a', 'b'], selected: null },
  { name: 'hex is not a number', policy: numerical(), tags: ['0x10', '9'], selected: '9' },
];

runTable('numerical ranker: Flux cases', fluxCases);
runTable('numerical ranker: ties', ties);
runTable('numerical ranker: order words', orders);
runTable('numerical ranker: values', values);
