/**
 * S3 and R2 targets (`target: s3://bucket/prefix`, `r2://<account>/bucket/prefix`): the mirror
 * writes a static registry layout that any plain HTTP server, or the bucket's public URL with a few
 * rewrite rules, serves read-only to `docker pull`:
 *
 *   <prefix>/v2/<name>/manifests/<tag>        the manifest's bytes, Content-Type its media type
 *   <prefix>/v2/<name>/manifests/<digest>     the same bytes by digest
 *   <prefix>/v2/<name>/blobs/<digest>         Content-Type application/octet-stream
 *   <prefix>/v2/<name>/tags/list              {"name": ..., "tags": [...]} as the API answers
 *
 * Every object carries `docker-content-digest` metadata (served as `x-amz-meta-docker-content-digest`;
 * the front maps it to `Docker-Content-Digest`). The AWS SDK's S3 client does the talking, with
 * credentials as for ECR (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else the SDK's default chain)
 * and `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`) for R2 or any S3-compatible server.
 *
 * The store stands in for a registry behind the copy code: `MirrorClient` is the OCI client with
 * the target-side calls of an `s3://`/`r2://` "registry" answered from the bucket.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { RegistryClient, type ManifestHead, type Manifest, type PushBlobOptions, type RegistryClientOptions } from '../registry/client.js';
import type { RepositoryRef } from '../registry/types.js';
import { VerifyingStream, digestOf } from '../registry/upload.js';
import { RegistryError } from '../util/errors.js';
import { formatStoreRoot, isStoreRoot, parseStoreRoot, type StoreRoot } from './store-root.js';

type Env = Record<string, string | undefined>;

/** Multipart settings: S3 takes at most 5 GiB in one PUT, and at most 10,000 parts of at least 5 MiB. */
export interface MultipartLimits {
  /** Blobs larger than this go up in a multipart upload, and are mounted by a copy in parts (default 5 GiB, the most S3 takes in one PUT or CopyObject). */
  threshold: number;
  /** Smallest part (default 64 MiB); raised for a blob that would need more than 10,000 parts. */
  partSize: number;
}

export const DEFAULT_MULTIPART: MultipartLimits = { threshold: 5 * 1024 ** 3, partSize: 64 * 1024 ** 2 };
const MAX_PARTS = 10_000;

/** One bucket's registry layout. */
export class RegistryStore {
  private client?: Promise<S3Client>;
  /** Tag-list updates of one repository run one after the other (read, change, write). */
  private readonly tagLocks = new Map<string, Promise<unknown>>();

  constructor(readonly root: StoreRoot, private readonly env: Env, private readonly multipart: MultipartLimits = DEFAULT_MULTIPART) {}

  private key(repository: string, kind: 'manifests' | 'blobs' | 'tags', ref: string): string {
    return `${this.root.prefix ? `${this.root.prefix}/` : ''}v2/${repository}/${kind}/${ref}`;
  }

