import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../util/errors.js';

/** Each registry's `ca_file`, read and checked once at start, so a wrong path is a config error rather than a TLS failure per cycle. */
export function readRegistryCas(files: Map<string, { file: string; field: string }>, configFile: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [host, { file, field }] of files) {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${configFile}: ${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      // Only the first certificate of a bundle is parsed here; TLS uses all of them.
      new X509Certificate(pem);
    } catch {
      throw new ConfigError(`${configFile}: ${field}: ${file} is not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
    }
    out.set(host, [pem]);
  }
  return out;
}
