import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const LAVAPIPE_ICD = fileURLToPath(new URL('../../../.cache/lavapipe/lvp_icd.json', import.meta.url));

async function doctor(env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [CLI, 'doctor'], { env, timeout: 120_000 });
}

describe('embedbench doctor', () => {
  it('lists every execution provider with why it does or does not work, and prints nothing on stderr', async () => {
    const { stdout, stderr } = await doctor({ ...process.env, VK_DRIVER_FILES: '/nonexistent/icd.json' });
    assert.equal(stderr, '', 'onnxruntime or Dawn printed on a machine without the providers');
    assert.match(stdout, /^ {2}tensorrt +unavailable +not installed: /m);
    assert.match(stdout, /^ {2}cuda +unavailable +not installed: /m);
    assert.match(stdout, /^ {2}webgpu +unavailable +no Vulkan driver/m);
    assert.match(stdout, /^ {2}cpu +works +always available/m);
    assert.match(stdout, /will use: the CPU/);
    assert.match(stdout, /^ {2}k6 /m);
  });

  it('proves WebGPU on the software Vulkan driver and says it is used only when asked for', // A visible skip on a machine without lavapipe; CI installs it, so there the test runs (and fails without it).
    { skip: existsSync(LAVAPIPE_ICD) || process.env.CI === 'true' ? false : 'run scripts/setup-lavapipe.sh' }, async () => {
    const { stdout } = await doctor({ ...process.env, VK_DRIVER_FILES: LAVAPIPE_ICD });
    assert.match(stdout, /^ {2}webgpu +works +software Vulkan driver \(libvulkan_lvp\.so\)/m);
    assert.match(stdout, /used only with --device webgpu/);
    assert.match(stdout, /will use: the CPU/);
  });
});
