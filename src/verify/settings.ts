/**
 * The `verify:` setting: schema and resolution. Pure (key files are read by keys.ts).
 *
 * Places, most specific first: the label `dosync.verify` (`cosign` or `none`), `services.<name>.verify`,
 * `registry.<family>.verify`, the top-level `verify`. Fields of the `cosign` block are merged field by field
 * (a service may set only `mode: warn` and keep the top level's keys); `verify: none` turns it off there.
 */
import { z } from 'zod';
import { ConfigError } from '../util/errors.js';
import { compileGoRegex, GoRegexError, type GoRegex } from '../policy/goregex.js';

const identitySchema = z.object({
  issuer: z.string().min(1),
  subject: z.string().min(1).optional(),
  subject_regexp: z.string().min(1).optional(),
}).strict().refine((i) => i.subject !== undefined || i.subject_regexp !== undefined, { message: 'an identity needs subject or subject_regexp' });

const keylessSchema = z.object({
  identities: z.array(identitySchema).min(1, 'list at least one identity (issuer and subject or subject_regexp)'),
  /** Sigstore trusted_root.json: Fulcio CA chains and Rekor keys, read from disk (no network at verification). */
  trusted_root: z.string().min(1),
}).strict();

const keySource = z.string().min(1).refine((s) => !s.startsWith('env:') || /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(s), { message: 'env: must name a variable, e.g. env:COSIGN_PUBLIC_KEY' });

export const cosignSettingsSchema = z.object({
  /** PEM public keys: file paths, or `env:VAR` for a PEM in an environment variable. */
  keys: z.array(keySource).optional(),
  keyless: keylessSchema.optional(),
  mode: z.enum(['enforce', 'warn']).optional(),
  /** Repositories a signature's docker-reference may name besides the image's own (mirrors: where it was signed). */
  reference_aliases: z.array(z.string().min(1)).optional(),
}).strict();

const verifyBlockSchema = z.object({ cosign: cosignSettingsSchema }).strict();

export const verifySchema = z.union([z.literal('none'), verifyBlockSchema]);

export type VerifySetting = z.infer<typeof verifySchema>;
type CosignBlock = z.infer<typeof cosignSettingsSchema>;

export interface KeylessIdentity { issuer: string; subject?: string; subjectRegexp?: GoRegex; describe: string }

export interface VerifySettings {
  mode: 'enforce' | 'warn';
  keys: string[];
  keyless?: { identities: KeylessIdentity[]; trustedRoot: string };
  aliases: string[];
  /** Where the settings came from, for messages (`dosync.yaml: services.web.verify`). */
  source: string;
}

export interface VerifySources {
  labels?: Record<string, string>;
  top?: unknown;
  registry?: unknown;
  service?: unknown;
}

export interface VerifyWhere { labels: string; top: string; registry: string; service: string }

/** One line naming the field when a setting is wrong (the same text `config validate` prints). */
export function parseVerifySetting(raw: unknown, where: string): VerifySetting {
  if (raw === 'none') return 'none';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: must be "none" or a mapping with a cosign: block (keys, keyless, mode, reference_aliases)`);
  }
  const parsed = verifyBlockSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // `gpg:` instead of `cosign:` is better told as the unknown key than as a missing cosign block.
  const issues = parsed.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys' && i.path.length === 0) ?? issues[0];
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  const what = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
  throw new ConfigError(`${where}${path}: ${what}`);
}

/** The settings that apply to one service, or undefined when verification is off for it. */
export function resolveVerify(sources: VerifySources, where: VerifyWhere): VerifySettings | undefined {
  let merged: CosignBlock | undefined;
  let source = '';
  for (const [raw, at] of [[sources.top, where.top], [sources.registry, where.registry], [sources.service, where.service]] as const) {
    if (raw === undefined) continue;
    const setting = parseVerifySetting(raw, `${at}.verify`);
    if (setting === 'none') { merged = undefined; source = `${at}.verify`; continue; }
    merged = { ...merged, ...definedFields(setting.cosign) };
    source = `${at}.verify`;
  }
  const label = sources.labels?.['dosync.verify'];
  if (label !== undefined) {
    const value = label.trim().toLowerCase();
    if (value === 'none' || value === 'false') return undefined;
    if (value !== 'cosign') throw new ConfigError(`${where.labels}.dosync.verify: "${label}" is not a verification; use cosign or none`);
    if (!merged?.keys?.length && !merged?.keyless) {
      throw new ConfigError(`${where.labels}.dosync.verify: cosign needs keys or keyless identities; set verify.cosign.keys in ${where.top.split(':')[0]}`);
    }
    source = `${where.labels}.dosync.verify`;
  }
  if (!merged) return undefined;
  if (!merged.keys?.length && !merged.keyless) throw new ConfigError(`${source}.cosign: set keys or keyless (nothing to verify against)`);
  return {
    mode: merged.mode ?? 'enforce',
    keys: merged.keys ?? [],
    keyless: merged.keyless && {
      trustedRoot: merged.keyless.trusted_root,
      identities: merged.keyless.identities.map((id, i) => ({
        issuer: id.issuer,
        subject: id.subject,
        subjectRegexp: id.subject_regexp === undefined ? undefined : compileIdentityRegexp(id.subject_regexp, `${source}.cosign.keyless.identities[${i}].subject_regexp`),
        describe: `${id.issuer} ${id.subject ?? `~${id.subject_regexp}`}`,
      })),
    },
    aliases: merged.reference_aliases ?? [],
    source,
  };
}

function definedFields(block: CosignBlock): CosignBlock {
  return Object.fromEntries(Object.entries(block).filter(([, v]) => v !== undefined)) as CosignBlock;
}

/** Go syntax, as cosign's --certificate-identity-regexp. */
function compileIdentityRegexp(pattern: string, where: string): GoRegex {
  try {
    return compileGoRegex(pattern);
  } catch (err) {
    if (err instanceof GoRegexError) throw new ConfigError(`${where}: ${err.message}`);
    throw err;
  }
}
