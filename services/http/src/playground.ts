import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Middleware } from 'koa';

/** services/http/playground, beside dist/ (this file runs from dist/src). */
const PLAYGROUND_DIR = fileURLToPath(new URL('../../playground/', import.meta.url));
export const PLAYGROUND_PATH = '/playground';

/** The page's script: playground/app.ts with Faro, bundled for the browser once, on first request. */
async function bundleScript(): Promise<string> {
  const result = await build({
    entryPoints: [`${PLAYGROUND_DIR}app.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

interface Asset {
  readonly type: string;
  readonly load: () => Promise<string>;
}

/** Serves the playground page at GET /playground (index.html, app.js, style.css); everything else passes through. */
export function playground(): Middleware {
  const assets: Record<string, Asset> = {
    '': { type: 'html', load: () => readFile(`${PLAYGROUND_DIR}index.html`, 'utf8') },
    'app.js': { type: 'js', load: bundleScript },
    'style.css': { type: 'css', load: () => readFile(`${PLAYGROUND_DIR}style.css`, 'utf8') },
  };
  const loaded = new Map<string, Promise<string>>();
  return async (ctx, next) => {
    if (ctx.path !== PLAYGROUND_PATH && !ctx.path.startsWith(`${PLAYGROUND_PATH}/`)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === PLAYGROUND_PATH) {
      // Relative asset URLs in the page resolve against the directory.
      ctx.redirect(`${PLAYGROUND_PATH}/${ctx.querystring ? `?${ctx.querystring}` : ''}`);
      return;
    }
    const name = ctx.path.slice(PLAYGROUND_PATH.length + 1);
    const asset = assets[name];
    if (asset === undefined) return next();
    let content = loaded.get(name);
    if (content === undefined) {
      content = asset.load();
      loaded.set(name, content);
      content.catch(() => loaded.delete(name));
    }
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = await content;
  };
}
