import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('embedbench --version', () => {
  for (const flag of ['--version', '-V']) {
    it(`${flag} prints bench/package.json's version and exits 0`, () => {
      const result = spawnSync(process.execPath, [CLI, flag], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.match(packageVersion, /^\d+\.\d+\.\d+/);
      assert.equal(result.stdout, `${packageVersion}\n`);
    });
  }
});
