// Build step (run by the root `npm run build`, after tsc -b): bundles the playground page's script,
// playground/app.ts with Faro, for the browser, and copies the page and its stylesheet beside it
// into dist/playground/, which src/playground.ts serves as static files. The server itself never
// loads esbuild, so a production install (--omit=dev) serves what this wrote.
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const source = new URL('../playground/', import.meta.url);
const out = new URL('../dist/playground/', import.meta.url);

await mkdir(out, { recursive: true });
await build({
  entryPoints: [fileURLToPath(new URL('app.ts', source))],
  outfile: fileURLToPath(new URL('app.js', out)),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'inline',
  logLevel: 'warning',
});
await Promise.all(['index.html', 'style.css'].map((name) => copyFile(new URL(name, source), new URL(name, out))));
