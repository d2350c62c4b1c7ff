// The playground page: embeds the same texts with two backends, shows both latencies and the
// cosine similarity of their vectors, and reports measurements, events and errors with Faro.
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { initializeFaro, type Faro } from '@grafana/faro-core';
import { ErrorsInstrumentation, FetchTransport, makeCoreConfig, SessionInstrumentation } from '@grafana/faro-web-sdk';

const DEFAULTS = { a: 'http://localhost:8000', b: 'http://localhost:8002', faro: 'http://localhost:12347/collect' };
const DEFAULT_TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Embeddings map text to vectors.', 'What is the capital of France?'];
const SIDES = ['a', 'b'] as const;
type Side = (typeof SIDES)[number];

interface Timings {
  roundTripMs: number;
  /** From the service's x-*-time headers; null where a cross-origin response hides them. */
  queueMs: number | null;
  tokenizationMs: number | null;
  inferenceMs: number | null;
  serverTotalMs: number | null;
}

interface BackendAnswer {
  backend: string;
  url: string;
  embeddings: number[][];
  timings: Timings;
}

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
};

// Query parameters (?a=&b=&faro=) override the defaults.
const params = new URLSearchParams(location.search);
const setting = (name: keyof typeof DEFAULTS) => params.get(name) || DEFAULTS[name];

const faro: Faro = initializeFaro(
  makeCoreConfig({
    app: { name: 'embedbench-playground', version: '0.1.0' },
    transports: [new FetchTransport({ url: setting('faro') })],
    instrumentations: [new ErrorsInstrumentation(), new SessionInstrumentation()],
    batching: { enabled: true, sendTimeout: 250, itemLimit: 50 },
  }),
);

function headerMs(response: Response, name: string): number | null {
  const value = response.headers.get(name);
  return value === null ? null : Number(value);
}

