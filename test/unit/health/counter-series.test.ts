import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  countInWindow,
  cumulative,
  DEFAULT_SERIES_LIMITS,
  observeCounter,
  type CounterState,
} from '../../../agent/health/counter-series.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

/** Feeds readings `[hoursAfterT0, raw, secondsSinceReset | null]` and returns the final state. */
function feed(readings: [number, number, number | null][]): {
  state: CounterState;
  resets: number;
} {
  let state: CounterState | undefined;
  let prevSsr: number | null = null;
  let resets = 0;
  for (const [h, raw, ssr] of readings) {
    const r = observeCounter(state, raw, T0 + h * H, {
      secondsSinceReset: ssr,
      previousSecondsSinceReset: prevSsr,
    });
    state = r.state;
    prevSsr = ssr;
    if (r.reset) resets++;
  }
  assert.ok(state);
  return { state, resets };
}

describe('EDAC counter series', () => {
  it('dates a first reading by seconds_since_reset: a reset 1 h ago makes the count exact', () => {
    const { state } = feed([[0, 60, 3600]]);
    assert.deepEqual(countInWindow(state, T0, 24 * H), { count: 60, covered: true });
  });

  it('treats errors since an old reset as recent (upper bound) until history covers 24 h', () => {
    const first = feed([[0, 60, 10 * 86400]]);
    assert.deepEqual(countInWindow(first.state, T0, 24 * H), { count: 60, covered: false });
    const later = feed([
      [0, 60, 10 * 86400],
      [12, 60, 10 * 86400 + 12 * 3600],
      [25, 60, 10 * 86400 + 25 * 3600],
    ]);
    assert.deepEqual(countInWindow(later.state, T0 + 25 * H, 24 * H), { count: 0, covered: true });
  });

  it('separates the last hour from the last day', () => {
    const { state } = feed([
      [0, 0, 0],
      [2, 10, 7200],
      [22, 30, 79200],
      [23.5, 45, 84600],
    ]);
    assert.equal(countInWindow(state, T0 + 23.5 * H, H).count, 15);
    assert.equal(countInWindow(state, T0 + 23.5 * H, 24 * H).count, 45);
    assert.equal(
      countInWindow(state, T0 + 26.5 * H, 24 * H).count,
      35,
      'the first 10 left the window',
    );
  });

  it('keeps counting across a reset seen as a decrease (driver reload)', () => {
    const { state, resets } = feed([
      [0, 10, null],
      [1, 3, null],
    ]);
    assert.equal(resets, 1);
    assert.equal(cumulative(state), 13);
    assert.equal(countInWindow(state, T0 + H, 30 * 60_000).count, 3);
  });

  it('detects a reset that a higher value would hide, by seconds_since_reset going back', () => {
    // 2 errors, then reset_counters, then 5 new errors: the raw value rose from 2 to 5.
    const { state, resets } = feed([
      [0, 2, 1000],
      [1, 5, 600],
    ]);
    assert.equal(resets, 1);
    assert.equal(cumulative(state), 7);
  });

  it('does not see a reset when seconds_since_reset advances with the clock', () => {
    const { resets } = feed([
      [0, 2, 1000],
      [1, 2, 4600],
      [2, 3, 8200],
    ]);
    assert.equal(resets, 0);
  });

  it('detects a reboot while the agent was down for days (counter back at 0)', () => {
    const { state, resets } = feed([
      [0, 40, 86400],
      [72, 0, 3600],
    ]);
    assert.equal(resets, 1);
    assert.equal(cumulative(state), 40);
    assert.deepEqual(countInWindow(state, T0 + 72 * H, 24 * H), { count: 0, covered: true });
  });

  it('stays bounded when a DIMM errors at every read for a week', () => {
    const readings: [number, number, number | null][] = [];
    for (let m = 0; m <= 7 * 24 * 60; m++) readings.push([m / 60, m * 3, m * 60]);
    const { state } = feed(readings);
    assert.ok(
      state.samples.length <= DEFAULT_SERIES_LIMITS.maxSamples,
      `${state.samples.length} samples`,
    );
    const oldest = state.samples[0]![0];
    const now = T0 + 7 * 24 * H;
    assert.ok(
      now - oldest <= DEFAULT_SERIES_LIMITS.maxAgeMs + 10 * 60_000,
      'old samples are dropped',
    );
    const day = countInWindow(state, now, 24 * H);
    assert.ok(
      day.count >= 24 * 60 * 3 && day.count <= 24 * 60 * 3 + 5 * 3 * 2,
      `24 h count ${day.count}`,
    );
    assert.equal(day.covered, true);
  });
});
