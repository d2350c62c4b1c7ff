import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arrivalTimes,
  constantRatePlan,
  judgeSaturation,
  plannedArrivals,
  saturationArrivalPlan,
  saturationSteps,
  stepAt,
} from '../lib/schedule.ts';

test('a constant rate schedules rate x duration requests, evenly spaced from time 0', () => {
  const times = [...arrivalTimes(constantRatePlan(4, 2))];
  assert.deepEqual(times, [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]);
});

test('a linear ramp schedules the integral of its rate', () => {
  // 0 -> 10 req/s over 4 s: 20 requests, request k due at sqrt(2k * 4 / 10)
  const times = [...arrivalTimes({ startRate: 0, stages: [{ durationSeconds: 4, target: 10 }] })];
  assert.equal(times.length, 20);
  assert.ok(Math.abs((times[5] as number) - Math.sqrt((2 * 5 * 4) / 10)) < 1e-9);
  for (let index = 1; index < times.length; index++) assert.ok((times[index] as number) > (times[index - 1] as number));
});

test('saturation steps rise linearly to the max rate and tile the duration', () => {
  const steps = saturationSteps({ startRate: 10, maxRate: 100, steps: 4 }, 20);
  assert.deepEqual(
    steps.map((step) => [step.rate, step.startSeconds, step.endSeconds]),
    [
      [10, 0, 5],
      [40, 5, 10],
      [70, 10, 15],
      [100, 15, 20],
    ],
  );
  assert.equal(stepAt(steps, 0).index, 0);
  assert.equal(stepAt(steps, 9.99).index, 1);
  assert.equal(stepAt(steps, 25).index, 3);
});

test('the saturation plan ramps into each step and holds it', () => {
  const steps = saturationSteps({ startRate: 10, maxRate: 20, steps: 2 }, 20);
  const plan = saturationArrivalPlan(steps);
  assert.deepEqual(plan, {
    startRate: 10,
    stages: [
      { durationSeconds: 10, target: 10 },
      { durationSeconds: 1, target: 20 },
      { durationSeconds: 9, target: 20 },
    ],
  });
  assert.equal(plannedArrivals(plan, 0, 10), 100);
  assert.equal(plannedArrivals(plan, 10, 20), 195);
});

test('judgeSaturation keeps the highest step of the unbroken sustained run', () => {
  const step = (rate: number, p99Ms: number | null, failed = 0, requests = 100) => ({ rate, plannedRequests: 100, requests, failed, p99Ms });
  const judged = judgeSaturation([step(10, 50), step(20, 90), step(30, 150), step(40, 80)], 100, 0.01);
  assert.equal(judged.sustainedRate, 20);
  assert.deepEqual(judged.steps.map((s) => s.sustained), [true, true, false, true]);
  assert.equal(judgeSaturation([step(10, 50, 5)], 100, 0.01).sustainedRate, null, 'errors over budget');
  assert.equal(judgeSaturation([step(10, 50, 0, 80)], 100, 0.01).sustainedRate, null, 'fewer requests sent than planned');
  assert.equal(judgeSaturation([step(10, null, 0, 0)], 100, 0.01).sustainedRate, null, 'no responses');
});
