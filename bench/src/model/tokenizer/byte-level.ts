/**
 * GPT-2's reversible byte -> printable character table used by byte-level BPE: printable Latin-1
 * bytes map to themselves, the others to code points from 256 upwards (so a space becomes "Ġ").
 */
function isPrintable(byte: number): boolean {
  return (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174 && byte <= 255);
}

const BYTE_TO_CHARACTER: readonly string[] = (() => {
  let nextRemapped = 256;
  return Array.from({ length: 256 }, (_, byte) => String.fromCharCode(isPrintable(byte) ? byte : nextRemapped++));
})();

/** The 256 base symbols in the order GPT-2 gives them ids: printable bytes first, then the rest. */
export const BYTE_LEVEL_ALPHABET: readonly string[] = [
  ...BYTE_TO_CHARACTER.filter((_, byte) => isPrintable(byte)),
  ...BYTE_TO_CHARACTER.filter((_, byte) => !isPrintable(byte)),
];

const encoder = new TextEncoder();

/** The byte-level symbols of a text: one per UTF-8 byte. */
export function byteLevelSymbols(text: string): string[] {
  return Array.from(encoder.encode(text), (byte) => BYTE_TO_CHARACTER[byte]!);
}