async function embed(url: string, texts: string[]): Promise<BackendAnswer> {
  const base = url.replace(/\/+$/, '');
  const startedAt = performance.now();
  const response = await fetch(`${base}/embed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts }),
  });
  const body = (await response.json()) as { embeddings?: number[][]; error?: string; error_type?: string };
  const roundTripMs = performance.now() - startedAt;
  if (!response.ok || body.embeddings === undefined) {
    throw new Error(`${base}: HTTP ${response.status} ${body.error_type ?? ''} ${body.error ?? ''}`.trim());
  }
  const health = (await (await fetch(`${base}/health`)).json()) as { backend?: string };
  return {
    backend: health.backend ?? base,
    url: base,
    embeddings: body.embeddings,
    timings: {
      roundTripMs,
      queueMs: headerMs(response, 'x-queue-time'),
      tokenizationMs: headerMs(response, 'x-tokenization-time'),
      inferenceMs: headerMs(response, 'x-inference-time'),
      serverTotalMs: headerMs(response, 'x-total-time'),
    },
  };
}

const formatMs = (ms: number | null) => (ms === null ? 'hidden' : `${ms.toFixed(1)} ms`);

function showAnswer(side: Side, answer: BackendAnswer): void {
  const panel = element(`result-${side}`);
  panel.dataset.state = 'ok';
  panel.querySelector('h2')!.textContent = `${side.toUpperCase()}: ${answer.backend}`;
  const rows: [string, string][] = [
    ['URL', answer.url],
    ['Round trip', formatMs(answer.timings.roundTripMs)],
    ['Server total', formatMs(answer.timings.serverTotalMs)],
    ['Queue', formatMs(answer.timings.queueMs)],
    ['Tokenization', formatMs(answer.timings.tokenizationMs)],
    ['Inference', formatMs(answer.timings.inferenceMs)],
    ['Vectors', `${answer.embeddings.length} × ${answer.embeddings[0]?.length ?? 0}`],
  ];
  renderList(panel, rows);
}

function showFailure(side: Side, url: string, error: Error): void {
  const panel = element(`result-${side}`);
  panel.dataset.state = 'error';
  panel.querySelector('h2')!.textContent = `${side.toUpperCase()}: failed`;
  renderList(panel, [['URL', url], ['Error', error.message]]);
}

function renderList(panel: HTMLElement, rows: [string, string][]): void {
  const list = panel.querySelector('dl')!;
  list.replaceChildren(
    ...rows.flatMap(([term, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dd.dataset.field = term.toLowerCase().replace(/\s+/g, '-');
      return [dt, dd];
    }),
  );
}

function showSimilarity(texts: string[], a: BackendAnswer, b: BackendAnswer): number {
  const cosines = texts.map((_, i) => cosineSimilarity(a.embeddings[i]!, b.embeddings[i]!));
  const body = element<HTMLTableElement>('similarity').tBodies[0]!;
  body.replaceChildren(
    ...texts.map((text, i) => {
      const row = body.insertRow();
      row.insertCell().textContent = text;
      row.insertCell().textContent = cosines[i]!.toFixed(6);
      return row;
    }),
  );
  const mean = cosines.reduce((sum, value) => sum + value, 0) / cosines.length;
  element<HTMLOutputElement>('mean-cosine').value = mean.toFixed(6);
  return mean;
}

function reportTimings(answer: BackendAnswer, texts: number): void {
  const values: Record<string, number> = { round_trip_ms: answer.timings.roundTripMs, texts };
  const server = { server_total_ms: answer.timings.serverTotalMs, queue_ms: answer.timings.queueMs, tokenization_ms: answer.timings.tokenizationMs, inference_ms: answer.timings.inferenceMs };
  for (const [name, value] of Object.entries(server)) if (value !== null) values[name] = value;
  faro.api.pushMeasurement({ type: 'embed_request', values }, { context: { backend: answer.backend, url: answer.url } });
}

async function compare(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const collector = element<HTMLInputElement>('url-faro').value;
  if (collector !== setting('faro')) {
    // Faro keeps its transport for the page's life: a new collector URL needs a fresh page.
    location.search = new URLSearchParams({ a: element<HTMLInputElement>('url-a').value, b: element<HTMLInputElement>('url-b').value, faro: collector }).toString();
    return;
  }
  const texts = element<HTMLTextAreaElement>('texts').value.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const status = element('status');
  if (texts.length === 0) {
    status.textContent = 'Type at least one text.';
    return;
  }
  const urls = { a: element<HTMLInputElement>('url-a').value, b: element<HTMLInputElement>('url-b').value };
  const button = element<HTMLButtonElement>('compare');
  button.disabled = true;
  status.textContent = `Embedding ${texts.length} texts with both backends…`;
  const settled = await Promise.allSettled(SIDES.map((side) => embed(urls[side], texts)));
  const answers: Partial<Record<Side, BackendAnswer>> = {};
  settled.forEach((result, i) => {
    const side = SIDES[i]!;
    if (result.status === 'fulfilled') {
      answers[side] = result.value;
      showAnswer(side, result.value);
      reportTimings(result.value, texts.length);
    } else {
      const error = result.reason instanceof Error ? result.reason : new Error(String(result.reason));
      showFailure(side, urls[side], error);
      faro.api.pushError(error, { context: { side, url: urls[side] } });
    }
  });
  if (answers.a && answers.b) {
    if (answers.a.embeddings[0]?.length !== answers.b.embeddings[0]?.length) {
      status.textContent = 'The backends answer vectors of different dimensions: no cosine.';
      faro.api.pushEvent('embed_dimension_mismatch', { a: answers.a.backend, b: answers.b.backend });
    } else {
      const mean = showSimilarity(texts, answers.a, answers.b);
      status.textContent = `Done: mean cosine ${mean.toFixed(6)}.`;
      faro.api.pushEvent('embed_compared', {
        a: answers.a.backend,
        b: answers.b.backend,
        texts: String(texts.length),
        mean_cosine: mean.toFixed(6),
      });
    }
  } else {
    status.textContent = 'A backend failed; see its panel.';
  }
  button.disabled = false;
}

element<HTMLInputElement>('url-a').value = setting('a');
element<HTMLInputElement>('url-b').value = setting('b');
element<HTMLInputElement>('url-faro').value = setting('faro');
element<HTMLTextAreaElement>('texts').value = DEFAULT_TEXTS.join('\n');
element<HTMLFormElement>('compare-form').addEventListener('submit', (event) => void compare(event as SubmitEvent));
faro.api.pushEvent('playground_loaded', { a: setting('a'), b: setting('b') });