  private s3(): Promise<S3Client> {
    this.client ??= (async () => {
      const { S3Client } = await import('@aws-sdk/client-s3');
      const env = this.env;
      const endpoint = nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL) ?? (this.root.kind === 'r2' ? `https://${this.root.account}.r2.cloudflarestorage.com` : undefined);
      const id = nonEmpty(env.AWS_ACCESS_KEY_ID);
      const secret = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
      return new S3Client({
        region: nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (this.root.kind === 'r2' ? 'auto' : 'us-east-1'),
        // The SDK's default (a CRC32 trailer in aws-chunked framing on every streamed PUT) is not
        // understood by every S3-compatible store; the digest is ours to check anyway.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
        ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(nonEmpty(env.AWS_SESSION_TOKEN) ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {}),
      });
    })();
    return this.client;
  }

  private where(repository: string, ref: string): string {
    return `${formatStoreRoot(this.root)}/${repository}${ref.includes(':') ? '@' : ':'}${ref}`;
  }

  /** HeadObject: content type, length and digest metadata, or null when the key is missing. */
  private async head(key: string, where: string): Promise<{ size: number; contentType?: string; digest?: string } | null> {
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const out = await (await this.s3()).send(new HeadObjectCommand({ Bucket: this.root.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, contentType: out.ContentType, digest: out.Metadata?.['docker-content-digest'] };
    } catch (err) {
      if (isMissing(err)) return null;
      throw storeError(where, err);
    }
  }

  async headManifest(repo: RepositoryRef, reference: string): Promise<ManifestHead | null> {
    const found = await this.head(this.key(repo.repository, 'manifests', reference), this.where(repo.repository, reference));
    if (!found) return null;
    if (!found.digest) throw new RegistryError(`${this.where(repo.repository, reference)}: the object has no docker-content-digest metadata (not written by dosync mirror?)`);
    return { digest: found.digest, mediaType: found.contentType, size: found.size };
  }

  async getManifest(repo: RepositoryRef, reference: string): Promise<Manifest> {
    const where = this.where(repo.repository, reference);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const out = await (await this.s3()).send(new GetObjectCommand({ Bucket: this.root.bucket, Key: this.key(repo.repository, 'manifests', reference) }));
      const bytes = Buffer.from(await out.Body!.transformToByteArray());
      return { bytes, digest: digestOf(bytes), mediaType: out.ContentType ?? '' };
    } catch (err) {
      if (isMissing(err)) throw new RegistryError(`${where}: tag or digest not found`, { status: 404 });
      throw storeError(where, err);
    }
  }

  private async put(key: string, body: Buffer | Readable, contentType: string, digest: string, size: number, where: string): Promise<void> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      await (await this.s3()).send(new PutObjectCommand({ Bucket: this.root.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: size, Metadata: { 'docker-content-digest': digest } }));
    } catch (err) {
      throw storeError(where, err);
    }
  }

  /** By digest first, then under the tag (a reader never finds a tag whose manifest is missing). */
  async putManifest(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = digestOf(bytes);
    const where = this.where(repo.repository, reference);
    await this.put(this.key(repo.repository, 'manifests', digest), bytes, mediaType, digest, bytes.length, where);
    if (reference !== digest) {
      await this.put(this.key(repo.repository, 'manifests', reference), bytes, mediaType, digest, bytes.length, where);
      await this.changeTags(repo.repository, (tags) => tags.add(reference));
    }
    return digest;
  }

  async headBlob(repo: RepositoryRef, digest: string): Promise<number | null> {
    return (await this.head(this.key(repo.repository, 'blobs', digest), this.where(repo.repository, digest)))?.size ?? null;
  }

  /**
   * The S3 form of a mount: a server-side copy from another repository's key. CopyObject takes at
   * most 5 GiB (S3 API reference, CopyObject: "you can create a copy of your object up to 5 GB in
   * size in a single atomic action"); a larger blob is copied in parts with UploadPartCopy. The size
   * is the blob's descriptor's, else the source key's.
   */
  async mountBlob(repo: RepositoryRef, digest: string, from: string, size?: number): Promise<{ mounted: boolean }> {
    const where = this.where(repo.repository, digest);
    const fromKey = this.key(from, 'blobs', digest);
    const key = this.key(repo.repository, 'blobs', digest);
    try {
      const length = size ?? (await this.head(fromKey, where))?.size;
      if (length === undefined) return { mounted: false };
      if (length > this.multipart.threshold) {
        await this.copyMultipart(fromKey, key, digest, length, where);
      } else {
        const { CopyObjectCommand } = await import('@aws-sdk/client-s3');
        await (await this.s3()).send(new CopyObjectCommand({
          Bucket: this.root.bucket, Key: key, CopySource: this.copySource(fromKey),
          ContentType: 'application/octet-stream', Metadata: { 'docker-content-digest': digest }, MetadataDirective: 'REPLACE',
        }));
      }
      return { mounted: true };
    } catch (err) {
      if (isMissing(err)) return { mounted: false };
      throw err instanceof RegistryError ? err : storeError(where, err);
    }
  }

  /** `x-amz-copy-source`: the bucket and the URL-encoded key. */
  private copySource(key: string): string {
    return `${this.root.bucket}/${encodeURI(key)}`;
  }

  /**
   * A server-side copy in parts: UploadPartCopy per byte range of the source key. The bytes never
   * pass through dosync.
   */
  private copyMultipart(fromKey: string, key: string, digest: string, size: number, where: string): Promise<void> {
    return this.multipartUpload(key, digest, size, where, async (s3, uploadId, part) => {
      const { UploadPartCopyCommand } = await import('@aws-sdk/client-s3');
      const out = await s3.send(new UploadPartCopyCommand({
        Bucket: this.root.bucket, Key: key, UploadId: uploadId, PartNumber: part.number, CopySource: this.copySource(fromKey), CopySourceRange: `bytes=${part.offset}-${part.offset + part.length - 1}`,
      }));
      if (!out.CopyPartResult?.ETag) throw new RegistryError(`${where}: S3 answered UploadPartCopy for part ${part.number} without an ETag`);
      return out.CopyPartResult.ETag;
    });
  }

  /**
   * CreateMultipartUpload, `sendPart` for each part in order, CompleteMultipartUpload; any failure
   * aborts the upload, so no parts are left behind to be billed. The object appears only when
   * complete, like a single PUT's. `beforeComplete` may still refuse it.
   */
  private async multipartUpload(
    key: string, digest: string, size: number, where: string,
    sendPart: (s3: S3Client, uploadId: string, part: { number: number; offset: number; length: number }) => Promise<string | undefined>,
    beforeComplete?: () => Promise<void>,
  ): Promise<void> {
    const { CreateMultipartUploadCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand } = await import('@aws-sdk/client-s3');
    const s3 = await this.s3();
    const Bucket = this.root.bucket;
    const partSize = Math.max(this.multipart.partSize, Math.ceil(size / MAX_PARTS));
    let uploadId: string | undefined;
    try {
      uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: 'application/octet-stream', Metadata: { 'docker-content-digest': digest } }))).UploadId;
      if (!uploadId) throw new RegistryError(`${where}: S3 answered CreateMultipartUpload without an UploadId`);
      const parts: Array<{ ETag: string | undefined; PartNumber: number }> = [];
      for (let offset = 0, n = 1; offset < size; offset += partSize, n++) {
        parts.push({ ETag: await sendPart(s3, uploadId, { number: n, offset, length: Math.min(partSize, size - offset) }), PartNumber: n });
      }
      await beforeComplete?.();
      await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      if (uploadId) await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw err;
    }
  }

  /** Streams the blob into its key, verified on the way (a wrong byte aborts the PUT: S3 stores only whole objects). */
  async pushBlob(repo: RepositoryRef, digest: string, size: number | undefined, content: Readable | (() => Promise<Readable>), opts: PushBlobOptions): Promise<number> {
    const where = this.where(repo.repository, digest);
    if (size === undefined) throw new RegistryError(`${where}: the blob's size is unknown; S3 uploads need it`);
    const source = typeof content === 'function' ? await content() : content;
    const verifier = new VerifyingStream(digest, size, opts.sourceName ?? where);
    source.on('error', (err) => verifier.destroy(err));
    source.pipe(verifier);
    try {
      const key = this.key(repo.repository, 'blobs', digest);
      if (size > this.multipart.threshold) await this.putMultipart(key, verifier, digest, size, where);
      else await this.put(key, verifier, 'application/octet-stream', digest, size, where);
    } catch (err) {
      source.destroy();
      throw verifier.errored ?? err;
    }
    return verifier.bytesSeen;
  }

  /** One UploadPart per slice of the stream, each streamed with its exact length: nothing is buffered. */
  private async putMultipart(key: string, body: VerifyingStream, digest: string, size: number, where: string): Promise<void> {
    const { UploadPartCommand } = await import('@aws-sdk/client-s3');
    const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let carry: Buffer | undefined;
    const sendPart = async (s3: S3Client, uploadId: string, part: { number: number; length: number }) => {
      const slice = async function* (): AsyncGenerator<Buffer> {
        for (let left = part.length; left > 0;) {
          let buf = carry ?? (await source.next()).value as Buffer | undefined;
          carry = undefined;
          if (!buf) return;
          if (buf.length > left) {
            carry = buf.subarray(left);
            buf = buf.subarray(0, left);
          }
          left -= buf.length;
          yield buf;
        }
      };
      const out = await s3.send(new UploadPartCommand({ Bucket: this.root.bucket, Key: key, UploadId: uploadId, PartNumber: part.number, ContentLength: part.length, Body: Readable.from(slice(), { objectMode: false }) }));
      return out.ETag;
    };
    // The verifier fails at its end when the bytes were wrong: nothing is completed then.
    const verified = async () => {
      await source.next();
      if (body.errored) throw body.errored;
    };
    try {
      await this.multipartUpload(key, digest, size, where, sendPart, verified);
    } catch (err) {
      throw body.errored ?? (err instanceof RegistryError ? err : storeError(where, err));
    }
  }

  async listTags(repo: RepositoryRef): Promise<string[]> {
    return [...(await this.readTags(repo.repository))];
  }

  /** A tag's object and its place in the tag list; a digest's object (the tags on it stay, as they would on a registry that deletes by tag). */
  async deleteManifest(repo: RepositoryRef, reference: string): Promise<'deleted' | 'not-found'> {
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    if ((await this.head(this.key(repo.repository, 'manifests', reference), this.where(repo.repository, reference))) === null) return 'not-found';
    try {
      await (await this.s3()).send(new DeleteObjectCommand({ Bucket: this.root.bucket, Key: this.key(repo.repository, 'manifests', reference) }));
    } catch (err) {
      throw storeError(this.where(repo.repository, reference), err);
    }
    if (!reference.includes(':')) await this.changeTags(repo.repository, (tags) => tags.delete(reference));
    return 'deleted';
  }

  private async readTags(repository: string): Promise<Set<string>> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const out = await (await this.s3()).send(new GetObjectCommand({ Bucket: this.root.bucket, Key: this.key(repository, 'tags', 'list') }));
      const doc = JSON.parse(await out.Body!.transformToString()) as { tags?: unknown };
      return new Set(Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === 'string') : []);
    } catch (err) {
      if (isMissing(err)) return new Set();
      throw storeError(`${formatStoreRoot(this.root)}/${repository}`, err);
    }
  }

  private changeTags(repository: string, change: (tags: Set<string>) => void): Promise<void> {
    const previous = this.tagLocks.get(repository) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const tags = await this.readTags(repository);
      change(tags);
      const body = Buffer.from(JSON.stringify({ name: repository, tags: [...tags].sort() }));
      await this.put(this.key(repository, 'tags', 'list'), body, 'application/json', digestOf(body), body.length, `${formatStoreRoot(this.root)}/${repository}`);
    });
    this.tagLocks.set(repository, next);
    return next;
  }
}

