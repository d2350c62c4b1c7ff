import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';

/**
 * dist/playground, beside dist/src where this file runs: the page, its script bundled at build time
 * (scripts/bundle-playground.mjs) and its stylesheet.
 */
const PLAYGROUND_DIR = fileURLToPath(new URL('../playground/', import.meta.url));
export const PLAYGROUND_PATH = '/playground';

interface Asset {
  readonly type: string;
  readonly file: string;
}

const ASSETS: Record<string, Asset> = {
  '': { type: 'html', file: 'index.html' },
  'app.js': { type: 'js', file: 'app.js' },
  'style.css': { type: 'css', file: 'style.css' },
};

async function load(asset: Asset): Promise<string> {
  const path = `${PLAYGROUND_DIR}${asset.file}`;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}; the playground is made by \`npm run build\`: ${(error as Error).message}`, { cause: error });
  }
}

/** Serves the playground page at GET /playground (index.html, app.js, style.css); everything else passes through. */
export function playground(): Middleware {
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
    const asset = ASSETS[name];
    if (asset === undefined) return next();
    let content = loaded.get(name);
    if (content === undefined) {
      content = load(asset);
      loaded.set(name, content);
      content.catch(() => loaded.delete(name));
    }
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = await content;
  };
}
