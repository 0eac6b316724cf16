import assert from 'node:assert/strict';
import { RegistryError } from '../../src/util/errors.js';

/** The error a promise rejects with, asserted to be of `kind` (default RegistryError); fails the test if it resolves. */
export async function rejection<E extends Error = RegistryError>(p: Promise<unknown>, kind: abstract new (...args: never[]) => E = RegistryError as unknown as abstract new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof kind, `expected a ${kind.name}, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}
