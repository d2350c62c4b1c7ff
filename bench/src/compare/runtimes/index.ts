import type Docker from 'dockerode';
import { apptainerRuntime } from './apptainer.js';
import { dockerRuntime } from './docker.js';
import { localRuntime } from './local.js';
import type { Runtime, RuntimeName } from './types.js';

export interface RuntimeSettings {
  /** Container image per backend (docker: image reference; apptainer: .sif file). */
  readonly images: Readonly<Record<string, string>>;
  /** The engine client for the docker runtime (DOCKER_HOST, else the default socket). */
  readonly docker?: Docker;
}

/** The one place that knows every runtime; compare picks one by name. */
export const RUNTIMES: Record<RuntimeName, (settings: RuntimeSettings) => Runtime> = {
  local: () => localRuntime(),
  docker: (settings) => dockerRuntime({ images: settings.images, ...(settings.docker ? { docker: settings.docker } : {}) }),
  apptainer: (settings) => apptainerRuntime({ images: settings.images }),
};

export { BackendStartError, RUNTIME_NAMES } from './types.js';
export type { BackendLaunch, RunningBackend, Runtime, RuntimeName } from './types.js';
