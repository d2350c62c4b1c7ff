import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createCanvas, loadImage } from '@napi-rs/canvas';

/** Decodes a PNG and checks it is a real chart: several distinct colours and no single colour filling it. */
export async function assertNonTrivialPng(path: string): Promise<void> {
  const bytes = await readFile(path);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path} is not a PNG`);
  const image = await loadImage(bytes);
  assert.ok(image.width >= 400 && image.height >= 300, `${path}: ${image.width}x${image.height} is too small to read`);
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, image.width, image.height);
  const counts = new Map<number, number>();
  for (let offset = 0; offset < data.length; offset += 4) {
    const colour = (data[offset]! << 16) | (data[offset + 1]! << 8) | data[offset + 2]!;
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
  }
  const pixels = data.length / 4;
  const mostCommon = Math.max(...counts.values());
  assert.ok(counts.size >= 8, `${path}: only ${counts.size} distinct colours`);
  assert.ok(mostCommon / pixels < 0.97, `${path}: one colour covers ${((mostCommon / pixels) * 100).toFixed(1)}% of the image`);
}

/** How many pixels are close to a colour (to check that a series was actually drawn). */
export async function countPixelsNear(path: string, hex: string, tolerance = 12): Promise<number> {
  const image = await loadImage(await readFile(path));
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, image.width, image.height);
  const target = [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16));
  let count = 0;
  for (let offset = 0; offset < data.length; offset += 4) {
    if (target.every((value, channel) => Math.abs(data[offset + channel]! - value) <= tolerance)) count += 1;
  }
  return count;
}
