import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** A stand-in for huggingface.co on 127.0.0.1: tree listings and `resolve` downloads from local folders. */
export interface HubTestServerOptions {
  /** Model repository id -> folder served as that repository (at any revision). */
  models?: Record<string, string>;
  /** Dataset repository id -> folder. */
  datasets?: Record<string, string>;
  /** When set, every request must carry `Authorization: Bearer <requiredToken>` or gets 401. */
  requiredToken?: string;
  /** Cuts the connection after `afterBytes` body bytes on the first `times` downloads of `path`. */
  interrupt?: { path: string; afterBytes: number; times: number };
  /** Listing sizes that differ from the real ones (path -> size to report). */
  reportedSizes?: Record<string, number>;
  /** Answers `resolve` with a 302 to a second URL on this server, as the Hub does for LFS files. */
  redirectDownloads?: boolean;
  /** Splits the tree listing into pages of this many entries, linked with `Link: rel="next"`. */
  treePageSize?: number;
}

export interface RecordedRequest {
  path: string;
  range?: string;
  authorization?: string;
}

export interface HubTestServer {
  endpoint: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const LFS_EXTENSIONS = ['.onnx', '.onnx_data', '.gz'];

export async function startHubTestServer(options: HubTestServerOptions): Promise<HubTestServer> {
  const requests: RecordedRequest[] = [];
  const interruptsLeft = { count: options.interrupt?.times ?? 0 };
  const repos = [
    ...Object.entries(options.models ?? {}).map(([id, folder]) => ({ prefix: `/${id}/`, api: `/api/models/${id}/`, folder })),
    ...Object.entries(options.datasets ?? {}).map(([id, folder]) => ({ prefix: `/datasets/${id}/`, api: `/api/datasets/${id}/`, folder })),
  ];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ path: url.pathname, range: req.headers.range, authorization: req.headers.authorization });
    void handle(req, res, url).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (options.requiredToken !== undefined && req.headers.authorization !== `Bearer ${options.requiredToken}`) {
      res.writeHead(401, { 'x-error-message': 'Access to this repository is restricted' }).end();
      return;
    }
    if (url.pathname.startsWith('/cdn/')) {
      await sendFile(req, res, decodeURIComponent(url.pathname.slice('/cdn/'.length)));
      return;
    }
    for (const repo of repos) {
      if (url.pathname.startsWith(repo.api)) {
        const listing = await listFolder(repo.folder);
        sendListingPage(res, url, listing);
        return;
      }
      const resolve = url.pathname.startsWith(repo.prefix) ? /^resolve\/[^/]+\/(.+)$/.exec(url.pathname.slice(repo.prefix.length)) : null;
      if (resolve?.[1] !== undefined) {
        const file = join(repo.folder, ...resolve[1].split('/').map(decodeURIComponent));
        if (options.redirectDownloads) {
          res.writeHead(302, { location: `/cdn/${encodeURIComponent(file)}` }).end();
          return;
        }
        await sendFile(req, res, file);
        return;
      }
    }
    res.writeHead(404, { 'x-error-message': 'Repository not found' }).end();
  }

  function sendListingPage(res: ServerResponse, url: URL, listing: object[]): void {
    const pageSize = options.treePageSize ?? listing.length;
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cursor + pageSize < listing.length) {
      const next = new URL(url.toString());
      next.searchParams.set('cursor', String(cursor + pageSize));
      headers.link = `<${next.pathname}${next.search}>; rel="next"`;
    }
    res.writeHead(200, headers).end(JSON.stringify(listing.slice(cursor, cursor + pageSize)));
  }

  async function listFolder(folder: string): Promise<object[]> {
    const entries: object[] = [];
    for (const name of (await readdir(folder, { recursive: true })).sort()) {
      const path = join(folder, name);
      const info = await stat(path);
      const repoPath = relative(folder, path).split('\\').join('/');
      if (info.isDirectory()) {
        entries.push({ type: 'directory', path: repoPath, size: 0, oid: 'tree' });
        continue;
      }
      const size = options.reportedSizes?.[repoPath] ?? info.size;
      const entry: Record<string, unknown> = { type: 'file', path: repoPath, size, oid: 'blob' };
      if (LFS_EXTENSIONS.some((extension) => repoPath.endsWith(extension))) {
        const sha256 = createHash('sha256').update(await readFile(path)).digest('hex');
        entry.lfs = { oid: sha256, size, pointerSize: 134 };
      }
      entries.push(entry);
    }
    return entries;
  }

  async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
    let total: number;
    try {
      total = (await stat(file)).size;
    } catch {
      res.writeHead(404, { 'x-error-message': 'Entry not found' }).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range?.[1] === undefined ? 0 : Number(range[1]);
    if (start >= total && total > 0) {
      res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
      return;
    }
    const headers: Record<string, string | number> = { 'content-length': total - start, 'accept-ranges': 'bytes' };
    if (range !== null) headers['content-range'] = `bytes ${start}-${total - 1}/${total}`;
    res.writeHead(range === null ? 200 : 206, headers);
    const interrupt = options.interrupt;
    if (interrupt !== undefined && file.endsWith(interrupt.path) && interruptsLeft.count > 0) {
      interruptsLeft.count -= 1;
      const content = await readFile(file);
      // The pause lets the client take the bytes in before the connection breaks, as on a real network.
      res.write(content.subarray(start, start + interrupt.afterBytes), () => setTimeout(() => res.socket?.destroy(), 300));
      return;
    }
    createReadStream(file, { start }).pipe(res);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs `body` with a started server and an empty scratch folder, and always cleans both up. */
export async function withHubTestServer(
  options: HubTestServerOptions,
  body: (server: HubTestServer, scratch: string) => Promise<void>,
): Promise<void> {
  const server = await startHubTestServer(options);
  const scratch = await mkdtemp(join(tmpdir(), 'hub-scratch-'));
  try {
    await body(server, scratch);
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
