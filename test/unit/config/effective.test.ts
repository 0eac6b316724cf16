import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parse } from 'yaml';
import { effectiveConfig, exactDuration, maskUrl, renderEffective } from '../../../src/config/effective.js';
import { parseConfigText } from '../../../src/config/file.js';
import { parseRegistryConfig } from '../../../src/registry/config.js';
import { registerConfigCommand } from '../../../src/cli/config.js';

describe('exactDuration', () => {
  const cases: Array<[number, string]> = [[0, '0s'], [250, '250ms'], [1000, '1s'], [90_000, '1m30s'], [300_000, '5m'], [3_723_004, '1h2m3s4ms'], [86_400_000, '1d'], [5_400_000, '1h30m']];
  for (const [ms, want] of cases) test(want, () => assert.equal(exactDuration(ms), want));
});

describe('maskUrl', () => {
  const cases: Array<[string, string]> = [
    ['slack://hooks.slack.com/services/T000/B000/XXXXXXXX', 'slack://***'],
    ['discord://TOKEN@1234', 'discord://***'],
    ['telegram://123:ABC@telegram?chats=1', 'telegram://***'],
    ['teams://group@tenant/alt/owner', 'teams://***'],
    ['gotify://gotify.example.com/AppToken', 'gotify://gotify.example.com/***'],
    ['ntfy://user:pass@ntfy.sh/topic', 'ntfy://ntfy.sh/***'],
    ['smtp://user:pass@mail.example.com:587/?from=a@b&to=c@d', 'smtp://mail.example.com:587/***'],
    ['generic+https://hooks.example.com/x?hmac=s', 'generic+https://hooks.example.com/***'],
    ['teams+https://org.webhook.office.com/webhookb2/abc', 'teams+https://org.webhook.office.com/***'],
    ['not a url', '***'],
  ];
  for (const [url, want] of cases) test(want, () => assert.equal(maskUrl(url), want));
});

describe('effectiveConfig', () => {
  const sources = (text: string, env: Record<string, string | undefined> = {}) => {
    const config = parseConfigText(text, 'dosync.yaml', env);
    const registry = parseRegistryConfig(config.registry ?? {}, { env }).config;
    return Object.fromEntries(effectiveConfig(config, registry, env).map((e) => [e.key, [e.value, e.source]]));
  };

  test('defaults', () => {
    assert.deepEqual(sources(''), {
      interval: ['5m', 'default'], keep_backups: [10, 'default'], prune: [true, 'default'], check_only: [false, 'default'], watch_by_default: [true, 'default'],
      health: [{ timeout: '2m', stable: '10s' }, 'default'],
    });
  });

  test('environment over file over default, as sync applies them', () => {
    const got = sources('interval: 10m\nkeep_backups: 3\ncheck_only: true\nnotify: ["ntfy://a/b"]\n', {
      CHECK_INTERVAL: '30s', DOSYNC_KEEP_BACKUPS: '7', DOSYNC_CHECK_ONLY: '0', DOSYNC_NOTIFY: 'gotify://g/t', DOSYNC_STATE_DIR: '/var/lib/dosync',
    });
    assert.deepEqual(got.interval, ['30s', 'env CHECK_INTERVAL']);
    assert.deepEqual(got.keep_backups, [7, 'env DOSYNC_KEEP_BACKUPS']);
    assert.deepEqual(got.check_only, [false, 'env DOSYNC_CHECK_ONLY']);
    assert.deepEqual(got.notify, [['ntfy://a/b', 'gotify://g/t'], 'dosync.yaml + env DOSYNC_NOTIFY']);
    assert.deepEqual(got.state_dir, ['/var/lib/dosync', 'env DOSYNC_STATE_DIR']);
  });

  test('DOSYNC_INTERVAL wins over CHECK_INTERVAL; a schedule replaces the default interval', () => {
    assert.deepEqual(sources('', { DOSYNC_INTERVAL: '1m', CHECK_INTERVAL: '2m' }).interval, ['1m', 'env DOSYNC_INTERVAL']);
    const got = sources('schedule: "0 3 * * *"\n');
    assert.deepEqual(got.schedule, ['0 3 * * *', 'dosync.yaml']);
    assert.equal(got.interval, undefined);
  });

  test('durations print as durations, per service too', () => {
    const got = sources('jitter: 30s\nmin_age: 1h\nhealth: { timeout: 45s }\nservices:\n  web:\n    min_age: 2d\n    health: { stable: 1500ms }\n');
    assert.deepEqual(got.jitter, ['30s', 'dosync.yaml']);
    assert.deepEqual(got.min_age, ['1h', 'dosync.yaml']);
    assert.deepEqual(got.health, [{ timeout: '45s', stable: '10s' }, 'dosync.yaml (unset fields: default)']);
    assert.deepEqual(got.services, [{ web: { min_age: '2d', health: { stable: '1s500ms' } } }, 'dosync.yaml']);
  });
});

