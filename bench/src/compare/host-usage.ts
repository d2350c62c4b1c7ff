import { readFile } from 'node:fs/promises';
import type { HostUsage } from '../result-files/schemas.js';

/** Clock ticks since boot, summed over every CPU (the first line of /proc/stat). */
interface CpuTicks {
  readonly total: number;
  readonly busy: number;
  readonly steal: number;
  readonly cpuCount: number;
}

async function readCpuTicks(): Promise<CpuTicks> {
  const stat = await readFile('/proc/stat', 'utf8');
  const lines = stat.split('\n');
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
  const fields = lines[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return {
    total: fields.reduce((sum, value) => sum + value, 0),
    busy: user + nice + system + irq + softirq,
    steal,
    cpuCount: lines.filter((line) => /^cpu\d+ /.test(line)).length,
  };
}

/** utime + stime of a process, all its threads, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
async function readProcessTicks(pid: number | 'self'): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function readLoadAverage(): Promise<number | null> {
  const text = await readFile('/proc/loadavg', 'utf8').catch(() => null);
  const value = Number(text?.split(' ')[0]);
  return text === null || Number.isNaN(value) ? null : value;
}

const share = (part: number, whole: number): number => Math.min(1, Math.max(0, part / whole));

export interface HostUsageMeter {
  /** What the host's CPUs did since start. */
  stop(): Promise<HostUsage>;
}

const UNKNOWN: HostUsage = { cpuCount: null, loadAverage1m: null, busyShare: null, ownShare: null, othersShare: null, stealShare: null };

/**
 * Measures, from /proc, how much of the host's CPU time went to this process and the backend's
 * (`backendPid`; undefined for containers, whose processes are not ours to see) and how much to
 * anything else, so that a run disturbed by other work on the host can be told apart.
 */
export async function startHostUsageMeter(backendPid: number | undefined): Promise<HostUsageMeter> {
  const ownTicks = async (): Promise<number | null> => {
    if (backendPid === undefined) return null;
    try {
      return (await readProcessTicks('self')) + (await readProcessTicks(backendPid));
    } catch {
      return null;
    }
  };
  let before: CpuTicks;
  try {
    before = await readCpuTicks();
  } catch {
    return { stop: async () => ({ ...UNKNOWN, loadAverage1m: await readLoadAverage() }) };
  }
  const ownBefore = await ownTicks();
  return {
    async stop() {
      const after = await readCpuTicks();
      const ownAfter = ownBefore === null ? null : await ownTicks();
      const total = after.total - before.total;
      const loadAverage1m = await readLoadAverage();
      if (total <= 0) return { ...UNKNOWN, cpuCount: after.cpuCount || null, loadAverage1m };
      const busy = after.busy - before.busy;
      const own = ownAfter === null || ownBefore === null ? null : ownAfter - ownBefore;
      return {
        cpuCount: after.cpuCount || null,
        loadAverage1m,
        busyShare: share(busy, total),
        ownShare: own === null ? null : share(own, total),
        othersShare: own === null ? null : share(busy - own, total),
        stealShare: share(after.steal - before.steal, total),
      };
    },
  };
}
