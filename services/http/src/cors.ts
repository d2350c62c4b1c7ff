import { TIMING_HEADERS } from '@embedbench/loadtest/contract';
import type { Middleware } from 'koa';

/** Browsers may read these from cross-origin responses (the playground shows them). */
const EXPOSED_HEADERS = [...Object.values(TIMING_HEADERS), 'retry-after'];
const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const ALLOWED_HEADERS = 'content-type, authorization';
const PREFLIGHT_MAX_AGE_SECONDS = 600;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface CorsOptions {
  /**
   * Exact origins (scheme://host[:port]) allowed to call the API from a browser. Default: loopback
   * origins only (http://localhost:*, http://127.0.0.1:*, http://[::1]:*), which is where the
   * playground page is served from (/playground on either service, both bound to 127.0.0.1 by
   * default), so one service's page can reach the other.
   */
  readonly allowedOrigins?: readonly string[];
}

export function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/** CORS for the API: answers preflights and marks responses readable by the allowed origins only. */
export function cors(options: CorsOptions = {}): Middleware {
  const listed = options.allowedOrigins === undefined ? undefined : new Set(options.allowedOrigins);
  const allowed = (origin: string) => (listed === undefined ? isLoopbackOrigin(origin) : listed.has(origin));
  return async (ctx, next) => {
    ctx.vary('Origin');
    const origin = ctx.get('origin');
    if (origin === '' || !allowed(origin)) {
      await next();
      return;
    }
    ctx.set('Access-Control-Allow-Origin', origin);
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '') {
      ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      ctx.set('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
      ctx.status = 204;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS.join(', '));
    await next();
  };
}
