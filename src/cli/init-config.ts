/**
 * The commented dosync.yaml that `dosync init` writes (pure): working defaults, and for every registry the
 * stack pulls from — and only those — a commented-out credentials block naming the variables to set.
 */
import type { ProviderName } from '../registry/providers/index.js';
import { parseEcrHost } from '../registry/providers/index.js';

export interface StackImage {
  service: string;
  /** Normalised registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000` ...). */
  host: string;
  family: ProviderName;
}

export interface RegistryUse {
  family: ProviderName;
  hosts: string[];
  services: string[];
}

const TITLES: Record<ProviderName, string> = {
  dockerhub: 'Docker Hub',
  ghcr: 'GitHub Container Registry',
  gcr: 'Google Container/Artifact Registry',
  ecr: 'Amazon ECR',
  acr: 'Azure Container Registry',
  quay: 'Quay.io',
  harbor: 'Harbor',
  docr: 'DigitalOcean Container Registry',
  gitlab: 'GitLab Container Registry',
  custom: 'Registry',
  generic: 'Registry',
};

/** Families in the order of DOSync's README; registries no family claims go last, as `custom:` entries. */
const ORDER: ProviderName[] = ['dockerhub', 'gcr', 'ghcr', 'acr', 'quay', 'harbor', 'docr', 'ecr', 'gitlab', 'custom', 'generic'];

/** Groups the stack's images by registry family (generic hosts each stay a host of the `custom` family). */
export function registriesUsed(images: StackImage[]): RegistryUse[] {
  const byFamily = new Map<ProviderName, RegistryUse>();
  for (const img of images) {
    const family: ProviderName = img.family === 'generic' || img.family === 'harbor' ? 'custom' : img.family;
    const use = byFamily.get(family) ?? { family, hosts: [], services: [] };
    if (!use.hosts.includes(img.host)) use.hosts.push(img.host);
    if (!use.services.includes(img.service)) use.services.push(img.service);
    byFamily.set(family, use);
  }
  return ORDER.filter((f) => byFamily.has(f)).map((f) => byFamily.get(f)!);
}

/** `registry.example.com:5000` -> `REGISTRY_EXAMPLE_COM_5000` (a variable-name prefix per custom registry). */
export function hostVariablePrefix(host: string): string {
  return host.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '').replace(/^(\d)/, 'REGISTRY_$1');
}

export const isLoopback = (host: string) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i.test(host);

/** Environment variables a private registry of this family is configured with (dosync reads most of them directly). */
export function credentialVariables(use: RegistryUse): string[] {
  switch (use.family) {
    case 'dockerhub': return ['DOCKERHUB_USERNAME', 'DOCKERHUB_PASSWORD'];
    case 'ghcr': return ['GITHUB_PAT'];
    case 'gcr': return ['GOOGLE_APPLICATION_CREDENTIALS'];
    case 'ecr': return ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
    case 'acr': return ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'];
    case 'quay': return ['QUAY_TOKEN'];
    case 'docr': return ['DOCR_TOKEN'];
    case 'gitlab': return ['CI_REGISTRY_USER', 'CI_REGISTRY_PASSWORD'];
    default: return use.hosts.flatMap((h) => [`${hostVariablePrefix(h)}_USERNAME`, `${hostVariablePrefix(h)}_PASSWORD`]);
  }
}

/** The commented-out `registry:` block of one family, lines without the leading `# `. */
function familyBlock(use: RegistryUse): string[] {
  const head = `  # ${TITLES[use.family]} (${use.hosts.join(', ')}): ${use.services.join(', ')}`;
  switch (use.family) {
    case 'dockerhub':
      return [head, '  dockerhub:', '    username: ${DOCKERHUB_USERNAME}', '    password: ${DOCKERHUB_PASSWORD}'];
    case 'ghcr':
      return [head, '  ghcr:', '    token: ${GITHUB_PAT}'];
    case 'gcr':
      return [head, '  gcr:', '    credentials_file: /path/to/service-account.json'];
    case 'ecr': {
      const region = parseEcrHost(use.hosts[0])?.region ?? 'us-east-1';
      return [head, '  ecr:', '    aws_access_key_id: ${AWS_ACCESS_KEY_ID}', '    aws_secret_access_key: ${AWS_SECRET_ACCESS_KEY}', `    region: ${region}`, `    registry: ${use.hosts[0]}`];
    }
    case 'acr':
      return [head, '  acr:', '    tenant_id: ${AZURE_TENANT_ID}', '    client_id: ${AZURE_CLIENT_ID}', '    client_secret: ${AZURE_CLIENT_SECRET}', `    registry: ${use.hosts[0]}`];
    case 'quay':
      return [head, '  quay:', '    token: ${QUAY_TOKEN}'];
    case 'docr':
      return [head, '  docr:', '    token: ${DOCR_TOKEN}'];
    case 'gitlab':
      return [head, '  gitlab:', ...use.hosts.flatMap((h) => [`    - url: https://${h}`, '      username: ${CI_REGISTRY_USER}', '      password: ${CI_REGISTRY_PASSWORD}'])];
    default:
      return [head, '  custom:', ...use.hosts.flatMap((h) => {
        const p = hostVariablePrefix(h);
        const url = isLoopback(h) ? [`    - url: http://${h}`, '      insecure: true'] : [`    - url: https://${h}`];
        return [...url, `      username: \${${p}_USERNAME}`, `      password: \${${p}_PASSWORD}`];
      })];
  }
}

export interface DosyncYamlOptions {
  composeFile: string;
  interval: string;
  registries: RegistryUse[];
  /** Service names, for the commented per-service example. */
  services: string[];
}

export function renderDosyncYaml(opts: DosyncYamlOptions): string {
  const lines = [
    `# dosync.yaml for ${opts.composeFile}, written by \`dosync init\`. Every key is optional.`,
    '# ${VAR} is read from the environment and from the -e/--env-file file; `dosync config validate` checks this file.',
    '',
    '# Time between checks (CHECK_INTERVAL or DOSYNC_INTERVAL in the environment win over this).',
    `interval: ${opts.interval}`,
    '# Newest compose-file backups kept (written before every change, for `dosync rollback`).',
    'keep_backups: 10',
    '# Remove the images an update replaced, once no container uses them.',
    'prune: true',
    '# An updated service must become healthy within `timeout` (without a HEALTHCHECK: keep running for `stable`),',
    '# else its previous image is put back.',
    'health:',
    '  timeout: 2m',
    '  stable: 10s',
    '',
  ];
  if (opts.registries.length === 0) {
    lines.push('# The stack uses no registry images yet; see the README "Configuration" for the `registry:` section.');
  } else {
    lines.push(
      '# The registries this stack pulls from. Public images need nothing here. For a private one, uncomment',
      '# `registry:` and its block, and set the variables (dosync also reads most of them from the environment directly).',
      '# registry:',
      ...opts.registries.flatMap(familyBlock).map((l) => `# ${l}`),
    );
  }
  const example = opts.services[0] ?? 'web';
  lines.push(
    '',
    '# Which tag a service moves to. Default: the newest release of the same shape within its current major',
    '# version; `latest`-style tags follow their digest. Per service (compose labels work too:',
    '# dosync.update=minor, dosync.enable=false, dosync.policy=semver:>=1.2 <2):',
    '# services:',
    `#   ${example}:`,
    '#     update: minor            # patch | minor | major | digest | none',
    '#     # imagePolicy: { policy: { semver: { range: ">=1.0.0 <2.0.0" } } }',
    `#   ${opts.services[1] ?? 'db'}:`,
    '#     skip: true             # never touched',
    '',
  );
  return lines.join('\n');
}
