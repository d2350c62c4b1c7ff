export const RUNTIME_NAMES = ['local', 'docker', 'apptainer'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

/** What one run needs to bring a backend up. */
export interface BackendLaunch {
  readonly backend: string;
  /** Local directory of the model (config.json, tokenizer, onnx/). */
  readonly modelDir: string;
  /** Name the service reports for the model. */
  readonly modelId: string;
  /** File that receives the backend's stdout and stderr. */
  readonly logPath: string;
  readonly startupTimeoutMs: number;
  /** Whether to give the backend the host's GPUs. */
  readonly useGpu: boolean;
  /** The variant's `embedbench serve` options by flag name (`dtype` -> `--dtype` or EMBEDBENCH_DTYPE). */
  readonly serveOptions: Readonly<Record<string, string>>;
}

export interface BackendExit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface RunningBackend {
  readonly baseUrl: string;
  /** Process id on this host, where there is one (local runtime): lets callers signal it. */
  readonly pid: number | undefined;
  /** Settles when the backend ends on its own (a crash); never settles after stop(). */
  readonly exited: Promise<BackendExit>;
  /** The last lines the backend wrote. */
  logTail(lines?: number): Promise<string>;
  /** Stops the backend (gracefully, then forcefully) and releases what it held. */
  stop(): Promise<void>;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** Starts the backend and resolves once /health answers 200; rejects with a BackendStartError. */
  start(launch: BackendLaunch): Promise<RunningBackend>;
}

/** A backend that did not come up; carries what it logged so the run can be recorded as failed. */
export class BackendStartError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(message);
    this.name = 'BackendStartError';
  }
}
