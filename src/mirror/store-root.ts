/** S3/R2 target roots as written in mirror.yaml (pure): `s3://bucket/prefix`, `r2://<account>/bucket/prefix`. */
import { ConfigError } from '../util/errors.js';

export interface StoreRoot {
  kind: 's3' | 'r2';
  bucket: string;
  /** Key prefix without slashes at either end, '' for the bucket's root. */
  prefix: string;
  /** R2's account id. */
  account?: string;
}

const STORE = /^(s3|r2):\/\/(.+)$/i;

export function isStoreRoot(registry: string): boolean {
  return STORE.test(registry);
}

/** `s3://bucket/prefix` or `r2://account/bucket/prefix` (as written in `target:`). */
export function parseStoreRoot(text: string, where: string): StoreRoot {
  const m = STORE.exec(text.trim());
  if (!m) throw new ConfigError(`${where}: "${text}" is not s3://bucket/prefix or r2://account/bucket/prefix`);
  const kind = m[1]!.toLowerCase() as 's3' | 'r2';
  const parts = m[2]!.split('/').filter((p) => p !== '');
  const account = kind === 'r2' ? parts.shift() : undefined;
  const bucket = parts.shift();
  if (kind === 'r2' && (!account || !/^[0-9a-f]{32}$/i.test(account))) throw new ConfigError(`${where}: "${text}": write r2://<account id>/<bucket>/<prefix> (the account id is 32 hex digits)`);
  if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(`${where}: "${text}": "${bucket ?? ''}" is not a bucket name (3-63 lower-case letters, digits, dots, hyphens)`);
  return { kind, bucket, prefix: parts.join('/'), ...(account ? { account: account.toLowerCase() } : {}) };
}

/** The canonical form, used as the "registry" of the target repositories. */
export function formatStoreRoot(root: StoreRoot): string {
  return `${root.kind}://${root.account ? `${root.account}/` : ''}${root.bucket}${root.prefix ? `/${root.prefix}` : ''}`;
}

