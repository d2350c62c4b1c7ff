import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionProvider } from '@embedbench/core/backend';

const execFileAsync = promisify(execFile);
const PROOF_TIMEOUT_MS = 90_000;
const PROOF_SCRIPT = new URL('./prove-provider.js', import.meta.url);

/** What one execution provider can do on this machine, proven rather than listed. */
export interface ProviderProbe {
  readonly provider: ExecutionProvider;
  readonly available: boolean;
  /** True for a hardware GPU; false for the CPU and for WebGPU on a software Vulkan driver (lavapipe). */
  readonly gpu: boolean;
  /** Why it is unavailable, or what it runs on. */
  readonly detail: string;
  /** Environment a process needs to use it (e.g. VK_DRIVER_FILES for an NVIDIA Vulkan driver in a non-standard place). */
  readonly environment?: Readonly<Record<string, string>>;
}

/** Where onnxruntime-node keeps libonnxruntime and, when installed, the CUDA/TensorRT provider libraries. */
export function onnxruntimeLibraryDir(): string {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
}

const PROVIDER_LIBRARIES: Partial<Record<ExecutionProvider, readonly string[]>> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  tensorrt: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_tensorrt.so'],
};

/** Standard Vulkan loader search folders for driver manifests (ICD JSON files). */
const ICD_DIRECTORIES = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
/** Where NVIDIA's container runtime mounts its Vulkan manifest when the image has no standard one. */
const NVIDIA_CONTAINER_ICD = '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json';
const VULKAN_LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];

