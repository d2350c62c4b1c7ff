/** The checks both drivers apply to a 200 from POST /embed. */
export interface EmbedCheck {
  /** One embedding per input text. */
  countMatches: boolean;
  /** Every embedding has the expected dimension (trivially true when none is expected). */
  dimensionMatches: boolean;
  embeddings: number;
}

export function checkEmbedResponse(body: unknown, expectedCount: number, expectedDim: number | null): EmbedCheck {
  const embeddings = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).embeddings : undefined;
  if (!Array.isArray(embeddings)) return { countMatches: false, dimensionMatches: false, embeddings: 0 };
  const dimensionMatches = embeddings.every(
    (vector) => Array.isArray(vector) && vector.length > 0 && (expectedDim === null || vector.length === expectedDim),
  );
  return { countMatches: embeddings.length === expectedCount, dimensionMatches, embeddings: embeddings.length };
}

/** Reads model and embedding dimension from GET /info, whose field names vary a little by version. */
export function modelInfo(body: unknown): { model: string | null; embeddingDim: number | null } {
  if (typeof body !== 'object' || body === null) return { model: null, embeddingDim: null };
  const info = body as Record<string, unknown>;
  const model = [info.model, info.model_id].find((value): value is string => typeof value === 'string') ?? null;
  const embeddingDim =
    [info.embedding_dim, info.dimension, info.hidden_size].find((value): value is number => Number.isInteger(value) && (value as number) > 0) ?? null;
  return { model, embeddingDim };
}

export function parseTimingHeader(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : null;
}
