/**
 * A number that must be written as a Python float. Python transformers 5.x checks config.json field
 * types strictly (`initializer_cutoff_factor` must be a float), and JSON.stringify writes 2.0 as `2`.
 */
export class PythonFloat {
  constructor(readonly value: number) {
    if (!Number.isFinite(value)) throw new RangeError(`a config float must be finite, got ${value}`);
  }
}

export const float = (value: number): PythonFloat => new PythonFloat(value);

/**
 * Python's repr() of a float, which json.dumps writes: the shortest round-tripping digits,
 * positional for exponents -4..15 with at least one decimal (`2.0`, `160000.0`, `0.0001`),
 * scientific otherwise with a signed two-digit exponent (`1e-05`, `1e+16`).
 */
export function pythonFloatRepr(value: number): string {
  if (Object.is(value, -0)) return '-0.0';
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const positional = String(value);
  return Number.isInteger(value) ? `${positional}.0` : positional;
}

/**
 * JSON text like `JSON.stringify(value, null, indent)`, except that {@link PythonFloat} values are
 * spelled as Python floats, so that config.json reads back with the types the Hub's files have.
 */
export function stringifyPythonJson(value: unknown, indent = 2): string {
  const write = (item: unknown, depth: number): string => {
    if (item instanceof PythonFloat) return pythonFloatRepr(item.value);
    if (item === null || typeof item !== 'object') {
      const text = JSON.stringify(item) as string | undefined;
      if (text === undefined) throw new TypeError(`cannot write ${typeof item} as JSON`);
      return text;
    }
    const inner = ' '.repeat(indent * (depth + 1));
    const outer = ' '.repeat(indent * depth);
    if (Array.isArray(item)) {
      if (item.length === 0) return '[]';
      return `[\n${item.map((element) => inner + write(element, depth + 1)).join(',\n')}\n${outer}]`;
    }
    const entries = Object.entries(item).filter(([, member]) => member !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([key, member]) => `${inner}${JSON.stringify(key)}: ${write(member, depth + 1)}`).join(',\n')}\n${outer}}`;
  };
  return write(value, 0);
}
