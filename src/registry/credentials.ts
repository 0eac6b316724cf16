/**
 * Where credentials come from, for the OCI client and (as dockerode authconfig) for the engine's
 * pulls, in this order:
 *  1. dosync.yaml `registry:` section, then the registry family's environment variables
 *     (DOCKERHUB_USERNAME/PASSWORD, GITHUB_PAT, DO_TOKEN/DOCR_TOKEN, AWS_*, GOOGLE_APPLICATION_CREDENTIALS, AZURE_*);
 *  2. Docker's own: DOCKER_AUTH_CONFIG, then ~/.docker/config.json ($DOCKER_CONFIG) — credHelpers,
 *     credsStore (`docker-credential-<name> get`), then `auths` (auth, identitytoken, registrytoken);
 *  3. the platform's default chain (AWS roles, Google ADC, Azure managed identity), asked last
 *     because it may probe metadata endpoints.
 * A missing helper binary or an unreadable config.json is a warning, never a crash.
 */
import { spawn } from 'node:child_process';
import { stat, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../util/errors.js';
import { ExpiringCache, splitUserSecret, redact, type ProviderContext } from './providers/common.js';
import { isDockerHub, providerFor } from './providers/index.js';
import type { Credential, CredentialResolver } from './types.js';

export type { ProviderContext };

/** config.json's key for Docker Hub (docker/cli getAuthConfigKey). */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
/** A helper answering with this username returned an identity (refresh) token as Secret. */
const IDENTITY_TOKEN_USER = '<token>';
/** Helper output is reused this long (helpers mint tokens valid for an hour or more). */
const HELPER_TTL_MS = 5 * 60_000;
/** A resolved answer is reused this long: the client asks per request. */
const RESULT_TTL_MS = 30_000;
const HELPER_TIMEOUT_MS = 30_000;

export interface CredentialResolverOptions {
  /** Directory holding config.json; default $DOCKER_CONFIG, else ~/.docker. */
  dockerConfigDir?: string;
  helperTimeoutMs?: number;
}

export interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry | undefined>;
  credHelpers?: Record<string, string | undefined>;
  credsStore?: string;
}

export interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** The config.json key a registry host's credentials are stored under. */
export function dockerConfigKey(host: string): string {
  return isDockerHub(host) ? DOCKER_HUB_AUTH_KEY : host.toLowerCase();
}

/** docker/cli ConvertToHostname: strips the scheme and anything after the first `/`. */
export function convertToHostname(key: string): string {
  return key.replace(/^https?:\/\//i, '').split('/')[0]!.toLowerCase();
}

function keyMatches(key: string, host: string): boolean {
  const wanted = dockerConfigKey(host);
  if (key === wanted) return true;
  const h = convertToHostname(key);
  return isDockerHub(host) ? isDockerHub(h) : h === host.toLowerCase();
}

/** The `auths` entry for a host (exact key first, then legacy keys with a scheme or path). */
export function findAuthEntry(auths: DockerConfigFile['auths'], host: string): DockerAuthEntry | undefined {
  if (!auths) return undefined;
  const exact = auths[dockerConfigKey(host)];
  if (exact) return exact;
  const key = Object.keys(auths).find((k) => keyMatches(k, host));
  return key ? auths[key] : undefined;
}

/** An `auths` entry as a Credential: base64 `auth` (user:pass), plain username/password, identitytoken, registrytoken. */
export function decodeAuthEntry(entry: DockerAuthEntry | undefined): Credential | undefined {
  if (!entry) return undefined;
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const pair = splitUserSecret(Buffer.from(entry.auth, 'base64').toString('utf8'));
    if (pair) ({ username, password } = pair);
  }
  if (entry.identitytoken) return { username, identityToken: entry.identitytoken };
  if (entry.registrytoken) return { registryToken: entry.registrytoken };
  return username && password ? { username, password } : undefined;
}

/** The helper named for a host: credHelpers (by config key or hostname) first, then credsStore. */
export function helperFor(config: DockerConfigFile, host: string): { name: string; from: 'credHelpers' | 'credsStore' } | undefined {
  const helpers = config.credHelpers ?? {};
  const key = Object.keys(helpers).find((k) => keyMatches(k, host));
  const named = key ? helpers[key] : undefined;
  if (named) return { name: named, from: 'credHelpers' };
  return config.credsStore ? { name: config.credsStore, from: 'credsStore' } : undefined;
}

export type HelperResult = { kind: 'found'; credential: Credential } | { kind: 'none' } | { kind: 'missing' } | { kind: 'failed'; reason: string };

/**
 * `docker-credential-<name> get` with the server URL on stdin; stdout is {ServerURL, Username, Secret}.
 * "credentials not found" is a normal answer, not an error.
 */
