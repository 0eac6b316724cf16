/**
 * Image reference parsing after the distribution reference grammar (github.com/distribution/reference),
 * including Docker's normalisation (docker.io default, library/ for official images).
 * Hand-written: the npm parsers either skip normalisation or accept what Docker rejects; the grammar is
 * small and exact, so it is transcribed here as regular expressions and tested table-driven.
 */
import { ConfigError } from '../util/errors.js';

export const DEFAULT_REGISTRY = 'docker.io';

export interface ImageReference {
  /** Normalised registry host (`docker.io` for Docker Hub). */
  registry: string;
  /** Repository path within the registry (`library/nginx`). */
  repository: string;
  tag?: string;
  /** `algorithm:hex` */
  digest?: string;
}

// Grammar pieces (distribution/reference regexp.go).
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})`;
const domain = `${host}(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const DOMAIN_RE = new RegExp(`^${domain}$`);
const PATH_RE = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const TAG_RE = new RegExp(`^${tagPattern}$`);
const DIGEST_RE = new RegExp(`^${digestPattern}$`);
const HEX64_RE = /^[a-f0-9]{64}$/;
const NAME_MAX = 255;

function invalid(input: string, why: string): ConfigError {
  return new ConfigError(`invalid image reference "${input}": ${why}`);
}

/** Splits `name` into registry and remainder the way Docker does (splitDockerDomain). */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isRegistry =
    slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  let registry = isRegistry ? first : DEFAULT_REGISTRY;
  let rest = isRegistry ? name.slice(slash + 1) : name;
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !rest.includes('/')) rest = `library/${rest}`;
  return [registry, rest];
}

export function parseImageReference(input: string): ImageReference {
  const s = input.trim();
  if (s === '') throw invalid(input, 'it is empty');
  if (HEX64_RE.test(s)) throw invalid(input, 'a bare 64-character hex string is an image ID, not a reference');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw invalid(input, `"${digest}" is not a valid digest`);
    if (digest.startsWith('sha256:') && !HEX64_RE.test(digest.slice(7))) {
      throw invalid(input, 'a sha256 digest has exactly 64 lowercase hex characters');
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(input, `"${tag}" is not a valid tag (letters, digits, _ . -, at most 128)`);
  }

  if (rest === '') throw invalid(input, 'the repository name is missing');
  const [registry, repository] = splitDomain(rest);
  if (!DOMAIN_RE.test(registry)) throw invalid(input, `"${registry}" is not a valid registry host`);
  if (repository.toLowerCase() !== repository) throw invalid(input, 'repository names must be lowercase');
  if (!PATH_RE.test(repository)) throw invalid(input, `"${repository}" is not a valid repository name`);
  if (rest.length > NAME_MAX) throw invalid(input, `the name is longer than ${NAME_MAX} characters`);
  return { registry, repository, tag, digest };
}

/** Fully qualified form: `docker.io/library/nginx:1.27@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** `registry/repository`, the key under which tags are listed once per cycle. */
export function repositoryKey(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The tag a reference points at: Docker's implicit `latest` when it names neither tag nor digest. */
export function effectiveTag(ref: ImageReference): string | undefined {
  return ref.tag ?? (ref.digest ? undefined : 'latest');
}

/**
 * Rewrites the tag (and optionally the digest) of a reference *as the user wrote it*, so `nginx:1.0`
 * becomes `nginx:1.1`, not `docker.io/library/nginx:1.1`. A digest the user pinned is replaced when a new
 * one is given and dropped otherwise (a stale digest would override the new tag).
 */
export function replaceTag(original: string, newTag: string, newDigest?: string): string {
  const s = original.trim();
  const at = s.indexOf('@');
  const name = at === -1 ? s : s.slice(0, at);
  const colon = name.lastIndexOf(':');
  const base = colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
  if (!TAG_RE.test(newTag)) throw invalid(`${base}:${newTag}`, `"${newTag}" is not a valid tag`);
  const pinned = at !== -1 && newDigest ? `@${newDigest}` : '';
  return `${base}:${newTag}${pinned}`;
}
