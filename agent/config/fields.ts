import { z } from 'zod';

/** A duration in ms that Node's timers can hold (≤ 2³¹−1), at least `min`, default `d`. */
export const msField = (min: number, d: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(2 ** 31 - 1)
    .default(d);

/** An integer in [min, max], default `d`. */
export const intField = (min: number, max: number, d: number) =>
  z.number().int().min(min).max(max).default(d);