describe('renderEffective masks secrets', () => {
  test('by key anywhere, URLs whole, and every hidden value wherever else it appears', () => {
    const text = renderEffective([
      { key: 'api_token', value: 'api-token-value', source: 'dosync.yaml' },
      { key: 'registry', value: { ecr: { aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'aws-secret-value', region: 'eu-west-1' }, acr: { client_secret: 'acr-client-secret' }, custom: [{ url: 'https://r.example.com', password: 'pw-value-1', username: 'bob' }] }, source: 'dosync.yaml' },
      { key: 'notify', value: ['slack://hooks.slack.com/services/T0/B0/slack-token-value-123'], source: 'dosync.yaml' },
      // The same token reused where no key says it is secret.
      { key: 'listen', value: 'api-token-value', source: 'dosync.yaml' },
    ], ['header']);
    for (const secret of ['api-token-value', 'AKIAEXAMPLE', 'aws-secret-value', 'acr-client-secret', 'pw-value-1', 'slack-token-value-123', 'hooks.slack.com']) {
      assert.ok(!text.includes(secret), `${secret} leaked:\n${text}`);
    }
    const doc = parse(text) as Record<string, any>;
    assert.equal(doc.api_token, '***');
    assert.equal(doc.registry.ecr.region, 'eu-west-1');
    assert.equal(doc.registry.custom[0].username, 'bob');
    assert.equal(doc.registry.custom[0].url, 'https://r.example.com');
    assert.deepEqual(doc.notify, ['slack://***']);
    assert.match(text, /^# header$/m);
    assert.match(text, /^api_token: "\*\*\*" # dosync\.yaml$/m);
  });
});

describe('dosync config print (the command)', () => {
  let dir: string;
  const saved = { ...process.env };
  const FROM_FILE = 'literal-hub-password-7f3a';
  const FROM_ENV_FILE = 'ghcr-token-from-env-file-91c2';
  const FROM_PROCESS = 'api-token-from-process-env-5d0e';
  const WEBHOOK = 'generic+https://hooks.example.com/dosync/wh-secret-path-0b1c?hmac=hmac-secret-4e2f';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dosync-config-print-'));
    await writeFile(join(dir, 'dosync.yaml'), [
      'interval: 2m',
      'api_token: ${API_TOKEN}',
      'registry:',
      '  dockerhub:',
      '    username: hubuser',
      `    password: ${FROM_FILE}`,
      '  ghcr:',
      '    token: ${GHCR_TOKEN}',
      'notify:',
      '  - ${WEBHOOK_URL}',
      '',
    ].join('\n'));
    await writeFile(join(dir, 'dosync.env'), `GHCR_TOKEN=${FROM_ENV_FILE}\nWEBHOOK_URL=${WEBHOOK}\n`);
    process.env.API_TOKEN = FROM_PROCESS;
    process.env.DOSYNC_INTERVAL = '45s';
  });
  after(async () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await rm(dir, { recursive: true, force: true });
  });

  async function run(args: string[]): Promise<{ out: string; err: string; code: number | undefined }> {
    let out = '';
    let err = '';
    const program = new Command('dosync').exitOverride();
    registerConfigCommand(program, (t) => { out += t; }, (t) => { err += t; });
    process.exitCode = undefined;
    await program.parseAsync(['node', 'dosync', ...args]);
    const code = process.exitCode;
    process.exitCode = undefined;
    return { out, err, code: code as number | undefined };
  }

  test('no secret from dosync.yaml, the env file or the process environment appears; the rest is the effective config', async () => {
    const { out, err, code } = await run(['config', 'print', '-c', join(dir, 'dosync.yaml'), '-e', join(dir, 'dosync.env')]);
    assert.equal(code, 0);
    for (const secret of [FROM_FILE, FROM_ENV_FILE, FROM_PROCESS, 'wh-secret-path-0b1c', 'hmac-secret-4e2f']) {
      assert.ok(!out.includes(secret) && !err.includes(secret), `${secret} leaked:\n${out}${err}`);
    }
    const doc = parse(out) as Record<string, any>;
    assert.equal(doc.interval, '45s', 'DOSYNC_INTERVAL overrides the file');
    assert.equal(doc.api_token, '***');
    assert.deepEqual(doc.registry.dockerhub, { username: 'hubuser', password: '***' });
    assert.deepEqual(doc.registry.ghcr, { token: '***' });
    assert.deepEqual(doc.notify, ['generic+https://hooks.example.com/***']);
    assert.match(out, /^interval: 45s # env DOSYNC_INTERVAL$/m);
    assert.match(out, new RegExp(`^# dosync configuration from ${join(dir, 'dosync.yaml').replace(/[.]/g, '\\.')}$`, 'm'));
  });

  test('validate: the same file is valid (exit 0, one line)', async () => {
    const { out, code } = await run(['config', 'validate', '-c', join(dir, 'dosync.yaml'), '-e', join(dir, 'dosync.env')]);
    assert.equal(code, 0);
    assert.match(out, /is valid: 0 service setting\(s\), registries: dockerhub, ghcr, interval 2m, 1 notification URL\(s\)\n$/);
  });

  test('validate: errors go to stderr with exit 2', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'keep_backups: many\nprune: maybe\n');
    const { out, err, code } = await run(['config', 'validate', '-c', join(dir, 'bad.yaml')]);
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.deepEqual(err.trim().split('\n').map((l) => l.replace(dir, 'DIR')), [
      'DIR/bad.yaml:1: keep_backups: Expected number, received string',
      'DIR/bad.yaml:2: prune: Expected boolean, received string',
      'DIR/bad.yaml: 2 error(s)',
    ]);
  });

  test('a -c that does not exist: one line with the fix', async () => {
    await assert.rejects(run(['config', 'validate', '-c', join(dir, 'missing.yaml')]), /^ConfigError: config file .*missing\.yaml does not exist; fix -c\/--config or DOSYNC_CONFIG$/);
  });
});
