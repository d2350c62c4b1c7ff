import { BACKEND_NAMES, ConfigError, parseServeConfig, SERVE_FLAGS, type ServeFlag } from '@embedbench/http/main';
import type { Variant } from '../result-files/schemas.js';

/** Serve flags that compare sets for every run itself, or that would stop its load from being served. */
const MANAGED_FLAGS: readonly ServeFlag[] = ['backend', 'model', 'model-id', 'port', 'host', 'api-key', 'auth-exempt'];

const VARIANT = /^([\w-]+)(?:\[([^\]]*)\])?$/;

export class VariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VariantError';
  }
}

function parseOptions(spec: string, text: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const pair of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    const equals = pair.indexOf('=');
    if (equals <= 0 || equals === pair.length - 1) throw new VariantError(`${spec}: expected key=value, got "${pair}"`);
    const key = pair.slice(0, equals).trim();
    if (key in options) throw new VariantError(`${spec}: ${key} is given twice`);
    options[key] = pair.slice(equals + 1).trim();
  }
  return options;
}

/** Rejects keys that are not `embedbench serve` flags, and values serve would refuse. */
function checkServeOptions(spec: string, backend: string, options: Record<string, string>): void {
  const known = Object.keys(SERVE_FLAGS).filter((flag) => !MANAGED_FLAGS.includes(flag as ServeFlag));
  for (const key of Object.keys(options)) {
    if (MANAGED_FLAGS.includes(key as ServeFlag)) throw new VariantError(`${spec}: ${key} is set by compare itself and cannot be given per variant`);
    if (!known.includes(key)) throw new VariantError(`${spec}: unknown serve option "${key}" (serve options: ${known.join(', ')})`);
  }
  try {
    parseServeConfig({ ...options, backend, model: 'model' }, {});
  } catch (error) {
    if (error instanceof ConfigError) throw new VariantError(`${spec}: ${error.message.replace(/^invalid serve configuration:\n\s*/, '').replace(/\n\s*/g, '; ')}`);
    throw error;
  }
}

const fileNameOf = (label: string): string =>
  label.replace(/\[/g, '-').replace(/\]/g, '').replace(/[=,#]/g, '-').replace(/[^\w.-]/g, '_');

/**
 * `onnx`, `onnx[dtype=q8]`, `transformers[device=cpu,workers=2]`: a backend and the `embedbench
 * serve` options it runs with. A variant listed more than once (an A/A comparison) gets #1, #2, ...
 * after its label so that each is its own column and file.
 */
export function parseVariants(specs: readonly string[]): Variant[] {
  const parsed = specs.map((raw) => {
    const spec = raw.trim();
    const match = VARIANT.exec(spec);
    if (!match) throw new VariantError(`${spec}: expected BACKEND or BACKEND[key=value,...], e.g. onnx[dtype=q8]`);
    const backend = match[1]!;
    if (!(BACKEND_NAMES as readonly string[]).includes(backend)) throw new VariantError(`${spec}: unknown backend "${backend}" (backends: ${BACKEND_NAMES.join(', ')})`);
    const options = parseOptions(spec, match[2] ?? '');
    checkServeOptions(spec, backend, options);
    const entries = Object.entries(options);
    const label = entries.length === 0 ? backend : `${backend}[${entries.map(([key, value]) => `${key}=${value}`).join(',')}]`;
    return { label, backend, options };
  });
  const seen = new Map<string, number>();
  return parsed.map((variant) => {
    const copies = parsed.filter((other) => other.label === variant.label).length;
    const ordinal = (seen.get(variant.label) ?? 0) + 1;
    seen.set(variant.label, ordinal);
    const label = copies > 1 ? `${variant.label}#${ordinal}` : variant.label;
    return { ...variant, label, fileName: fileNameOf(label) };
  });
}
