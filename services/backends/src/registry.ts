import type { Backend, BackendName, BackendOptions } from '@embedbench/core/backend';

type BackendModule = { createBackend(options: BackendOptions): Backend };

/** Each backend is imported on demand, so a process only loads the library it serves with. */
const loaders: Record<BackendName, () => Promise<BackendModule>> = {
  transformers: () => import('./transformers/index.js'),
  onnx: () => import('./onnx/index.js'),
};

export async function createBackend(name: BackendName, options: BackendOptions): Promise<Backend> {
  const module = await loaders[name]();
  return module.createBackend(options);
}
