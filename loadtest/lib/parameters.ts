/**
 * Run parameters shared by the k6 script (read from `__ENV`) and `embedbench load` (its options are
 * mapped onto the same names), validated by one function so both reject the same bad input.
 * Every variable is documented in loadtest/README.md.
 */
export const SCENARIOS = ['closed', 'open', 'saturation'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface SaturationPlan {
  startRate: number;
  maxRate: number;
  steps: number;
}

export interface RunParameters {
  baseUrl: string;
  backend: string;
  batchSize: number;
  durationSeconds: number;
  scenario: Scenario;
  vus: number;
  rate: number;
  maxVus: number;
  dataset: string;
  testid: string;
  p99TargetMs: number;
  maxErrorRate: number;
  expectedDim: number | null;
  timeoutSeconds: number;
  saturation: SaturationPlan;
}

export type ParameterSource = Readonly<Record<string, string | undefined>>;

export const DEFAULTS = {
  BASE_URL: 'http://localhost:8000',
  BACKEND: 'unknown',
  BATCH_SIZE: '32',
  DURATION: '60s',
  SCENARIO: 'closed',
  VUS: '8',
  RATE: '10',
  MAX_VUS: '100',
  DATASET: 'data/passages.jsonl',
  P99_TARGET_MS: '1000',
  MAX_ERROR_RATE: '0.01',
  TIMEOUT: '60s',
  SATURATION_START_RATE: '1',
  SATURATION_STEPS: '5',
} as const;

/** `nowMs` names the run when TESTID is not given: `<backend>-b<batch>-<scenario>-<UTC stamp>`. */
export function parseRunParameters(source: ParameterSource, nowMs: number): RunParameters {
  const read = (name: keyof typeof DEFAULTS): string => {
    const value = source[name];
    return value === undefined || value === '' ? DEFAULTS[name] : value;
  };
  const scenario = read('SCENARIO');
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new Error(`SCENARIO must be one of ${SCENARIOS.join('|')}, got "${scenario}"`);
  }
  const baseUrl = read('BASE_URL').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl)) throw new Error(`BASE_URL must be an http(s) URL, got "${baseUrl}"`);
  const backend = read('BACKEND');
  const batchSize = positiveInteger('BATCH_SIZE', read('BATCH_SIZE'));
  const rate = positiveInteger('RATE', read('RATE'));
  const maxRate = source.SATURATION_MAX_RATE ? positiveInteger('SATURATION_MAX_RATE', source.SATURATION_MAX_RATE) : rate;
  const startRate = positiveInteger('SATURATION_START_RATE', read('SATURATION_START_RATE'));
  if (scenario === 'saturation' && startRate > maxRate) {
    throw new Error(`SATURATION_START_RATE (${startRate}) must not exceed SATURATION_MAX_RATE (${maxRate})`);
  }
  const maxErrorRate = Number(read('MAX_ERROR_RATE'));
  if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) throw new Error(`MAX_ERROR_RATE must be within 0..1, got "${read('MAX_ERROR_RATE')}"`);
  const testid = source.TESTID || `${backend}-b${batchSize}-${scenario}-${compactUtcStamp(nowMs)}`;
  if (!/^[\w.-]+$/.test(testid)) throw new Error(`TESTID may only hold letters, digits, '.', '_' and '-', got "${testid}"`);
  return {
    baseUrl,
    backend,
    batchSize,
    durationSeconds: parseDurationSeconds('DURATION', read('DURATION')),
    scenario: scenario as Scenario,
    vus: positiveInteger('VUS', read('VUS')),
    rate,
    maxVus: positiveInteger('MAX_VUS', read('MAX_VUS')),
    dataset: read('DATASET'),
    testid,
    p99TargetMs: positiveNumber('P99_TARGET_MS', read('P99_TARGET_MS')),
    maxErrorRate,
    expectedDim: source.EXPECTED_DIM ? positiveInteger('EXPECTED_DIM', source.EXPECTED_DIM) : null,
    timeoutSeconds: parseDurationSeconds('TIMEOUT', read('TIMEOUT')),
    saturation: { startRate, maxRate, steps: positiveInteger('SATURATION_STEPS', read('SATURATION_STEPS')) },
  };
}

/** Accepts k6-style durations: `90`, `90s`, `1.5m`, `2h`, `1m30s`, `500ms`. */
export function parseDurationSeconds(name: string, text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let seconds = 0;
  if (/^\d+(\.\d+)?$/.test(text)) seconds = Number(text);
  else {
    const parts = text.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
    if (!parts || parts.join('') !== text) throw new Error(`${name} must be a duration like 30s, 2m or 1m30s, got "${text}"`);
    for (const part of parts) {
      const [, amount, unit] = part.match(/^(\d+(?:\.\d+)?)(ms|s|m|h)$/) as RegExpMatchArray;
      seconds += Number(amount) * (units[unit as string] as number);
    }
  }
  if (!(seconds > 0)) throw new Error(`${name} must be longer than zero, got "${text}"`);
  return seconds;
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return value;
}

function positiveNumber(name: string, text: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${name} must be a positive number, got "${text}"`);
  return value;
}

function compactUtcStamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
