import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Docker from 'dockerode';
import { BackendStartError, type BackendExit, type BackendLaunch, type RunningBackend, type Runtime } from './types.js';
import { findFreePort, readLogTail, serveEnvironment, waitUntilHealthy } from './support.js';

/** docker/build-images.sh tags: `latest` is the CUDA image, `cpu` the one for machines without GPUs. */
export function defaultImage(backend: string, useGpu: boolean): string {
  return `embedbench/${backend}:${useGpu ? 'latest' : 'cpu'}`;
}

/** Where the model directory is mounted inside the container. */
const CONTAINER_MODEL_DIR = '/models/model';

export interface DockerRuntimeOptions {
  /** Image per backend; backends not listed use defaultImage(). */
  readonly images?: Readonly<Record<string, string>>;
  /** Seconds the engine waits after SIGTERM before SIGKILL. */
  readonly stopGraceSeconds?: number;
  /** Defaults to DOCKER_HOST, else the engine's default socket (dockerode's own resolution). */
  readonly docker?: Docker;
}

/**
 * Runs each backend in a container through the Docker Engine API (Docker, or podman's compatible
 * socket). The container listens on the same port inside and out, so it works both with a
 * published port and with host networking (podman configured with netns=host).
 */
export function dockerRuntime(options: DockerRuntimeOptions = {}): Runtime {
  const docker = options.docker ?? new Docker();
  const stopGraceSeconds = options.stopGraceSeconds ?? 10;
  return {
    name: 'docker',
    async start(launch: BackendLaunch): Promise<RunningBackend> {
      const image = options.images?.[launch.backend] ?? defaultImage(launch.backend, launch.useGpu);
      const port = await findFreePort();
      const portKey = `${port}/tcp`;
      await mkdir(dirname(launch.logPath), { recursive: true });
      const log = createWriteStream(launch.logPath, { flags: 'a' });
      log.write(`# image ${image}, port ${port}, model ${resolve(launch.modelDir)} -> ${CONTAINER_MODEL_DIR}\n`);
      const logTail = async (lines?: number) => readLogTail(launch.logPath, lines);

      let container: Docker.Container;
      try {
        container = await docker.createContainer({
          Image: image,
          name: `embedbench-${launch.backend}-${port}`,
          Env: [
            `EMBEDBENCH_BACKEND=${launch.backend}`,
            `EMBEDBENCH_MODEL=${CONTAINER_MODEL_DIR}`,
            `EMBEDBENCH_MODEL_ID=${launch.modelId}`,
            `EMBEDBENCH_PORT=${port}`,
            'EMBEDBENCH_HOST=0.0.0.0',
            ...Object.entries(serveEnvironment(launch)).map(([name, value]) => `${name}=${value}`),
          ],
          ExposedPorts: { [portKey]: {} },
          HostConfig: {
            PortBindings: { [portKey]: [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
            Binds: [`${resolve(launch.modelDir)}:${CONTAINER_MODEL_DIR}:ro`],
            ...(launch.useGpu ? { DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }] } : {}),
          },
        });
      } catch (error) {
        log.end();
        const message = error instanceof Error ? error.message : String(error);
        throw new BackendStartError(`${launch.backend}: could not create a container from ${image}: ${message}`, await logTail());
      }

      let stopping = false;
      let finished: Promise<BackendExit> = Promise.resolve({ code: null, signal: null });
      let logStreamDone: Promise<void> = Promise.resolve();
      const remove = async (): Promise<void> => {
        stopping = true;
        await container.stop({ t: stopGraceSeconds }).catch(() => undefined);
        await finished;
        await logStreamDone;
        await new Promise<void>((done) => log.end(done));
        await container.remove({ force: true }).catch(() => undefined);
      };
      try {
        await container.start();
        // Waiting only after start: a created container already counts as "not running".
        finished = (container.wait() as Promise<{ StatusCode?: number }>).then(
          (result) => ({ code: result.StatusCode ?? null, signal: null }),
          () => ({ code: null, signal: null }),
        );
        const stream = await container.logs({ follow: true, stdout: true, stderr: true });
        logStreamDone = new Promise<void>((done) => {
          stream.once('end', done);
          stream.once('error', () => done());
        });
        docker.modem.demuxStream(stream, log, log);
      } catch (error) {
        await remove();
        const message = error instanceof Error ? error.message : String(error);
        throw new BackendStartError(`${launch.backend}: container from ${image} did not start: ${message}`, await logTail());
      }
      const exited = finished.then((exit) => (stopping ? new Promise<never>(() => {}) : exit));

      const baseUrl = `http://127.0.0.1:${port}`;
      const health = await waitUntilHealthy(baseUrl, launch.startupTimeoutMs, exited);
      if (!health.healthy) {
        await remove();
        throw new BackendStartError(`${launch.backend} (${image}): ${health.reason}`, await logTail());
      }
      return { baseUrl, pid: undefined, exited, logTail, stop: remove };
    },
  };
}
