import { spawn } from 'node:child_process';
import { EngineError } from '../util/errors.js';

/** How to run Compose here: the v2 plugin (`docker compose`) when present, else v1 (`docker-compose`). */
export interface ComposeCommand {
  argv: string[];
  version: string;
}

export interface RunResult { code: number; stdout: string; stderr: string }

export function run(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: stderr + err.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

let detected: Promise<ComposeCommand> | undefined;

export function detectCompose(): Promise<ComposeCommand> {
  detected ??= (async () => {
    const override = process.env.DOSYNC_COMPOSE_COMMAND;
    const candidates = override ? [override.split(' ')] : [['docker', 'compose'], ['docker-compose']];
    for (const argv of candidates) {
      const r = await run([...argv, 'version', '--short']);
      if (r.code === 0) return { argv, version: r.stdout.trim() };
    }
    throw new EngineError('neither `docker compose` (v2 plugin) nor `docker-compose` (v1) is installed; install the Compose plugin');
  })();
  return detected;
}

export interface ComposeProject {
  /** -p */
  name: string;
  /** --project-directory: where relative paths resolve (the host's directory in sidecar mode). */
  workingDir: string;
  files: string[];
  envFiles: string[];
}

function projectArgs(p: ComposeProject): string[] {
  const args = ['-p', p.name, '--project-directory', p.workingDir];
  for (const f of p.files) args.push('-f', f);
  for (const e of p.envFiles) args.push('--env-file', e);
  return args;
}

/**
 * `up -d --no-deps` for exactly these services: `--force-recreate` by default (a digest update keeps the tag,
 * so Compose alone would not see a change); `extra` replaces it (a rolling update passes --no-recreate --scale).
 */
export async function composeUp(project: ComposeProject, services: string[], extra: string[] = ['--force-recreate']): Promise<void> {
  const compose = await detectCompose();
  const argv = [...compose.argv, ...projectArgs(project), 'up', '-d', '--no-deps', ...extra, ...services];
  const r = await run(argv);
  if (r.code !== 0) {
    const detail = r.stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit code ${r.code}`;
    throw new EngineError(`compose up of ${services.join(', ')} failed: ${detail}`);
  }
}
