import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { parseKey, loadKey } from '../../../src/verify/keys.js';
import { signingKey } from '../../../src/verify/signature.js';

const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
const payload = Buffer.from('{"critical":{}}');

describe('key-based signatures (node crypto), as cosign makes them', () => {
  const kinds: Array<[string, ReturnType<typeof generateKeyPairSync>, string | null]> = [
    ['ECDSA P-256 / SHA-256 (cosign generate-key-pair)', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), 'sha256'],
    ['ECDSA P-384 / SHA-256 (cosign)', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), 'sha256'],
    ['ECDSA P-384 / SHA-384', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), 'sha384'],
    ['Ed25519', generateKeyPairSync('ed25519'), null],
    ['RSA PKCS#1 v1.5 / SHA-256', generateKeyPairSync('rsa', { modulusLength: 2048 }), 'sha256'],
  ];
  for (const [name, pair, hash] of kinds) {
    test(name, () => {
      const key = parseKey(pem(pair.publicKey), 'cosign.pub', 'dosync.yaml: verify.cosign.keys');
      const other = parseKey(pem(generateKeyPairSync('ed25519').publicKey), 'other.pub', 'x');
      const sig = sign(hash, payload, pair.privateKey).toString('base64');
      assert.equal(signingKey(payload, sig, [other, key])?.name, 'cosign.pub');
      assert.equal(signingKey(Buffer.concat([payload, Buffer.from(' ')]), sig, [other, key]), undefined, 'a changed payload does not verify');
      assert.equal(signingKey(payload, sig, [other]), undefined, 'nor with another key');
    });
  }
  test('RSA-PSS signatures verify too', () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sig = sign('sha256', payload, { key: pair.privateKey, padding: 6 }).toString('base64');
    assert.ok(signingKey(payload, sig, [parseKey(pem(pair.publicKey), 'rsa.pub', 'x')]));
  });
  test('garbage signatures are no match, not an exception', () => {
    const key = parseKey(pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey), 'k', 'x');
    assert.equal(signingKey(payload, 'bm90IGEgc2lnbmF0dXJl', [key]), undefined);
    assert.equal(signingKey(payload, '', [key]), undefined);
  });
});

describe('parseKey / loadKey: one line naming the source', () => {
  test('unsupported curve', () => {
    assert.throws(() => parseKey(pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), 'k1.pub', 'dosync.yaml: verify.cosign.keys'),
      /^ConfigError: dosync\.yaml: verify\.cosign\.keys: k1\.pub is a ec secp256k1 key; use ECDSA P-256\/P-384, Ed25519 or RSA$/);
  });
  test('a private key is refused without echoing it', () => {
    const priv = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => parseKey(priv, 'env:KEY', 'w'), (e: Error) => /env:KEY is a private key; give the public key/.test(e.message) && !e.message.includes(priv.split('\n')[1]));
  });
  test('not PEM', () => assert.throws(() => parseKey('hello', 'cosign.pub', 'w'), /cosign\.pub is not a PEM public key/));
  test('missing file and unset variable', async () => {
    await assert.rejects(loadKey('/nonexistent/i21.pub', {}, 'w'), /w: cannot read key file \/nonexistent\/i21\.pub \(ENOENT\); fix the path/);
    await assert.rejects(loadKey('env:I21_NOPE', {}, 'w'), /w: env:I21_NOPE: the variable I21_NOPE is not set/);
  });
  test('from an environment variable', async () => {
    const k = await loadKey('env:I21_KEY', { I21_KEY: pem(generateKeyPairSync('ed25519').publicKey) }, 'w');
    assert.equal(k.name, 'env:I21_KEY');
    assert.match(k.id, /^[0-9a-f]{64}$/);
  });
});
