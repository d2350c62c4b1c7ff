import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { HubClientOptions } from './config.js';
import { HubError } from './errors.js';

export type RepoType = 'model' | 'dataset';

export interface HubRepo {
  type: RepoType;
  /** `owner/name` (or a bare legacy name). */
  id: string;
  /** Branch, tag or commit sha. */
  revision: string;
}

export interface HubFile {
  path: string;
  size: number;
  /** Content sha256 (hex) that the listing gives for LFS files. */
  sha256?: string;
}

export type DownloadProgress = (receivedBytes: number, totalBytes: number) => void;

/** Network failures that mean "no route to the Hub": fatal until the Hub has answered once. */
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);
const DROPPED_CONNECTION_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 30_000;

const treeEntrySchema = z.object({
  type: z.string(),
  path: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  lfs: z.object({ oid: z.string(), size: z.number().int().nonnegative() }).optional(),
});
const treeSchema = z.array(treeEntrySchema);

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/** A failure worth retrying (after backoff); never escapes the client. */
class TransientFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/** Client for the Hugging Face Hub's plain HTTP layout: tree listings and `resolve` downloads. */
export class HubClient {
  private readonly dispatcher: Dispatcher;
  private endpointAnswered = false;

  constructor(readonly options: HubClientOptions) {
    this.dispatcher = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.readTimeoutMs,
      bodyTimeout: options.readTimeoutMs,
    }).compose(interceptors.redirect({ maxRedirections: 10 }));
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  fileUrl(repo: HubRepo, path: string): string {
    const encodedPath = path.split('/').map(encodeURIComponent).join('/');
    const prefix = repo.type === 'dataset' ? 'datasets/' : '';
    return `${this.options.endpoint}/${prefix}${checkedRepoId(repo)}/resolve/${encodeURIComponent(repo.revision)}/${encodedPath}`;
  }

  treeUrl(repo: HubRepo): string {
    return `${this.options.endpoint}/api/${repo.type}s/${checkedRepoId(repo)}/tree/${encodeURIComponent(repo.revision)}?recursive=1`;
  }

  /** Every file of the repository at its revision, with sizes (and sha256 for LFS files). */
  async listFiles(repo: HubRepo): Promise<HubFile[]> {
    const files: HubFile[] = [];
    let pageUrl: string | undefined = this.treeUrl(repo);
    while (pageUrl !== undefined) {
      const url: string = pageUrl;
      const page = await this.withRetries(async () => {
        const response = await this.send(url, {});
        await checkStatus(response, `the file list of ${describeRepo(repo)}`, this.options.token !== undefined);
        return { text: await response.body.text(), link: headerValue(response.headers.link) };
      });
      files.push(...parseTree(page.text, repo));
      pageUrl = nextPageUrl(page.link, url);
    }
    return files;
  }

  /**
   * Downloads one file to `destination` through `<destination>.incomplete`, resuming what an earlier
   * attempt left there, and renames it only once its size (and sha256, when known) match the listing.
   */
  async downloadFile(repo: HubRepo, file: HubFile, destination: string, onProgress?: DownloadProgress): Promise<void> {
    const partialPath = `${destination}.incomplete`;
    const what = `${describeRepo(repo)}: ${file.path}`;
    await mkdir(dirname(destination), { recursive: true });
    await this.withRetries(() => this.transferRemaining(this.fileUrl(repo, file.path), what, file, partialPath, onProgress));
    await verifyDownload(partialPath, file, what);
    await rename(partialPath, destination);
  }

  private async transferRemaining(
    url: string,
    what: string,
    file: HubFile,
    partialPath: string,
    onProgress: DownloadProgress | undefined,
  ): Promise<void> {
    let offset = await sizeOf(partialPath);
    if (offset > file.size) {
      await rm(partialPath, { force: true });
      offset = 0;
    }
    if (offset === file.size && offset > 0) return;
    const response = await this.send(url, offset > 0 ? { range: `bytes=${offset}-` } : {});
    if (response.statusCode === 416) {
      await response.body.dump();
      await rm(partialPath, { force: true });
      throw new TransientFailure(`${what}: the server refused to resume at byte ${offset}`);
    }
    await checkStatus(response, what, this.options.token !== undefined);
    const resumed = response.statusCode === 206;
    if (resumed && rangeStart(headerValue(response.headers['content-range'])) !== offset) {
      await response.body.dump();
      await rm(partialPath, { force: true });
      throw new TransientFailure(`${what}: the server resumed at the wrong offset`);
    }
    const start = resumed ? offset : 0;
    const announced = headerValue(response.headers['content-length']);
    if (announced !== undefined && start + Number(announced) !== file.size) {
      await response.body.dump();
      await rm(partialPath, { force: true });
      throw new HubError(
        'integrity',
        `${what}: the server sends ${start + Number(announced)} bytes but the file listing says ${file.size}`,
      );
    }
    // Every received chunk is written before the next is read, so a dropped connection keeps all of it.
    const output = await open(partialPath, resumed ? 'a' : 'w');
    try {
      let received = start;
      for await (const chunk of response.body) {
        await output.write(chunk as Buffer);
        received += (chunk as Buffer).length;
        onProgress?.(received, file.size);
      }
    } finally {
      await output.close();
    }
  }

  private async send(url: string, extraHeaders: Record<string, string>): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { 'user-agent': 'embedbench-hub-client', ...extraHeaders };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    const response = await request(url, { dispatcher: this.dispatcher, method: 'GET', headers });
    this.endpointAnswered = true;
    return response;
  }

  private async withRetries<T>(operation: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let failure: TransientFailure;
      try {
        return await operation();
      } catch (error) {
        failure = this.classify(error);
      }
      if (attempt >= this.options.maxRetries) {
        throw new HubError('http', `${failure.message}; gave up after ${attempt + 1} attempts (run again to resume)`);
      }
      const backoffMs = this.options.retryBaseDelayMs * 2 ** attempt;
      await sleep(Math.max(backoffMs, Math.min(failure.retryAfterMs, MAX_RETRY_AFTER_MS)));
    }
  }

  /** Returns the failure to retry, or throws the error that ends the operation. */
  private classify(error: unknown): TransientFailure {
    if (error instanceof TransientFailure) return error;
    if (error instanceof HubError) throw error;
    const code = errorCode(error);
    const detail = error instanceof Error ? error.message : String(error);
    if (code !== undefined && UNREACHABLE_CODES.has(code) && !this.endpointAnswered) {
      throw new HubError(
        'offline',
        `cannot reach the Hugging Face Hub at ${this.options.endpoint} (${code}: ${detail}); ` +
          'check the network or HF_ENDPOINT, or work offline (`embedbench model synth`, `embedbench data prepare --source synthetic`)',
      );
    }
    if (code !== undefined && (UNREACHABLE_CODES.has(code) || DROPPED_CONNECTION_CODES.has(code))) {
      return new TransientFailure(`connection to ${this.options.endpoint} failed (${code}: ${detail})`);
    }
    throw error;
  }
}

