/**
 * A hand-rolled SVG line chart (no dependency): panels side by side, each with
 * categorical x positions, a left and an optional right y axis, and a legend.
 */

export interface Series {
  name: string;
  values: Array<number | null>;
  axis: 'left' | 'right';
  color: string;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  x: string[];
  leftLabel: string;
  rightLabel?: string;
  series: Series[];
}

const W = 480;
const H = 340;
const M = { top: 46, right: 64, bottom: 96, left: 68 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round upper bound and tick step for values up to `max`. */
function scale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

function tickLabel(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

function panel(p: Panel, dx: number): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x0 = dx + M.left;
  const y0 = M.top + ph;
  const xAt = (k: number): number => x0 + (p.x.length === 1 ? pw / 2 : (k * pw) / (p.x.length - 1));
  const axes = { left: scale(0), right: scale(0) };
  for (const side of ['left', 'right'] as const) {
    const vs = p.series.filter((s) => s.axis === side).flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
    axes[side] = scale(Math.max(0, ...vs));
  }
  const yAt = (side: 'left' | 'right', v: number): number => y0 - (v / axes[side].top) * ph;
  const out: string[] = [];
  out.push(`<text x="${dx + W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(p.title)}</text>`);
  // Grid and left ticks.
  for (let v = 0; v <= axes.left.top + 1e-9; v += axes.left.step) {
    const y = yAt('left', v);
    out.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x0 + pw}" y2="${y.toFixed(1)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${tickLabel(v)}</text>`);
  }
  if (p.rightLabel) {
    for (let v = 0; v <= axes.right.top + 1e-9; v += axes.right.step) {
      const y = yAt('right', v);
      out.push(`<text x="${x0 + pw + 6}" y="${(y + 4).toFixed(1)}" font-size="11">${tickLabel(v)}</text>`);
    }
    out.push(`<text transform="translate(${x0 + pw + 50},${M.top + ph / 2}) rotate(90)" text-anchor="middle" font-size="12">${esc(p.rightLabel)}</text>`);
  }
  out.push(`<text transform="translate(${dx + 16},${M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.leftLabel)}</text>`);
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0 + pw}" y2="${y0}" stroke="#333"/>`);
  out.push(`<line x1="${x0}" y1="${M.top}" x2="${x0}" y2="${y0}" stroke="#333"/>`);
  p.x.forEach((label, k) => {
    out.push(`<text x="${xAt(k).toFixed(1)}" y="${y0 + 16}" text-anchor="middle" font-size="11">${esc(label)}</text>`);
  });
  out.push(`<text x="${x0 + pw / 2}" y="${y0 + 34}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  // Lines.
  for (const s of p.series) {
    const pts = s.values
      .map((v, k) => (v === null || !Number.isFinite(v) ? null : `${xAt(k).toFixed(1)},${yAt(s.axis, v).toFixed(1)}`))
      .filter((v): v is string => v !== null);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2.2"${dash}/>`);
    for (const pt of pts) {
      const [cx, cy] = pt.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3.2" fill="${s.color}"/>`);
    }
  }
  // Legend, under the x label.
  p.series.forEach((s, k) => {
    const lx = dx + M.left + (k % 2) * 200;
    const ly = y0 + 54 + Math.floor(k / 2) * 16;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2.2"${dash}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" font-size="11">${esc(`${s.name}${s.axis === 'right' && p.rightLabel ? ' (right axis)' : ''}`)}</text>`);
  });
  return out.join('\n');
}

/** The panels side by side, with a caption line at the bottom. */
export function chart(panels: Panel[], caption: string): string {
  const width = W * panels.length;
  const height = H + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...panels.map((p, k) => panel(p, k * W)),
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle" font-size="11" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