/**
 * The OCI client with `s3://` and `r2://` targets answered by their bucket: the copy code sees one
 * client. Only target-side calls exist for a store (a store is never a source).
 */
export class MirrorClient extends RegistryClient {
  private readonly stores = new Map<string, RegistryStore>();

  constructor(opts: RegistryClientOptions, private readonly env: Env, private readonly multipart?: MultipartLimits) {
    super(opts);
  }

  private store(registry: string): RegistryStore | undefined {
    if (!isStoreRoot(registry)) return undefined;
    let s = this.stores.get(registry);
    if (!s) this.stores.set(registry, (s = new RegistryStore(parseStoreRoot(registry, 'target'), this.env, this.multipart)));
    return s;
  }

  override warmUp(registry: string): void {
    if (!isStoreRoot(registry)) super.warmUp(registry);
  }

  override headManifest(repo: RepositoryRef, reference: string, opts: { scope?: string } = {}): Promise<ManifestHead | null> {
    return this.store(repo.registry)?.headManifest(repo, reference) ?? super.headManifest(repo, reference, opts);
  }

  override getManifest(repo: RepositoryRef, reference: string, opts: { scope?: string } = {}): Promise<Manifest> {
    return this.store(repo.registry)?.getManifest(repo, reference) ?? super.getManifest(repo, reference, opts);
  }

