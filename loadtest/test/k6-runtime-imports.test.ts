import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

// dist/test/ -> loadtest/
const root = new URL('../../', import.meta.url);

function importSpecifiers(source: string): string[] {
  return [...source.matchAll(/^\s*import\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm)].map((match) => match[1] as string);
}

test('embed.ts and lib/ import only k6 modules and relative .ts files, so k6 runs them without a bundler', () => {
  const files = ['embed.ts', ...readdirSync(new URL('lib/', root)).map((name) => `lib/${name}`)];
  for (const file of files) {
    const specifiers = importSpecifiers(readFileSync(new URL(file, root), 'utf8'));
    for (const specifier of specifiers) {
      const allowed = file === 'embed.ts' ? /^(k6(\/[\w-]+)?|\.\/lib\/[\w-]+\.ts)$/ : /^\.\/[\w-]+\.ts$/;
      assert.match(specifier, allowed, `${file} imports ${specifier}`);
    }
  }
  assert.ok(importSpecifiers(readFileSync(new URL('embed.ts', root), 'utf8')).includes('k6/http'), 'the scan sees imports');
});
