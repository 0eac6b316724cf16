import { readFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '../util/errors.js';
import { parseEnvFile } from '../compose/stack.js';

export async function readEnvFile(path: string): Promise<Record<string, string>> {
  try {
    return parseEnvFile(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `env file ${path} does not exist; check -e/--env-file` : `cannot read env file ${path}: ${errorMessage(err)}`);
  }
}