  override async putManifestAnswer(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string): Promise<{ digest: string; subjectIndexed: boolean }> {
    const s = this.store(repo.registry);
    if (!s) return super.putManifestAnswer(repo, reference, bytes, mediaType);
    return { digest: await s.putManifest(repo, reference, bytes, mediaType), subjectIndexed: false };
  }

  override headBlob(repo: RepositoryRef, digest: string, opts: { scope?: string } = {}): Promise<number | null> {
    return this.store(repo.registry)?.headBlob(repo, digest) ?? super.headBlob(repo, digest, opts);
  }

  override mountBlob(repo: RepositoryRef, digest: string, from: string, size?: number): Promise<{ mounted: true } | { mounted: false; location?: URL }> {
    const s = this.store(repo.registry);
    if (!s) return super.mountBlob(repo, digest, from, size);
    return s.mountBlob(repo, digest, from, size) as Promise<{ mounted: true } | { mounted: false }>;
  }

  override pushBlob(repo: RepositoryRef, digest: string, size: number | undefined, content: Readable | (() => Promise<Readable>), opts: PushBlobOptions = {}): Promise<number> {
    return this.store(repo.registry)?.pushBlob(repo, digest, size, content, opts) ?? super.pushBlob(repo, digest, size, content, opts);
  }

  override listTags(repo: RepositoryRef): Promise<string[]> {
    return this.store(repo.registry)?.listTags(repo) ?? super.listTags(repo);
  }

  override async deleteManifest(repo: RepositoryRef, reference: string): Promise<'deleted' | 'not-found' | 'unsupported'> {
    return this.store(repo.registry)?.deleteManifest(repo, reference) ?? super.deleteManifest(repo, reference);
  }

  /** A bucket has no referrers API: the fallback tag is written instead. */
  override listReferrers(repo: RepositoryRef, digest: string): Promise<Array<Record<string, unknown>> | null> {
    return this.store(repo.registry) ? Promise.resolve(null) : super.listReferrers(repo, digest);
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** The SDK's error as one line with its code; credentials never appear in S3 error messages. */
function storeError(where: string, err: unknown): RegistryError {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const what = status === 403 || e?.name === 'AccessDenied' || e?.name === 'InvalidAccessKeyId' || e?.name === 'SignatureDoesNotMatch'
    ? 'access denied; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the default credential chain) and the bucket policy'
    : e?.name === 'NoSuchBucket'
      ? 'the bucket does not exist'
      : (e?.message ?? String(err)).split('\n')[0];
  return new RegistryError(`${where}: S3 ${e?.name ?? 'error'}: ${what}`, { status });
}
