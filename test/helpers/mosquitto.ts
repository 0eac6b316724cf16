/**
 * A real mosquitto broker of the test's own (Debian's package): a temp config with a password, a plain
 * listener and a TLS listener whose self-signed certificate the test makes with openssl; stopped on close.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function listening(port: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => { const c = connect(port, '127.0.0.1'); c.once('connect', () => { c.destroy(); r(true); }); c.once('error', () => r(false)); });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Broker { port: number; tlsPort: number; ca: string; username: string; password: string; close(): Promise<void> }

export async function startMosquitto(): Promise<Broker> {
  const dir = await mkdtemp(join(tmpdir(), 'i18-mosquitto-'));
  await chmod(dir, 0o755);
  const username = 'i18user';
  const password = 'i18-pass-word';
  const passwd = join(dir, 'passwd');
  await exec('mosquitto_passwd', ['-b', '-c', passwd, username, password]);
  const key = join(dir, 'server.key');
  const cert = join(dir, 'server.crt');
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  for (const f of [passwd, key, cert]) await chmod(f, 0o644);
  const [port, tlsPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, [
    'user root', 'persistence false', 'log_dest stderr', 'per_listener_settings false', 'allow_anonymous false', `password_file ${passwd}`,
    `listener ${port} 127.0.0.1`,
    `listener ${tlsPort} 127.0.0.1`, `certfile ${cert}`, `keyfile ${key}`, '',
  ].join('\n'));
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  try {
    await Promise.all([listening(port), listening(tlsPort)]);
  } catch (err) {
    child.kill();
    throw new Error(`${(err as Error).message}: ${log}`);
  }
  return {
    port, tlsPort, ca: cert, username, password,
    async close() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
