import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { listSupportedBackends } from 'onnxruntime-node';

/**
 * Token budget of one batch (rows x longest row) for onnxruntime on each device. On CPU, small
 * batches of similar length run fastest: with the synthetic ModernBERT-base, 8 clients x 32
 * MS-MARCO-like passages on 2 cores, a 1024-token budget embedded 2.3x more per second than 16384
 * (npm run bench:serve). 16384 is text-embeddings-inference's GPU default.
 */
export function batchTokenBudget(onGpu: boolean): number {
  return onGpu ? 16384 : 1024;
}

/**
 * A GPU is usable only when this onnxruntime build ships the CUDA provider and an NVIDIA device
 * is visible to the process (device node, or nvidia-smi answering).
 */
export function detectGpu(): boolean {
  const cudaBuilt = listSupportedBackends().some((backend) => backend.name === 'cuda');
  return cudaBuilt && (existsSync('/dev/nvidia0') || nvidiaSmiAnswers());
}

function nvidiaSmiAnswers(): boolean {
  try {
    execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
