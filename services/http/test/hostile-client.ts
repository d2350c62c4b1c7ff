import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Milliseconds from connecting to the server closing the connection. */
  readonly elapsedMs: number;
  /** Connection resets seen (EPIPE writing, ECONNRESET): the server closed while bytes were in flight. */
  readonly resets: number;
}

/**
 * Sends raw bytes (pieces written `gapMs` apart, so a body can trickle in) on a fresh connection,
 * and reads until the server closes it. Every request asks for Connection: close, so the end of
 * the connection is the end of the answer.
 */
export function rawRequest(url: string, pieces: ReadonlyArray<string | Buffer>, gapMs = 0): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let resets = 0;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may cut a client that keeps writing; what it answered still counts.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resets++;
      else reject(error);
    });
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(received), performance.now() - startedAt, resets));
      } catch (error) {
        reject(error as Error);
      }
    });
    socket.once('connect', () => {
      void (async () => {
        for (const piece of pieces) {
          if (socket.destroyed || socket.writableEnded) return;
          socket.write(piece);
          if (gapMs > 0) await sleep(gapMs);
        }
      })();
    });
  });
}

function parseResponse(bytes: Buffer, elapsedMs: number, resets: number): RawResponse {
  const text = bytes.toString('utf8');
  const headerEnd = text.indexOf('\r\n\r\n');
  if (headerEnd < 0) throw new Error(`no complete HTTP response, got ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...headerLines] = text.slice(0, headerEnd).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
  const headers = Object.fromEntries(
    headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return { status, headers, body: text.slice(headerEnd + 4), elapsedMs, resets };
}

/** A complete request with the given method, path, extra headers and body. */
export function requestBytes(method: string, path: string, headers: Record<string, string | number>, body: string | Buffer = ''): Buffer {
  const head = [`${method} ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), Buffer.from(body)]);
}

/** A request for a JSON body with its Content-Length declared. */
export function jsonRequest(path: string, body: string | Buffer): Buffer {
  return requestBytes('POST', path, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, body);
}

/** A chunked JSON request: one chunk per piece, then the terminating chunk. */
export function chunkedPieces(path: string, chunks: ReadonlyArray<string | Buffer>): Buffer[] {
  const head = requestBytes('POST', path, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  const encoded = chunks.map((chunk) => {
    const bytes = Buffer.from(chunk);
    return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
  });
  return [head, ...encoded, Buffer.from('0\r\n\r\n')];
}
