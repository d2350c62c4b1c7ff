/**
 * EmbedBench load test for k6 >= 0.57, run natively (k6 strips the types; no bundler, no npm):
 *   k6 run -e BASE_URL=http://localhost:8002 -e BACKEND=onnx -e BATCH_SIZE=32 loadtest/embed.ts
 * Every environment variable is documented in loadtest/README.md. Each iteration POSTs one batch of
 * BATCH_SIZE passages to /embed; handleSummary writes the project's result schema beside k6's JSON.
 */
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Options, Scenario, Threshold } from 'k6/options';
import { TIMING_HEADERS } from './lib/contract.ts';
import { checkEmbedResponse, modelInfo, parseTimingHeader } from './lib/embed-response.ts';
import {
  EMBED_TAGS,
  embedDurationMetric,
  embedRequestsMetric,
  errorCounterName,
  K6_METRICS,
  resultFromK6Summary,
  STEP_TAG,
  stepMetric,
  SUMMARY_TREND_STATS,
} from './lib/k6-summary.ts';
import type { K6SummaryData } from './lib/k6-summary.ts';
import { batchForRequest, parsePassagesJsonl } from './lib/passages.ts';
import { DEFAULTS, parseRunParameters } from './lib/parameters.ts';
import type { RunParameters } from './lib/parameters.ts';
import { counterDelta, readServiceCounters } from './lib/prometheus.ts';
import type { ServiceCounters } from './lib/prometheus.ts';
import { classifyResponse, TRACKED_ERROR_KEYS } from './lib/result.ts';
import type { ErrorKey } from './lib/result.ts';
import { saturationArrivalPlan, saturationSteps, stepAt } from './lib/schedule.ts';

// k6 resolves open() paths from this script's directory; the default points at the repo's data/.
const parameters = parseRunParameters({ ...__ENV, DATASET: __ENV.DATASET || `../${DEFAULTS.DATASET}` }, Date.now());
const steps = parameters.scenario === 'saturation' ? saturationSteps(parameters.saturation, parameters.durationSeconds) : null;
const passages = new SharedArray('passages', () => parsePassagesJsonl(open(parameters.dataset), parameters.dataset));

const embeddings = new Counter(K6_METRICS.embeddings);
const failures = new Rate(K6_METRICS.failures);
const serverTrends = {
  queue: new Trend(K6_METRICS.serverQueue, true),
  tokenization: new Trend(K6_METRICS.serverTokenization, true),
  inference: new Trend(K6_METRICS.serverInference, true),
  total: new Trend(K6_METRICS.serverTotal, true),
};
const errorCounters = Object.fromEntries(TRACKED_ERROR_KEYS.map((key) => [key, new Counter(errorCounterName(key))])) as Record<ErrorKey, Counter>;
const serverRequestsDelta = new Counter(K6_METRICS.serverRequestsDelta);
const serverTokensDelta = new Counter(K6_METRICS.serverTokensDelta);

const k6Duration = (seconds: number): string => `${Math.round(seconds * 1000)}ms`;

function scenario(run: RunParameters): Scenario {
  const duration = k6Duration(run.durationSeconds);
  switch (run.scenario) {
    case 'closed':
      return { executor: 'constant-vus', vus: run.vus, duration };
    case 'open':
      return { executor: 'constant-arrival-rate', rate: run.rate, timeUnit: '1s', duration, preAllocatedVUs: Math.min(run.maxVus, run.rate), maxVUs: run.maxVus };
    case 'saturation': {
      const plan = saturationArrivalPlan(steps ?? []);
      return {
        executor: 'ramping-arrival-rate',
        startRate: plan.startRate,
        timeUnit: '1s',
        stages: plan.stages.map((stage) => ({ duration: k6Duration(stage.durationSeconds), target: stage.target })),
        preAllocatedVUs: Math.min(run.maxVus, plan.startRate),
        maxVUs: run.maxVus,
      };
    }
  }
}

function thresholds(run: RunParameters): Record<string, Threshold[]> {
  const abortOnErrors = { threshold: `rate<=${run.maxErrorRate}`, abortOnFail: true, delayAbortEval: '10s' };
  const result: Record<string, Threshold[]> = { [embedRequestsMetric]: ['count>0'] };
  if (!steps) {
    result[K6_METRICS.failures] = [abortOnErrors];
    result[embedDurationMetric] = [`p(99)<=${run.p99TargetMs}`];
    return result;
  }
  // Beyond the first step, failing the target is what a saturation run looks for, not a failed run.
  // k6 reports a tagged sub-metric only when a threshold names it, hence the report-only ones.
  result[embedDurationMetric] = ['max>=0'];
  for (const step of steps) {
    const first = step.index === 0;
    result[stepMetric('http_req_duration', step.index)] = [first ? `p(99)<=${run.p99TargetMs}` : 'max>=0'];
    result[stepMetric('http_reqs', step.index)] = ['count>=0'];
    result[stepMetric(K6_METRICS.failures, step.index)] = [first ? abortOnErrors : 'rate>=0'];
  }
  return result;
}

export const options: Options = {
  scenarios: { [parameters.scenario]: scenario(parameters) },
  thresholds: thresholds(parameters),
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { backend: parameters.backend, batch_size: String(parameters.batchSize) },
};

