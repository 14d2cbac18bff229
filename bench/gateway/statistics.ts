/**
 * Statistics of per-round figures for the gateway benchmarks. On two shared cores one round can be
 * hit by a scheduler hiccup, so a figure is the median over many rounds, given with how sure it is:
 * a distribution-free 95 % confidence interval of that median (order statistics, no assumption about
 * the shape of the noise) and the full min–max of the rounds. A verdict is called only when the whole
 * interval lies on one side of the target; otherwise it says "not resolved" instead of flipping.
 */

export interface Spread {
  rounds: number;
  median: number;
  /** 95 % confidence interval of the median (wider for few rounds; the min–max below 6). */
  low: number;
  high: number;
  min: number;
  max: number;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialAtMost(n: number, k: number): number {
  let term = 0.5 ** n;
  let sum = term;
  for (let index = 1; index <= k; index++) {
    term = (term * (n - index + 1)) / index;
    sum += term;
  }
  return sum;
}

/**
 * The median of `values` (the mean of the two middle ones for an even count) with its 95 % interval:
 * the k-th smallest and k-th largest value, k the largest with P(Binomial(n, ½) < k) ≤ 2.5 % — the
 * sign-test interval. NaN values (a round with no figure) are left out.
 */
export function spread(values: number[]): Spread {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((left, right) => left - right);
  const count = sorted.length;
  if (count === 0) {
    const none = Number.NaN;
    return { rounds: 0, median: none, low: none, high: none, min: none, max: none };
  }
  const middle = count / 2;
  const median = count % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  let k = 1;
  while (k + 1 <= middle && binomialAtMost(count, k) <= 0.025) k++;
  return {
    rounds: count,
    median,
    low: sorted[k - 1]!,
    high: sorted[count - k]!,
    min: sorted[0]!,
    max: sorted[count - 1]!,
  };
}

/** `0.93 [0.90–0.96]`: the median, then its 95 % interval. */
export function formatSpread(value: Spread, digits: number, unit = ''): string {
  if (value.rounds === 0) return '—';
  return `${value.median.toFixed(digits)}${unit} [${value.low.toFixed(digits)}–${value.high.toFixed(digits)}]`;
}

/** `0.81–1.02`: the lowest and highest round. */
export function formatRange(value: Spread, digits: number): string {
  return value.rounds === 0 ? '—' : `${value.min.toFixed(digits)}–${value.max.toFixed(digits)}`;
}

export type Verdict = 'met' | 'MISSED' | 'not resolved';

/**
 * `met` when the whole interval meets the target, `MISSED` when none of it does, otherwise `not
 * resolved`: the rounds disagree more than the distance to the target, and another run could land on
 * either side. `atLeast` says which side meets it (≥ for throughput ratios, ≤ for added latency).
 */
export function verdict(value: Spread, target: number, atLeast: boolean): Verdict {
  if (value.rounds === 0) return 'not resolved';
  const meets = (figure: number) => (atLeast ? figure >= target : figure <= target);
  if (meets(value.low) && meets(value.high)) return 'met';
  if (!meets(value.low) && !meets(value.high)) return 'MISSED';
  return 'not resolved';
}

/** A new random order of `items` (Fisher–Yates): each round visits the targets in another order. */
export function shuffled<T>(items: readonly T[]): T[] {
  const order = [...items];
  for (let index = order.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  return order;
}
