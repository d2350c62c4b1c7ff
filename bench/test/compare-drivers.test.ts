import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { builtinDriver, chooseDriver, K6_SCRIPT, k6OnPath } from '../src/compare/drivers.js';

test('the k6 script compare runs is the repository\'s loadtest/embed.ts', () => {
  assert.ok(existsSync(K6_SCRIPT), K6_SCRIPT);
  assert.match(K6_SCRIPT, /loadtest\/embed\.ts$/);
});

test('--driver builtin is always the built-in driver; auto falls back to it without k6; --driver k6 without k6 is a clear error', async () => {
  assert.equal(await chooseDriver('builtin', undefined), builtinDriver);
  const k6 = await k6OnPath();
  if (k6) {
    assert.equal((await chooseDriver('auto', undefined)).name, 'k6');
    assert.equal((await chooseDriver('k6', undefined)).name, 'k6');
  } else {
    assert.equal(await chooseDriver('auto', undefined), builtinDriver);
    await assert.rejects(chooseDriver('k6', undefined), /--driver k6: k6 is not on PATH \(install it, or use --driver builtin\)/);
  }
  assert.equal(await k6OnPath('/nonexistent/k6'), undefined);
});