function checkedRepoId(repo: HubRepo): string {
  if (!REPO_ID.test(repo.id) || repo.id.includes('..')) {
    throw new HubError('usage', `not a Hub repository id: "${repo.id}" (expected owner/name)`);
  }
  return repo.id;
}

export function describeRepo(repo: HubRepo): string {
  return `${repo.type === 'dataset' ? 'dataset ' : ''}${repo.id}@${repo.revision}`;
}

async function checkStatus(response: Dispatcher.ResponseData, what: string, tokenSent: boolean): Promise<void> {
  const status = response.statusCode;
  if (status === 200 || status === 206) return;
  const hubMessage = headerValue(response.headers['x-error-message']);
  const suffix = hubMessage === undefined ? '' : ` (Hub says: ${hubMessage})`;
  await response.body.dump();
  if (status === 401 || status === 403) {
    throw new HubError(
      'unauthorized',
      tokenSent
        ? `the Hub refused ${what} (HTTP ${status}) although HF_TOKEN is set: the token lacks access, or the model's terms are not accepted yet${suffix}`
        : `the Hub refused ${what} (HTTP ${status}): the repository is gated, private or missing; accept its terms on the Hub and set HF_TOKEN${suffix}`,
    );
  }
  if (status === 404) {
    throw new HubError('not-found', `${what} was not found on the Hub (HTTP 404); check the repository id, revision and file${suffix}`);
  }
  if (RETRYABLE_STATUSES.has(status)) {
    const retryAfterSeconds = Number(headerValue(response.headers['retry-after']));
    throw new TransientFailure(`${what}: HTTP ${status}${suffix}`, Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : 0);
  }
  throw new HubError('http', `${what}: unexpected HTTP ${status} from the Hub${suffix}`);
}

function parseTree(text: string, repo: HubRepo): HubFile[] {
  let entries: z.infer<typeof treeSchema>;
  try {
    entries = treeSchema.parse(JSON.parse(text));
  } catch {
    throw new HubError('format', `the file list of ${describeRepo(repo)} is not a Hub tree listing`);
  }
  return entries
    .filter((entry) => entry.type === 'file')
    .map((entry) => {
      const size = entry.lfs?.size ?? entry.size;
      if (size === undefined) throw new HubError('format', `the Hub listing gives no size for ${entry.path}`);
      const sha256 = entry.lfs !== undefined && /^[0-9a-f]{64}$/.test(entry.lfs.oid) ? entry.lfs.oid : undefined;
      return sha256 === undefined ? { path: entry.path, size } : { path: entry.path, size, sha256 };
    });
}

function nextPageUrl(link: string | undefined, currentUrl: string): string | undefined {
  const match = link === undefined ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  return match?.[1] === undefined ? undefined : new URL(match[1], currentUrl).toString();
}

function rangeStart(contentRange: string | undefined): number | undefined {
  const match = contentRange === undefined ? null : /^bytes (\d+)-/.exec(contentRange);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const withCode = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof withCode.code === 'string') return withCode.code;
  if (Array.isArray(withCode.errors) && withCode.errors.length > 0) return errorCode(withCode.errors[0]);
  return withCode.cause === undefined ? undefined : errorCode(withCode.cause);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 0;
    throw error;
  }
}

async function verifyDownload(partialPath: string, file: HubFile, what: string): Promise<void> {
  const size = await sizeOf(partialPath);
  if (size !== file.size) {
    await rm(partialPath, { force: true });
    throw new HubError('integrity', `${what}: downloaded ${size} bytes but the file listing says ${file.size}`);
  }
  if (file.sha256 === undefined) return;
  const hash = createHash('sha256');
  await pipeline(createReadStream(partialPath), hash);
  const actual = hash.digest('hex');
  if (actual !== file.sha256) {
    await rm(partialPath, { force: true });
    throw new HubError(
      'integrity',
      `${what}: sha256 ${actual} does not match the listing's ${file.sha256}; the partial file was removed, run again to download it afresh`,
    );
  }
}
