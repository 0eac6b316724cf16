import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rootCertificates } from 'node:tls';
import { parseRegistryConfig } from '../../../src/registry/config.js';
import { registryBaseUrl } from '../../../src/registry/client.js';
import { registryCaFiles } from '../../../src/registry/providers/index.js';
import { trustedCas } from '../../../src/registry/transport.js';

describe('which registries are https, which plain http, which have their own CA', () => {
  const table: Array<{ name: string; raw: Record<string, unknown>; insecure: string[]; https: string[]; ca: Array<[string, string, string]>; warnings: RegExp[] }> = [
    {
      name: 'https:// url -> https (even on loopback)',
      raw: { custom: { url: 'https://127.0.0.1:5443' } },
      insecure: [], https: ['127.0.0.1:5443'], ca: [], warnings: [],
    },
    {
      name: 'no scheme, no CA -> the usual rule (https, or http on loopback)',
      raw: { custom: { url: 'localhost:5000' } },
      insecure: [], https: [], ca: [], warnings: [],
    },
    {
      name: 'no scheme with a CA -> https, CA for that host',
      raw: { harbor: { url: 'harbor.lan:8443', ca_file: '/etc/ssl/lan-ca.pem' } },
      insecure: [], https: ['harbor.lan:8443'], ca: [['harbor.lan:8443', '/etc/ssl/lan-ca.pem', 'registry.harbor.ca_file']], warnings: [],
    },
    {
      name: 'http:// with insecure -> plain http; a CA there is ignored, with a warning',
      raw: { gitlab: [{ url: 'https://gitlab.example.com', ca_file: '/ca.pem' }, { url: 'http://lan:5000', insecure: true, ca_file: '/other.pem' }] },
      insecure: ['lan:5000'], https: ['gitlab.example.com'], ca: [['gitlab.example.com', '/ca.pem', 'registry.gitlab[0].ca_file']],
      warnings: [/^dosync\.yaml: registry\.gitlab\[1\]\.ca_file: ignored, insecure: true means plain http$/],
    },
    {
      name: 'insecure on an https:// url -> https stays, with a warning',
      raw: { custom: { url: 'https://secure.example.com', insecure: true, ca_file: '/ca.pem' } },
      insecure: [], https: ['secure.example.com'], ca: [['secure.example.com', '/ca.pem', 'registry.custom.ca_file']],
      warnings: [/^dosync\.yaml: registry\.custom\.insecure: ignored, the url says https:\/\/; write http:\/\/ to use plain http$/],
    },
  ];
  for (const row of table) {
    test(row.name, () => {
      const parsed = parseRegistryConfig(row.raw);
      assert.deepEqual(parsed.insecureRegistries, row.insecure);
      assert.deepEqual(parsed.httpsRegistries, row.https);
      assert.deepEqual([...registryCaFiles(parsed.config)].map(([h, v]) => [h, v.file, v.field]), row.ca);
      assert.equal(parsed.warnings.length, row.warnings.length, parsed.warnings.join('\n'));
      row.warnings.forEach((w, i) => assert.match(parsed.warnings[i]!, w));
    });
  }
});

describe('registryBaseUrl with https registries', () => {
  const table: Array<[string, string[], string[], string]> = [
    ['127.0.0.1:5443', [], ['127.0.0.1:5443'], 'https://127.0.0.1:5443'],
    ['127.0.0.1:5000', [], ['127.0.0.1:5443'], 'http://127.0.0.1:5000'],
    ['localhost:5443', [], ['LOCALHOST:5443'], 'https://localhost:5443'],
    ['lan:5000', ['lan'], ['lan:5000'], 'https://lan:5000'],
    ['lan:5001', ['lan'], ['lan:5000'], 'http://lan:5001'],
    ['docker.io', [], ['docker.io'], 'https://registry-1.docker.io'],
  ];
  for (const [registry, insecure, https, want] of table) {
    test(`${registry} (insecure ${insecure.join(',') || '-'}, https ${https.join(',')}) -> ${want}`, () => assert.equal(registryBaseUrl(registry, insecure, https), want));
  }
});

test('a registry CA is trusted besides the public roots, not instead of them', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const cas = trustedCas([pem], {});
  assert.deepEqual(cas.slice(0, rootCertificates.length), [...rootCertificates]);
  assert.equal(cas.at(-1), pem);
  assert.equal(cas.length, rootCertificates.length + 1);
});
