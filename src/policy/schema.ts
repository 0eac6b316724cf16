/**
 * The `imagePolicy` block of DOSync/Flux (`filterTags.pattern/extract`, `policy.<kind>`), plus the
 * `tagPattern` glob shorthand. DOSync reads its config through viper, whose keys are case-insensitive,
 * so keys are matched ignoring case, `_` and `-` (`filterTags`, `filtertags`, `filter_tags`); unknown
 * keys are errors, so a typo does not silently widen a policy.
 */
import { z } from 'zod';

const CANONICAL_KEYS = [
  'filterTags', 'pattern', 'extract', 'tagPattern', 'policy',
  'semver', 'range', 'numerical', 'alphabetical', 'newest', 'order',
];
const KEY_BY_LOOSE = new Map(CANONICAL_KEYS.map((k) => [looseKey(k), k]));

function looseKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const canonical = KEY_BY_LOOSE.get(looseKey(key)) ?? key;
    if (canonical in out) {
      // Two spellings of one key (e.g. `filterTags` and `filter_tags`): keep both visible to the
      // schema under the second name so it reports an unknown/duplicate key instead of guessing.
      out[key] = v;
      continue;
    }
    out[canonical] = canonicalize(v);
  }
  return out;
}

const stringField = (what: string) =>
  z.string({ invalid_type_error: `${what} must be a string (quote it in YAML)` });

// Order words ignore case (Flux upper-cases them: internal/policy/factory.go), and an empty `order:` (YAML null
// or '') means the default, as in Flux's NewAlphabetical/NewNumerical.
const order = z.preprocess(
  (v) => (typeof v === 'string' ? v.trim().toLowerCase() || undefined : v === null ? undefined : v),
  z.enum(['asc', 'desc'], { errorMap: () => ({ message: 'order must be asc or desc' }) }).optional(),
);

const orderBlock = z.object({ order }).strict().nullable();

export const POLICY_KINDS = ['semver', 'numerical', 'alphabetical', 'newest'] as const;

const policyBlock = z
  .object({
    semver: z.object({ range: stringField('range').optional() }).strict().nullable().optional(),
    numerical: orderBlock.optional(),
    alphabetical: orderBlock.optional(),
    newest: z.object({}).strict().nullable().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const set = POLICY_KINDS.filter((k) => p[k] !== undefined);
    if (set.length === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs one of semver, numerical, alphabetical or newest' });
    } else if (set.length > 1) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `choose one policy kind, found ${set.join(' and ')}` });
    }
  });

const imagePolicyObject = z
  .object({
    filterTags: z
      .object({ pattern: stringField('pattern').optional(), extract: stringField('extract').optional() })
      .strict()
      .nullable()
      .optional(),
    tagPattern: stringField('tagPattern').optional(),
    policy: policyBlock.optional(),
  })
  .strict();

/** zod schema of one `imagePolicy` (or `image_policy`) block. */
export const imagePolicySchema = z.preprocess(canonicalize, imagePolicyObject);

export type ImagePolicyConfig = z.infer<typeof imagePolicyObject>;
