/** The tag policy engine: pure functions, no I/O. */
export type { UpdateLevel, Order, PolicySources, PolicySource, Ranking, TagFilter, ResolvedPolicy, Selection } from './types.js';
export { imagePolicySchema, type ImagePolicyConfig } from './schema.js';
export { resolvePolicy, policyFromFlags, compileImagePolicy, parsePolicyShorthand, describeRanking } from './resolve.js';
export { selectTag, selectTags, compareBytes, CANDIDATE_LIMIT, type TagSource } from './select.js';
export { parseVersion, parseStrictVersion, compareVersions, parseRange, satisfies, type SemVersion, type SemverRange } from './semver.js';
export { parseShape, type TagShape } from './shape.js';
