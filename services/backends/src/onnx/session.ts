import type { InferenceSession } from 'onnxruntime-node';
import type { ProviderAttempt, SkippedProvider, WorkerSetup } from './messages.js';
import { createOptimizedSession, type OptimizedGraphUse } from './optimized-graph-cache.js';

export interface OpenedSession {
  readonly session: InferenceSession;
  readonly attempt: ProviderAttempt;
  readonly optimizedGraph: OptimizedGraphUse;
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
 * Tries each provider/model-file pair in order and keeps the first session that loads; the
 * failures are returned so the caller can log them. ORT is asked for exactly one provider at a
 * time, so a GPU provider that cannot load is never silently replaced by the CPU one.
 */
export async function openSessionWithFallback(setup: WorkerSetup): Promise<OpenedSession> {
  const skipped: SkippedProvider[] = [];
  for (const attempt of setup.attempts) {
    try {
      const { session, optimizedGraph } = await createOptimizedSession(attempt, {
        executionProviders: [attempt.provider],
        intraOpNumThreads: setup.intraOpThreads,
        interOpNumThreads: setup.interOpThreads,
        // The CPU arena stays on: it keeps the peak of the largest batch (+79 MiB after 2 x 512 tokens on
        // ModernBERT-base, bounded by the batch memory budget); without it glibc kept +779 MiB. The arena
        // cannot be shrunk after a run: onnxruntime-node 1.30 ignores run-option config entries.
        // Providers are probed before they are tried, so what onnxruntime says here is about this model.
        // On a GPU provider it warns, every time, that it placed the shape operators on the CPU, which
        // it does on purpose; only its errors are worth printing there.
        logSeverityLevel: attempt.provider === 'cpu' ? 2 : 3,
      });
      return { session, attempt, optimizedGraph, skipped };
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