interface SetupData {
  testid: string;
  startedAtMs: number;
  model: string | null;
  embeddingDim: number | null;
  countersBefore: ServiceCounters | null;
}

function json(response: RefinedResponse<ResponseType | undefined>): unknown {
  try {
    return response.json();
  } catch {
    return null;
  }
}

function serviceCounters(): ServiceCounters | null {
  const response = http.get(`${parameters.baseUrl}/metrics`, { tags: { endpoint: 'metrics' } });
  return response.status === 200 && typeof response.body === 'string' ? readServiceCounters(response.body) : null;
}

export function setup(): SetupData {
  const info = http.get(`${parameters.baseUrl}/info`, { tags: { endpoint: 'info' } });
  const reported = info.status === 200 ? modelInfo(json(info)) : { model: null, embeddingDim: null };
  return {
    testid: parameters.testid,
    startedAtMs: Date.now(),
    model: reported.model,
    embeddingDim: parameters.expectedDim ?? reported.embeddingDim,
    countersBefore: serviceCounters(),
  };
}

export default function (data: SetupData): void {
  const texts = batchForRequest(passages, parameters.batchSize, exec.scenario.iterationInTest);
  const tags: Record<string, string> = { ...EMBED_TAGS, testid: data.testid };
  if (steps) tags[STEP_TAG] = String(stepAt(steps, (Date.now() - exec.scenario.startTime) / 1000).index);
  const response = http.post(`${parameters.baseUrl}/embed`, JSON.stringify({ texts }), {
    headers: { 'Content-Type': 'application/json' },
    timeout: `${parameters.timeoutSeconds}s`,
    tags,
  });
  const body = response.status === 200 ? checkEmbedResponse(json(response), texts.length, data.embeddingDim) : null;
  check(response, {
    'status is 200': (r) => r.status === 200,
    'one embedding per input': () => body?.countMatches === true,
    'embedding dimension': () => body?.dimensionMatches === true,
  }, tags);
  const errorKey = classifyResponse(response.status, body !== null && body.countMatches && body.dimensionMatches);
  failures.add(errorKey !== null, tags);
  if (errorKey !== null) errorCounters[errorKey].add(1, tags);
  else embeddings.add(body?.embeddings ?? 0, tags);
  for (const [part, header] of Object.entries(TIMING_HEADERS) as Array<[keyof typeof TIMING_HEADERS, string]>) {
    // k6 hands headers over in Go's canonical form: x-queue-time -> X-Queue-Time.
    const canonical = header.replace(/(^|-)([a-z])/g, (_all, dash: string, letter: string) => dash + letter.toUpperCase());
    const milliseconds = parseTimingHeader(response.headers[canonical]);
    if (milliseconds !== null) serverTrends[part].add(milliseconds, tags);
  }
}

export function teardown(data: SetupData): void {
  const delta = counterDelta(data.countersBefore, serviceCounters());
  if (delta.requests !== null) serverRequestsDelta.add(delta.requests, { testid: data.testid });
  if (delta.tokens !== null) serverTokensDelta.add(delta.tokens, { testid: data.testid });
}

export function handleSummary(data: K6SummaryData & { setup_data?: SetupData }): Record<string, string> {
  const setupData = data.setup_data;
  const testid = setupData?.testid ?? parameters.testid;
  const result = resultFromK6Summary(data, {
    parameters: { ...parameters, testid },
    model: setupData?.model ?? null,
    embeddingDim: setupData?.embeddingDim ?? null,
    startedAtMs: setupData?.startedAtMs ?? Date.now() - data.state.testRunDurationMs,
    finishedAtMs: Date.now(),
    steps,
    environment: {
      hostname: __ENV.HOSTNAME || null,
      os: null,
      cpuModel: null,
      cpuCount: null,
      memoryBytes: null,
      gpus: null,
      runtime: `k6 ${__ENV.K6_VERSION || '(version not given)'}`,
      embedbenchVersion: __ENV.EMBEDBENCH_VERSION || null,
      gitSha: __ENV.EMBEDBENCH_GIT_SHA || null,
    },
  });
  const directory = __ENV.RESULTS_DIR || 'results';
  const resultPath = `${directory}/${testid}.result.json`;
  const latency = result.latencyMs;
  return {
    [`${directory}/${testid}.k6-summary.json`]: JSON.stringify(data, null, 2),
    [resultPath]: `${JSON.stringify(result, null, 2)}\n`,
    stdout:
      `embedbench ${result.backend} batch=${result.batchSize} ${result.scenario}: ${result.requests.total} requests, ` +
      `${result.throughput.requestsPerSecond.toFixed(2)} req/s, ${result.throughput.embeddingsPerSecond.toFixed(1)} emb/s, ` +
      `p99 ${latency ? latency.p99.toFixed(1) : '-'} ms, success ${(result.successRate * 100).toFixed(2)}%` +
      (result.saturation ? `, sustained ${result.saturation.sustainedRate ?? 'none'} req/s` : '') +
      `, thresholds ${result.thresholds.passed ? 'passed' : 'FAILED'}\nresult: ${resultPath}\n`,
  };
}