export function runCredentialHelper(name: string, serverUrl: string, env: NodeJS.ProcessEnv, timeoutMs = HELPER_TIMEOUT_MS): Promise<HelperResult> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return Promise.resolve({ kind: 'failed', reason: `invalid helper name "${name}"` });
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${name}`, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const finish = (r: HelperResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ kind: 'failed', reason: `no answer within ${Math.round(timeoutMs / 1000)} s` });
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ENOENT' ? { kind: 'missing' } : { kind: 'failed', reason: e.code ?? e.message }));
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {});
    child.stdin.end(serverUrl);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8').trim();
      if (code !== 0) {
        const text = `${stdout}\n${Buffer.concat(err).toString('utf8')}`;
        if (/credentials not found/i.test(text)) return finish({ kind: 'none' });
        // Only the first line, and never what it printed on stdout verbatim: it could echo a secret.
        const line = Buffer.concat(err).toString('utf8').trim().split('\n')[0] ?? '';
        return finish({ kind: 'failed', reason: `exit code ${code}${line ? `: ${line.slice(0, 200)}` : ''}` });
      }
      try {
        const j = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
        const user = typeof j.Username === 'string' ? j.Username : '';
        const secret = typeof j.Secret === 'string' ? j.Secret : '';
        if (!secret) return finish({ kind: 'none' });
        if (user === IDENTITY_TOKEN_USER) return finish({ kind: 'found', credential: { identityToken: secret } });
        return finish({ kind: 'found', credential: { username: user, password: secret } });
      } catch {
        finish({ kind: 'failed', reason: 'its answer is not the JSON {"Username","Secret"} the helper protocol defines' });
      }
    });
  });
}

/**
 * The resolver handed to RegistryClient (`credentials`) and used for the engine's pull auth.
 * Concurrent and repeated asks for one host share one lookup for a short while.
 */
export function createCredentialResolver(ctx: ProviderContext, opts: CredentialResolverOptions = {}): CredentialResolver {
  const now = ctx.now ?? Date.now;
  const results = new ExpiringCache<Credential | undefined>(now);
  const helperAnswers = new ExpiringCache<HelperResult>(now);
  const warned = new Set<string>();
  const warnOnce = (key: string, obj: object, msg: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    ctx.logger?.warn(obj, msg);
  };
  const configDir = opts.dockerConfigDir ?? ctx.env.DOCKER_CONFIG ?? join(ctx.env.HOME ?? homedir(), '.docker');
  const configPath = join(configDir, 'config.json');
  let loaded: { mtimeMs: number; config: DockerConfigFile } | undefined;

  const readDockerConfig = async (): Promise<DockerConfigFile> => {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(configPath)).mtimeMs;
    } catch {
      loaded = undefined;
      return {};
    }
    if (loaded && loaded.mtimeMs === mtimeMs) return loaded.config;
    let config: DockerConfigFile = {};
    try {
      config = JSON.parse(await readFile(configPath, 'utf8')) as DockerConfigFile;
      if (!config || typeof config !== 'object') config = {};
    } catch (err) {
      warnOnce(`config:${mtimeMs}`, { file: configPath }, `cannot read ${configPath} (${err instanceof SyntaxError ? 'not valid JSON' : errorMessage(err)}); its credentials are ignored`);
    }
    loaded = { mtimeMs, config };
    return config;
  };

  const envAuthConfig = (): DockerConfigFile | undefined => {
    const raw = ctx.env.DOCKER_AUTH_CONFIG;
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as DockerConfigFile;
    } catch {
      warnOnce('DOCKER_AUTH_CONFIG', {}, 'DOCKER_AUTH_CONFIG is not valid JSON; ignored');
      return undefined;
    }
  };

  const fromHelper = async (helper: { name: string; from: string }, host: string): Promise<Credential | undefined> => {
    const serverUrl = dockerConfigKey(host);
    const answer = await helperAnswers.get(`${helper.name}|${serverUrl}`, async () => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env };
      for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) childEnv[k] = v;
      const r = await runCredentialHelper(helper.name, serverUrl, childEnv, opts.helperTimeoutMs);
      // Failures are retried next cycle; answers (found or not) are reused for a while.
      const until = now() + (r.kind === 'found' || r.kind === 'none' ? HELPER_TTL_MS : 0);
      return { value: r, expiresAt: until, renewAt: until };
    });
    if (answer.kind === 'found') return answer.credential;
    if (answer.kind === 'missing') {
      warnOnce(`missing:${helper.name}`, { registry: host, helper: `docker-credential-${helper.name}` },
        `${configPath} names the credential helper docker-credential-${helper.name} (${helper.from}) but it is not installed or not on PATH; using the other credential sources for ${host}`);
    } else if (answer.kind === 'failed') {
      warnOnce(`failed:${helper.name}:${host}`, { registry: host, helper: `docker-credential-${helper.name}` },
        `credential helper docker-credential-${helper.name} failed for ${host} (${redact(answer.reason, [])}); using the other credential sources`);
    }
    return undefined;
  };

  const lookup = async (host: string): Promise<Credential | undefined> => {
    const provider = providerFor(host, ctx);
    const explicit = await provider.credential(host);
    if (explicit) return explicit;

    const fromEnvConfig = decodeAuthEntry(findAuthEntry(envAuthConfig()?.auths, host));
    if (fromEnvConfig) return fromEnvConfig;
    const config = await readDockerConfig();
    const helper = helperFor(config, host);
    if (helper) {
      const cred = await fromHelper(helper, host);
      if (cred) return cred;
    }
    const fromFile = decodeAuthEntry(findAuthEntry(config.auths, host));
    if (fromFile) return fromFile;

    return provider.ambientCredential?.(host);
  };

  return (registry: string) => {
    const host = registry.toLowerCase();
    return results.get(host, async () => {
      const value = await lookup(host);
      return { value, expiresAt: now() + RESULT_TTL_MS, renewAt: now() + RESULT_TTL_MS };
    });
  };
}

/** Docker engine AuthConfig (dockerode `authconfig`) for pulling from `registry` with `cred`. */
export function dockerAuthConfig(registry: string, cred: Credential | undefined): Record<string, string> | undefined {
  if (!cred) return undefined;
  const serveraddress = dockerConfigKey(registry);
  if (cred.registryToken) return { registrytoken: cred.registryToken, serveraddress };
  if (cred.identityToken) return { ...(cred.username ? { username: cred.username } : {}), identitytoken: cred.identityToken, serveraddress };
  if (cred.username !== undefined && cred.password !== undefined) return { username: cred.username, password: cred.password, serveraddress };
  return undefined;
}
