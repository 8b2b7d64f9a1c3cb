// Small inline-SVG charts for report.html: horizontal stacked bars (stage
// times) and line charts with a log or linear y axis (loss curves). Plain
// strings, no DOM and no scripts, so the report stays self-contained.

export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

export interface StackedBar {
  label: string;
  /** Segment values by series name; absent or zero segments are not drawn. */
  values: Record<string, number>;
}

/**
 * One horizontal bar per entry, segments in `series` order, each a <rect> with a
 * <title> tooltip; every bar is a <g class="bar">. Values in `unit`.
 */
export function stackedBarChart(o: { bars: StackedBar[]; series: string[]; unit: string; title: string; width?: number; format?: (v: number) => string }): string {
  const width = o.width ?? 760;
  const fmt = o.format ?? ((v: number) => `${tickLabel(v)} ${o.unit}`);
  const labelW = Math.min(260, 12 + 7 * Math.max(4, ...o.bars.map((b) => b.label.length)));
  const barH = 18;
  const gap = 8;
  const top = 28;
  const legendH = 22;
  const plotW = width - labelW - 80; // room for the total after the longest bar
  const totals = o.bars.map((b) => o.series.reduce((s, k) => s + Math.max(0, b.values[k] ?? 0), 0));
  const max = Math.max(...totals, 1e-12);
  const ticks = niceTicks(0, max, 5);
  const scale = plotW / Math.max(max, ticks[ticks.length - 1] ?? max);
  const plotH = o.bars.length * (barH + gap);
  const height = top + plotH + 22 + legendH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart stacked-bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(o.title)}">`);
  parts.push(`<text x="0" y="16" class="chart-title">${escapeXml(o.title)}</text>`);
  for (const t of ticks) {
    const x = r2(labelW + t * scale);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${top + plotH}" class="grid"/><text x="${x}" y="${top + plotH + 14}" text-anchor="middle" class="tick">${escapeXml(tickLabel(t))}</text>`);
  }
  o.bars.forEach((b, i) => {
    const y = top + i * (barH + gap);
    parts.push(`<g class="bar" data-label="${escapeXml(b.label)}"><text x="${labelW - 6}" y="${y + barH - 5}" text-anchor="end" class="label">${escapeXml(b.label)}</text>`);
    let x = labelW;
    o.series.forEach((k, si) => {
      const v = Math.max(0, b.values[k] ?? 0);
      if (!v) return;
      const w = v * scale;
      parts.push(`<rect class="segment" data-series="${escapeXml(k)}" x="${r2(x)}" y="${y}" width="${r2(Math.max(w, 0.5))}" height="${barH}" fill="${PALETTE[si % PALETTE.length]}"><title>${escapeXml(`${b.label}: ${k} ${fmt(v)}`)}</title></rect>`);
      x += w;
    });
    parts.push(`<text x="${r2(x + 4)}" y="${y + barH - 5}" class="total">${escapeXml(fmt(totals[i]!))}</text></g>`);
  });
  parts.push(legend(o.series, 0, top + plotH + 24));
  parts.push(`<text x="${width - 4}" y="${top + plotH + 14}" text-anchor="end" class="tick">${escapeXml(o.unit)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function legend(names: string[], x0: number, y: number): string {
  let x = x0;
  return names
    .map((n, i) => {
      const s = `<rect x="${x}" y="${y}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="${y + 9}" class="legend">${escapeXml(n)}</text>`;
      x += 24 + 7 * n.length;
      return s;
    })
    .join('');
}

export interface LineSeries {
  name: string;
  points: [number, number][];
}

/**
 * One <path class="series"> per series over shared axes. With `logY`, values
 * <= 0 are dropped and the axis has ticks at powers of ten.
 */
export function lineChart(o: { series: LineSeries[]; title: string; xLabel: string; yLabel: string; logY?: boolean; width?: number; height?: number }): string {
  const width = o.width ?? 360;
  const height = o.height ?? 220;
  const m = { l: 52, r: 10, t: 24, b: 48 };
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const ty = (v: number) => (o.logY ? Math.log10(v) : v);
  const series = o.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0)) })).filter((s) => s.points.length);
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => ty(p[1])));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart line-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(o.title)}">`];
  parts.push(`<text x="0" y="14" class="chart-title">${escapeXml(o.title)}</text>`);
  if (!xs.length) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="tick">no data</text></svg>`);
    return parts.join('');
  }
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (o.logY) [y0, y1] = [Math.floor(y0), Math.max(Math.ceil(y1), Math.floor(y0) + 1)];
  else if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number) => r2(m.l + ((x - x0) / (x1 - x0)) * pw);
  const py = (y: number) => r2(m.t + ph - ((y - y0) / (y1 - y0)) * ph);
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="plot"/>`);
  const yTicks = o.logY ? Array.from({ length: y1 - y0 + 1 }, (_, i) => y0 + i) : niceTicks(y0, y1, 4);
  for (const t of yTicks) {
    parts.push(`<line x1="${m.l}" y1="${py(t)}" x2="${m.l + pw}" y2="${py(t)}" class="grid"/><text x="${m.l - 4}" y="${py(t) + 3}" text-anchor="end" class="tick">${escapeXml(o.logY ? tickLabel(10 ** t) : tickLabel(t))}</text>`);
  }
  for (const t of niceTicks(x0, x1, 4)) parts.push(`<text x="${px(t)}" y="${m.t + ph + 13}" text-anchor="middle" class="tick">${escapeXml(tickLabel(t))}</text>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 26}" text-anchor="middle" class="axis">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(11 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeXml(o.yLabel + (o.logY ? ' (log)' : ''))}</text>`);
  series.forEach((s, i) => {
    const d = s.points.map(([x, y], k) => `${k ? 'L' : 'M'}${px(x)} ${py(ty(y))}`).join('');
    parts.push(`<path class="series" data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.5"><title>${escapeXml(s.name)}</title></path>`);
  });
  parts.push(legend(series.map((s) => s.name), m.l, height - 14));
  parts.push('</svg>');
  return parts.join('');
}
