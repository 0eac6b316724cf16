/**
 * Where an image goes (pure): a source or target is a registry host with an optional path prefix
 * (`registry.example.com/mirror` re-roots everything under `mirror/`); an image's target name is its
 * source path, a literal new name, or a regex replacement of its source path.
 */
import { parseImageReference } from '../reference/index.js';
import { compileGoRegex, expandTemplate, type GoRegex } from '../policy/goregex.js';
import type { RepositoryRef } from '../registry/types.js';
import { ConfigError } from '../util/errors.js';
import { formatStoreRoot, isStoreRoot, parseStoreRoot } from './store-root.js';

export interface Endpoint {
  /** Normalised registry host (`docker.io` for Docker Hub). */
  registry: string;
  /** Path prefix inside the registry, '' for none. */
  prefix: string;
}

/**
 * `docker.io`, `ghcr.io/org`, `registry.example.com:5000/mirror`. The first part must be a host.
 * An S3/R2 root (`s3://bucket/prefix`, targets only) is kept whole as the "registry".
 */
export function parseEndpoint(text: string, where: string): Endpoint {
  if (isStoreRoot(text.trim())) return { registry: formatStoreRoot(parseStoreRoot(text, where)), prefix: '' };
  const t = text.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  const slash = t.indexOf('/');
  const host = slash < 0 ? t : t.slice(0, slash);
  const prefix = slash < 0 ? '' : t.slice(slash + 1);
  if (!(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw new ConfigError(`${where}: "${text}" does not start with a registry host; write e.g. docker.io or registry.example.com/mirror`);
  }
  const registry = ['index.docker.io', 'registry-1.docker.io'].includes(host.toLowerCase()) ? 'docker.io' : host.toLowerCase();
  if (prefix !== '') repositoryAt(registry, prefix, where);
  return { registry, prefix };
}

/** The repository `path` names on `registry`, validated (and `library/`-prefixed on Docker Hub, as Docker does). */
export function repositoryAt(registry: string, path: string, where: string): RepositoryRef {
  let ref;
  try {
    // A bucket's repositories follow the same naming rules (docker pull reads them through a front).
    ref = parseImageReference(`${isStoreRoot(registry) ? 'store.invalid' : registry}/${path}`);
  } catch (err) {
    throw new ConfigError(`${where}: "${path}" is not a valid repository name (${(err as Error).message.replace(/^invalid image reference "[^"]*": /, '')})`);
  }
  if (ref.tag !== undefined || ref.digest !== undefined) throw new ConfigError(`${where}: "${path}" must name a repository, without a tag or digest`);
  return { registry: isStoreRoot(registry) ? registry : ref.registry, repository: ref.repository };
}

function join(prefix: string, path: string): string {
  return prefix === '' ? path : `${prefix}/${path}`;
}

export type Rename =
  | { kind: 'same' }
  | { kind: 'literal'; name: string }
  | { kind: 'regex'; match: GoRegex; replace: string; source: string };

/**
 * `to:` as written: absent (same path), a literal path, `regex:<pattern>,<replacement>` (dregsy's
 * form; split at the last comma, which a repository name cannot contain) or `{match, replace}`.
 * Replacements use Go's `$1` / `${name}` syntax.
 */
export function parseRename(to: string | { match: string; replace: string } | undefined, where: string): Rename {
  if (to === undefined) return { kind: 'same' };
  let match: string;
  let replace: string;
  if (typeof to === 'string') {
    if (!to.startsWith('regex:')) return { kind: 'literal', name: to.replace(/^\/+|\/+$/g, '') };
    const body = to.slice('regex:'.length);
    const comma = body.lastIndexOf(',');
    if (comma < 0) throw new ConfigError(`${where}: write regex:<pattern>,<replacement>`);
    match = body.slice(0, comma);
    replace = body.slice(comma + 1);
  } else {
    ({ match, replace } = to);
  }
  try {
    return { kind: 'regex', match: compileGoRegex(match), replace, source: match };
  } catch (err) {
    throw new ConfigError(`${where}: ${JSON.stringify(match)} is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** Go's regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
function replaceAll(rx: GoRegex, text: string, template: string): string {
  // The replacer gets (match, group1..groupN, offset, input, named): the groups go to the policy
  // engine's Go-compatible template expansion.
  return rx.re.matcher(text).replaceAll((...args: unknown[]) => expandTemplate(rx, template, args.slice(0, rx.groupCount + 1) as Array<string | null>));
}

/** The target repository of a source path under a task's endpoints. */
export function targetRepository(sourcePath: string, rename: Rename, target: Endpoint, where: string): RepositoryRef {
  let path: string;
  switch (rename.kind) {
    case 'same':
      path = sourcePath;
      break;
    case 'literal':
      path = rename.name;
      break;
    case 'regex':
      path = replaceAll(rename.match, sourcePath, rename.replace);
      break;
  }
  return repositoryAt(target.registry, join(target.prefix, path), where);
}

/** The source repository of an image under a task's source endpoint. */
export function sourceRepository(from: string, source: Endpoint, where: string): RepositoryRef {
  return repositoryAt(source.registry, join(source.prefix, from.replace(/^\/+|\/+$/g, '')), where);
}
