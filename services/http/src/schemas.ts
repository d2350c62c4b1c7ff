import { EmbedError } from '@embedbench/core/errors';
import { z } from 'zod';

/** The native shape: `{"texts": [...]}`, answered with `{"embeddings": [...], "model", ...}`. */
const textsRequest = z.object({
  texts: z.array(z.string()),
  normalize: z.boolean().default(true),
  truncate: z.boolean().default(true),
});

/** text-embeddings-inference's shape: `{"inputs": string | string[]}`. */
const teiRequest = z.object({
  inputs: z.union([z.string(), z.array(z.string())], { error: 'expected a string or an array of strings' }),
  normalize: z.boolean().default(true),
  truncate: z.boolean().default(true),
});

export const openAiRequest = z.object({
  input: z.union([z.string(), z.array(z.string())], {
    error: 'expected a string or an array of strings (token-id inputs are not supported)',
  }),
  model: z.string().optional(),
  encoding_format: z.enum(['float', 'base64']).default('float'),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});

export type EmbedBody =
  | ({ shape: 'texts' } & z.infer<typeof textsRequest>)
  | ({ shape: 'tei' } & z.infer<typeof teiRequest>);

/** Picks the /embed shape by its key and validates it; 422 names what is wrong. */
export function parseEmbedBody(body: unknown): EmbedBody {
  const record = asObject(body);
  const hasTexts = 'texts' in record;
  const hasInputs = 'inputs' in record;
  if (hasTexts === hasInputs) {
    throw new EmbedError('validation', 'send either {"texts": [...]} or {"inputs": string | [...]}, not both or neither');
  }
  return hasTexts
    ? { shape: 'texts', ...validate(textsRequest, record) }
    : { shape: 'tei', ...validate(teiRequest, record) };
}

export function parseOpenAiBody(body: unknown): z.infer<typeof openAiRequest> {
  return validate(openAiRequest, asObject(body));
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EmbedError('validation', 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function validate<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
    return `${path.replace(/^\./, '') || 'body'}: ${issue.message}`;
  });
  throw new EmbedError('validation', problems.slice(0, 5).join('; ') + (problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''));
}
