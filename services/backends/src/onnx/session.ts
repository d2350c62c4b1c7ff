import { readFile } from 'node:fs/promises';
import { InferenceSession } from 'onnxruntime-node';
import { withMeanPoolingOutput } from './mean-pooling-graph.js';
import type { ProviderAttempt, SkippedProvider, WorkerSetup } from './messages.js';

export interface OpenedSession {
  readonly session: InferenceSession;
  readonly attempt: ProviderAttempt;
  readonly skipped: readonly SkippedProvider[];
}

export class NoProviderLoadedError extends Error {
  constructor(readonly skipped: readonly SkippedProvider[]) {
    super(
      `no execution provider could load the model: ${skipped
        .map((entry) => `${entry.provider} (${entry.modelFile}): ${entry.reason}`)
        .join('; ')}`,
    );
    this.name = 'NoProviderLoadedError';
  }
}

/**
 * Tries each provider/model-file pair in order and keeps the first session that loads (with the
 * model's mean pooling added to its graph); the
 * failures are returned so the caller can log them. ORT is asked for exactly one provider at a
 * time, so a GPU provider that cannot load is never silently replaced by the CPU one.
 */
export async function openSessionWithFallback(setup: WorkerSetup): Promise<OpenedSession> {
  const skipped: SkippedProvider[] = [];
  for (const attempt of setup.attempts) {
    try {
      const model = withMeanPoolingOutput(await readFile(attempt.modelFile));
      const session = await InferenceSession.create(model, {
        executionProviders: [attempt.provider],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: setup.intraOpThreads,
        interOpNumThreads: setup.interOpThreads,
        // Providers are probed before they are tried, so what onnxruntime says here is about this model.
        logSeverityLevel: 2,
      });
      return { session, attempt, skipped };
    } catch (error) {
      skipped.push({ provider: attempt.provider, modelFile: attempt.modelFile, reason: firstLine(error) });
    }
  }
  throw new NoProviderLoadedError(skipped);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}
