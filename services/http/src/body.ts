import type { IncomingMessage } from 'node:http';
import { EmbedError } from '@embedbench/core/errors';
import { TransportError } from './errors.js';

/** Keys dropped while parsing, so no parsed object can reach a prototype through them. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Reads a JSON request body: rejects a missing body (400), a non-JSON content type or charset
 * (415), a body over `limitBytes` (413, before reading it when Content-Length says so) and a body
 * still incomplete after `timeoutMs` (408), then decodes strict UTF-8 and parses JSON (400 on
 * either failing).
 */
export async function readJsonBody(request: IncomingMessage, limitBytes: number, timeoutMs: number): Promise<unknown> {
  const declaredLength = request.headers['content-length'];
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if (!chunked && (declaredLength === undefined || declaredLength === '0')) {
    throw new TransportError('malformed_json', 'the request has no body; send a JSON object');
  }
  checkContentType(request.headers['content-type']);
  if (declaredLength !== undefined && Number(declaredLength) > limitBytes) {
    throw tooLarge(limitBytes);
  }
  const bytes = await readLimited(request, limitBytes, timeoutMs);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TransportError('malformed_json', 'the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text, (key, value: unknown) => (FORBIDDEN_KEYS.has(key) ? undefined : value));
  } catch (error) {
    if (error instanceof RangeError) throw new TransportError('malformed_json', 'the request body nests too deeply');
    throw new TransportError('malformed_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}

function checkContentType(header: string | undefined): void {
  const [mediaType = '', ...parameters] = (header ?? '').split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json' && !/^application\/[\w.-]+\+json$/.test(mediaType)) {
    throw new TransportError(
      'unsupported_media_type',
      `expected Content-Type: application/json, got ${header === undefined ? 'none' : JSON.stringify(header)}`,
    );
  }
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice('charset='.length);
  if (charset !== undefined && charset.replaceAll('"', '') !== 'utf-8') {
    throw new TransportError('unsupported_media_type', `only the utf-8 charset is accepted, got ${charset}`);
  }
}

function tooLarge(limitBytes: number): TransportError {
  return new TransportError('payload_too_large', `the request body is larger than the limit of ${limitBytes} bytes`);
}

function readLimited(request: IncomingMessage, limitBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(() => {
      request.pause();
      fail(new TransportError('request_timeout', `the request body was not received within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onAborted);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) {
        request.pause();
        fail(tooLarge(limitBytes));
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, received));
    };
    const onError = (error: Error) => fail(new EmbedError('client_closed', `reading the request body failed: ${error.message}`));
    const onAborted = () => fail(new EmbedError('client_closed', 'the client closed the request while sending it'));
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onAborted);
  });
}