export interface ProbeOptions {
  /** Environment to inspect and to hand the proving process (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Finds which providers really work here. A provider counts only when its libraries (or, for
 * WebGPU, a Vulkan loader and driver manifest) are present AND a child process could create and run
 * a one-node session with it; absent providers are reported from the static checks alone, so a
 * machine without them prints nothing. Children run in parallel, their stderr (onnxruntime's and
 * Dawn's messages) captured for the reason instead of reaching the terminal.
 */
export async function probeExecutionProviders(
  providers: readonly ExecutionProvider[],
  options: ProbeOptions = {},
): Promise<ProviderProbe[]> {
  const env = options.env ?? process.env;
  return Promise.all(
    [...new Set(providers)].map(async (provider): Promise<ProviderProbe> => {
      if (provider === 'cpu') return { provider, available: true, gpu: false, detail: 'always available' };
      const precondition = provider === 'webgpu' ? webgpuPrecondition(env) : nvidiaPrecondition(provider, env);
      if (!precondition.ok) return { provider, available: false, gpu: false, detail: precondition.reason };
      const childEnv = { ...env, ...precondition.environment };
      const proof = await proveInChild(provider, childEnv);
      if (!proof.ok) return { provider, available: false, gpu: false, detail: proof.reason };
      return {
        provider,
        available: true,
        gpu: !precondition.software,
        detail: precondition.detail,
        ...(Object.keys(precondition.environment).length > 0 ? { environment: precondition.environment } : {}),
      };
    }),
  );
}

/**
 * Gives this process the environment its proven providers need (the NVIDIA Vulkan manifest's
 * place); worker threads and the native libraries read the same environment.
 */
export function applyProviderEnvironment(probes: readonly ProviderProbe[]): void {
  for (const probe of probes) if (probe.available) Object.assign(process.env, probe.environment);
}

type Precondition =
  | { readonly ok: false; readonly reason: string }
  | { readonly ok: true; readonly detail: string; readonly software: boolean; readonly environment: Record<string, string> };

function nvidiaPrecondition(provider: ExecutionProvider, env: NodeJS.ProcessEnv): Precondition {
  const libraryDir = onnxruntimeLibraryDir();
  const missing = (PROVIDER_LIBRARIES[provider] ?? []).filter((library) => !existsSync(join(libraryDir, library)));
  if (missing.length > 0) {
    return {
      ok: false,
      reason:
        `not installed: ${missing.join(', ')} missing beside libonnxruntime ` +
        '(onnxruntime-node downloads them only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12; the GPU images do)',
    };
  }
  const visible = env['CUDA_VISIBLE_DEVICES'];
  if (visible !== undefined && (visible.trim() === '' || visible.trim() === '-1')) {
    return { ok: false, reason: `no GPU visible: CUDA_VISIBLE_DEVICES=${JSON.stringify(visible)}` };
  }
  if (!existsSync('/dev/nvidia0') && !existsSync('/dev/nvidiactl')) return { ok: false, reason: 'no NVIDIA device (/dev/nvidia0 is absent)' };
  return { ok: true, detail: 'NVIDIA GPU', software: false, environment: {} };
}

interface IcdManifest {
  readonly path: string;
  readonly library: string;
}

function webgpuPrecondition(env: NodeJS.ProcessEnv): Precondition {
  if (!findVulkanLoader(env)) {
    return { ok: false, reason: 'no Vulkan loader (libvulkan.so.1): install the libvulkan1 package (Dawn, the WebGPU implementation, runs over Vulkan)' };
  }
  const environment: Record<string, string> = {};
  let manifests = listIcdManifests(env);
  if (manifests.length === 0 && existsSync(NVIDIA_CONTAINER_ICD)) {
    environment['VK_DRIVER_FILES'] = NVIDIA_CONTAINER_ICD;
    manifests = listIcdManifests({ ...env, ...environment });
  }
  if (manifests.length === 0) {
    return { ok: false, reason: 'no Vulkan driver: no ICD manifest in VK_DRIVER_FILES, VK_ICD_FILENAMES or /usr/share/vulkan/icd.d (an NVIDIA driver installs nvidia_icd.json)' };
  }
  const software = manifests.every((manifest) => /lvp|swiftshader|llvmpipe/i.test(manifest.library));
  const drivers = manifests.map((manifest) => manifest.library.split('/').pop()).join(', ');
  return {
    ok: true,
    software,
    detail: software ? `software Vulkan driver (${drivers}): correct but slow, for tests` : `Vulkan driver ${drivers}`,
    environment,
  };
}

function findVulkanLoader(env: NodeJS.ProcessEnv): boolean {
  const dirs = [...(env['LD_LIBRARY_PATH'] ?? '').split(delimiter).filter(Boolean), ...VULKAN_LOADER_DIRS];
  return dirs.some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

/** The driver manifests the Vulkan loader would use, honouring its override variables. */
function listIcdManifests(env: NodeJS.ProcessEnv): IcdManifest[] {
  const override = env['VK_DRIVER_FILES'] ?? env['VK_ICD_FILENAMES'];
  const xdgDirs = (env['XDG_DATA_DIRS'] ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'vulkan', 'icd.d'));
  const candidates =
    override !== undefined && override !== ''
      ? override.split(delimiter).flatMap((entry) => (entry.endsWith('.json') ? [entry] : jsonFilesIn(entry)))
      : [...ICD_DIRECTORIES, ...xdgDirs].flatMap(jsonFilesIn);
  return candidates.flatMap((path) => {
    try {
      const manifest = JSON.parse(readFileSync(path, 'utf8')) as { ICD?: { library_path?: unknown } };
      const library = manifest.ICD?.library_path;
      return typeof library === 'string' ? [{ path, library }] : [];
    } catch {
      return [];
    }
  });
}

function jsonFilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

type Proof = { readonly ok: true } | { readonly ok: false; readonly reason: string };

async function proveInChild(provider: ExecutionProvider, env: NodeJS.ProcessEnv): Promise<Proof> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [new URL(PROOF_SCRIPT).pathname, provider], {
      env: { XDG_RUNTIME_DIR: '/tmp', ...env },
      timeout: PROOF_TIMEOUT_MS,
      maxBuffer: 4 * 1024 * 1024,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { ok?: boolean; error?: string };
    return result.ok === true ? { ok: true } : { ok: false, reason: `a session could not run: ${result.error ?? 'no result'}` };
  } catch (error) {
    const failure = error as { killed?: boolean; stdout?: string; stderr?: string; message: string };
    if (failure.killed) return { ok: false, reason: `probing took longer than ${PROOF_TIMEOUT_MS / 1000} s` };
    const lastLine = (failure.stdout ?? '').trim().split('\n').pop() ?? '';
    try {
      const result = JSON.parse(lastLine) as { error?: string };
      if (result.error) return { ok: false, reason: `a session could not be created: ${result.error}` };
    } catch {
      // Not JSON: the child crashed before reporting.
    }
    const stderrLine = (failure.stderr ?? '').trim().split('\n').filter(Boolean).pop();
    return { ok: false, reason: `the probe process failed: ${stderrLine ?? failure.message}` };
  }
}
