/**
 * A training job's loss over its steps as an inline SVG line chart (no chart library: a polyline
 * and two axes), with the evaluation loss as dots where the job measured one.
 */
export interface LossPoint {
  step: number;
  loss: number | null;
  evalLoss?: number;
}

const WIDTH = 600;
const HEIGHT = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 30 };

export function LossChart({ points, name }: { points: readonly LossPoint[]; name: string }) {
  const losses = points.filter((point) => point.loss !== null) as (LossPoint & { loss: number })[];
  const values = [...losses.map((point) => point.loss), ...points.flatMap((point) => point.evalLoss ?? [])];
  if (values.length === 0) return <p class="loading">No steps yet: the chart starts with the first step.</p>;
  const maxStep = Math.max(1, ...points.map((point) => point.step));
  const minStep = Math.min(...points.map((point) => point.step));
  const top = Math.max(...values);
  const bottom = Math.min(...values);
  const span = top - bottom || 1;
  const x = (step: number) =>
    PAD.left + ((step - minStep) / Math.max(1, maxStep - minStep)) * (WIDTH - PAD.left - PAD.right);
  const y = (loss: number) => PAD.top + ((top - loss) / span) * (HEIGHT - PAD.top - PAD.bottom);
  const last = losses.at(-1);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Loss of ${name} over ${points.length} steps${last ? `, last ${last.loss.toFixed(4)}` : ''}`}
        data-points={losses.length}
      >
        <line
          class="axis"
          x1={PAD.left}
          y1={HEIGHT - PAD.bottom}
          x2={WIDTH - PAD.right}
          y2={HEIGHT - PAD.bottom}
        />
        <line class="axis" x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={HEIGHT - PAD.bottom} />
        <text x={PAD.left - 6} y={PAD.top + 10} text-anchor="end">
          {top.toFixed(2)}
        </text>
        <text x={PAD.left - 6} y={HEIGHT - PAD.bottom} text-anchor="end">
          {bottom.toFixed(2)}
        </text>
        <text x={PAD.left} y={HEIGHT - 8}>
          step {minStep}
        </text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 8} text-anchor="end">
          step {maxStep}
        </text>
        <polyline
          class="loss"
          points={losses.map((point) => `${x(point.step)},${y(point.loss)}`).join(' ')}
        />
        {points.flatMap((point) =>
          point.evalLoss === undefined
            ? []
            : [<circle class="eval" key={point.step} cx={x(point.step)} cy={y(point.evalLoss)} r={4} />],
        )}
      </svg>
      <figcaption>
        Training loss (line)
        {points.some((point) => point.evalLoss !== undefined) ? ' and evaluation loss (dots)' : ''}
      </figcaption>
    </figure>
  );
}
