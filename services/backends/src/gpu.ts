import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { listSupportedBackends } from 'onnxruntime-node';

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
