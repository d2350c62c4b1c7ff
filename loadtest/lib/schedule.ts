/**
 * Arrival schedules with k6's ramping-arrival-rate semantics (constant-arrival-rate is the one-stage
 * case): the rate moves linearly from one stage target to the next, and request k is due when the
 * integral of the rate reaches k (the first at time 0). Rates are requests per second.
 */
import type { SaturationPlan } from './parameters.ts';

export interface RateStage {
  durationSeconds: number;
  target: number;
}

export interface ArrivalPlan {
  startRate: number;
  stages: RateStage[];
}

export function constantRatePlan(rate: number, durationSeconds: number): ArrivalPlan {
  return { startRate: rate, stages: [{ durationSeconds, target: rate }] };
}

/** Due times in seconds from the start, in order, ending with the plan. */
export function* arrivalTimes(plan: ArrivalPlan): Generator<number> {
  let stageStart = 0;
  let stageRate = plan.startRate;
  let arrivalsBefore = 0;
  let next = 0;
  for (const stage of plan.stages) {
    const slope = (stage.target - stageRate) / stage.durationSeconds;
    const inStage = stageRate * stage.durationSeconds + (slope * stage.durationSeconds ** 2) / 2;
    for (; next < arrivalsBefore + inStage; next++) {
      const needed = next - arrivalsBefore;
      const offset = Math.abs(slope) < 1e-12 ? needed / stageRate : (-stageRate + Math.sqrt(stageRate ** 2 + 2 * slope * needed)) / slope;
      yield stageStart + offset;
    }
    arrivalsBefore += inStage;
    stageStart += stage.durationSeconds;
    stageRate = stage.target;
  }
}

/** How many requests the plan schedules within [fromSeconds, toSeconds). */
export function plannedArrivals(plan: ArrivalPlan, fromSeconds: number, toSeconds: number): number {
  let count = 0;
  for (const due of arrivalTimes(plan)) {
    if (due >= toSeconds) break;
    if (due >= fromSeconds) count++;
  }
  return count;
}

export interface SaturationStep {
  index: number;
  rate: number;
  startSeconds: number;
  endSeconds: number;
}

/** Equal-length steps with integer rates rising linearly from startRate to maxRate. */
export function saturationSteps(plan: SaturationPlan, durationSeconds: number): SaturationStep[] {
  const stepSeconds = durationSeconds / plan.steps;
  const rates = new Set<number>();
  for (let index = 0; index < plan.steps; index++) {
    const fraction = plan.steps === 1 ? 1 : index / (plan.steps - 1);
    rates.add(Math.round(plan.startRate + (plan.maxRate - plan.startRate) * fraction));
  }
  return [...rates].map((rate, index) => ({ index, rate, startSeconds: index * stepSeconds, endSeconds: (index + 1) * stepSeconds }));
}

/** Each step starts with a short ramp (a tenth of the step, at most one second) and then holds its rate. */
export function saturationArrivalPlan(steps: readonly SaturationStep[]): ArrivalPlan {
  const first = steps[0];
  if (!first) throw new Error('a saturation run needs at least one step');
  const stages: RateStage[] = [];
  for (const step of steps) {
    const length = step.endSeconds - step.startSeconds;
    const ramp = step.index === 0 ? 0 : Math.min(1, length / 10);
    if (ramp > 0) stages.push({ durationSeconds: ramp, target: step.rate });
    stages.push({ durationSeconds: length - ramp, target: step.rate });
  }
  return { startRate: first.rate, stages };
}

export function stepAt(steps: readonly SaturationStep[], elapsedSeconds: number): SaturationStep {
  const found = steps.find((step) => elapsedSeconds < step.endSeconds) ?? steps[steps.length - 1];
  if (!found) throw new Error('a saturation run needs at least one step');
  return found;
}

export interface StepOutcome {
  rate: number;
  plannedRequests: number;
  requests: number;
  failed: number;
  p99Ms: number | null;
}

export interface JudgedStep extends StepOutcome {
  errorRate: number;
  sustained: boolean;
}

/** The fraction of its planned requests a step must actually send to count as sustained. */
export const MIN_SENT_FRACTION = 0.95;

/**
 * A step is sustained when it sent what it planned, stayed within the error budget and its p99 stayed
 * within the target. The sustained rate is the highest step of the unbroken run of sustained steps
 * from the bottom: a lucky step after a failed one does not count.
 */
export function judgeSaturation(
  outcomes: readonly StepOutcome[],
  p99TargetMs: number,
  maxErrorRate: number,
): { sustainedRate: number | null; steps: JudgedStep[] } {
  let sustainedRate: number | null = null;
  let broken = false;
  const steps = outcomes.map((outcome) => {
    const errorRate = outcome.requests === 0 ? 1 : outcome.failed / outcome.requests;
    const sustained =
      outcome.requests >= MIN_SENT_FRACTION * outcome.plannedRequests &&
      errorRate <= maxErrorRate &&
      outcome.p99Ms !== null &&
      outcome.p99Ms <= p99TargetMs;
    if (!sustained) broken = true;
    else if (!broken) sustainedRate = outcome.rate;
    return { ...outcome, errorRate, sustained };
  });
  return { sustainedRate, steps };
}
