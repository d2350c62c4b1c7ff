import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { homedir, hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BackendStartError, type BackendExit, type BackendLaunch, type RunningBackend, type Runtime } from './types.js';
import { findFreePort, readLogTail, serveEnvironment, waitUntilHealthy } from './support.js';

const execFileAsync = promisify(execFile);
const CONTAINER_MODEL_DIR = '/models/model';
/** apptainer.def builds one image that serves every backend (chosen by EMBEDBENCH_BACKEND). */
export const DEFAULT_APPTAINER_IMAGE = 'embedbench.sif';

export interface ApptainerRuntimeOptions {
  /** SIF image per backend; backends not listed use DEFAULT_APPTAINER_IMAGE. */
  readonly images: Readonly<Record<string, string>>;
  readonly command?: string;
  /** How often to check that the instance is still running. */
  readonly livenessPollMs?: number;
}

/** Apptainer keeps an instance's output in ~/.apptainer/instances/logs/<host>/<user>/<name>.{out,err}. */
function instanceLogPaths(name: string): string[] {
  const directory = join(homedir(), '.apptainer', 'instances', 'logs', hostname(), userInfo().username);
  return [join(directory, `${name}.out`), join(directory, `${name}.err`)];
}

/**
 * Runs each backend as an Apptainer instance (`apptainer instance start --nv`), for SLURM nodes
 * where neither Docker nor podman is available. The image's %startscript runs `embedbench serve`
 * configured by the same EMBEDBENCH_* variables as the Docker images.
 */
export function apptainerRuntime(options: ApptainerRuntimeOptions): Runtime {
  const command = options.command ?? 'apptainer';
  const livenessPollMs = options.livenessPollMs ?? 2000;
  return {
    name: 'apptainer',
    async start(launch: BackendLaunch): Promise<RunningBackend> {
      const image = options.images[launch.backend] ?? DEFAULT_APPTAINER_IMAGE;
      if (!existsSync(image)) {
        throw new BackendStartError(`Apptainer image ${image} not found (build it from apptainer.def, or give --image ${launch.backend}=FILE.sif)`, '');
      }
      const port = await findFreePort();
      const name = `embedbench-${launch.backend}-${port}`;
      await mkdir(dirname(launch.logPath), { recursive: true });
      const env = {
        EMBEDBENCH_BACKEND: launch.backend,
        EMBEDBENCH_MODEL: CONTAINER_MODEL_DIR,
        EMBEDBENCH_MODEL_ID: launch.modelId,
        EMBEDBENCH_PORT: String(port),
        EMBEDBENCH_HOST: '127.0.0.1',
        ...serveEnvironment(launch),
      };
      const args = [
        'instance', 'start',
        ...(launch.useGpu ? ['--nv'] : []),
        '--bind', `${resolve(launch.modelDir)}:${CONTAINER_MODEL_DIR}:ro`,
        ...Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
        image, name,
      ];
      await appendFile(launch.logPath, `$ ${command} ${args.join(' ')}\n`);
      const collectLogs = async (): Promise<void> => {
        for (const path of instanceLogPaths(name)) {
          const text = await readFile(path, 'utf8').catch(() => '');
          if (text) await appendFile(launch.logPath, `# ${path}\n${text}`);
        }
      };
      const logTail = async (lines?: number): Promise<string> => {
        const live = (await Promise.all(instanceLogPaths(name).map((path) => readLogTail(path, lines)))).filter(Boolean);
        return live.length > 0 ? live.join('\n') : readLogTail(launch.logPath, lines);
      };
      try {
        await execFileAsync(command, args, { timeout: launch.startupTimeoutMs });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await appendFile(launch.logPath, `${message}\n`);
        throw new BackendStartError(`${launch.backend}: apptainer instance start failed: ${message}`, await logTail());
      }

      let stopping = false;
      const exited = (async (): Promise<BackendExit> => {
        while (!stopping && (await instanceRunning(command, name))) await sleep(livenessPollMs);
        return stopping ? new Promise<never>(() => {}) : { code: null, signal: null };
      })();
      const stop = async (): Promise<void> => {
        stopping = true;
        await collectLogs();
        await execFileAsync(command, ['instance', 'stop', name], { timeout: 60_000 }).catch(async (error: Error) => {
          await appendFile(launch.logPath, `instance stop failed: ${error.message}\n`);
        });
      };

      const baseUrl = `http://127.0.0.1:${port}`;
      const health = await waitUntilHealthy(baseUrl, launch.startupTimeoutMs, exited);
      if (!health.healthy) {
        const tail = await logTail();
        await stop();
        throw new BackendStartError(`${launch.backend} (${image}): ${health.reason}`, tail);
      }
      return { baseUrl, pid: undefined, exited, logTail, stop };
    },
  };
}

async function instanceRunning(command: string, name: string): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync(command, ['instance', 'list', '--json', name], { timeout: 30_000 });
    const listed = JSON.parse(stdout) as { instances?: Array<{ instance?: string }> };
    return (listed.instances ?? []).some((instance) => instance.instance === name);
  } catch {
    return false;
  }
}
