/**
 * The pushed/pulled bar chart: inline SVG built with DOM APIs. Colours come from CSS classes
 * (media/timeline.css), never from style attributes, which the page's CSP forbids.
 */
import { fill } from '../shared/dom';
import { formatTime, type SyncCycle } from './model';

const SVG = 'http://www.w3.org/2000/svg';
/** Width of one cycle's slot and of one bar, in viewBox units. */
const SLOT = 10;
const BAR = 4;
const HEIGHT = 50;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export interface ChartStrings {
  chartTitle: string;
  chartEmpty: string;
  pushed: string;
  pulled: string;
  cycle: string;
}

/**
 * Renders `cycles` (oldest first) into `host`, one bar pair each, scaled to the largest value.
 * @param slots how many cycles the chart has room for (the bars stay left-aligned, same width)
 */
export function renderChart(host: HTMLElement, cycles: readonly SyncCycle[], slots: number, strings: ChartStrings): void {
  host.replaceChildren();
  const heading = document.createElement('div');
  heading.className = 'chart-heading';
  const title = document.createElement('span');
  title.className = 'chart-title';
  title.textContent = strings.chartTitle;
  heading.append(title, legend('pushed', strings.pushed), legend('pulled', strings.pulled));
  host.append(heading);

  if (cycles.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'chart-empty';
    empty.textContent = strings.chartEmpty;
    host.append(empty);
    return;
  }

  const max = Math.max(1, ...cycles.map((c) => Math.max(c.pushed, c.pulled)));
  const width = Math.max(slots, cycles.length) * SLOT;
  const root = svg('svg', { class: 'chart-svg', viewBox: `0 0 ${width} ${HEIGHT + 1}`, preserveAspectRatio: 'none', role: 'img' });
  const label = svg('title', {});
  label.textContent = `${strings.chartTitle}: ${cycles.length}`;
  root.append(label);
  cycles.forEach((c, i) => {
    const g = svg('g', { class: 'chart-cycle' });
    const tip = svg('title', {});
    tip.textContent = fill(strings.cycle, `${formatTime(c.at)} ${c.databaseLabel}`, c.pushed, c.pulled);
    g.append(tip, bar(i * SLOT + 1, c.pushed, max, 'bar-pushed'), bar(i * SLOT + 1 + BAR, c.pulled, max, 'bar-pulled'));
    root.append(g);
  });
  root.append(svg('line', { class: 'chart-axis', x1: 0, y1: HEIGHT + 0.5, x2: width, y2: HEIGHT + 0.5 }));
  const scale = document.createElement('span');
  scale.className = 'chart-scale';
  scale.textContent = String(max);
  host.append(root, scale);
}

function bar(x: number, value: number, max: number, cls: string): SVGRectElement {
  const h = value === 0 ? 0 : Math.max(1, (value / max) * HEIGHT);
  return svg('rect', { class: cls, x, y: HEIGHT - h, width: BAR, height: h });
}

function legend(kind: 'pushed' | 'pulled', text: string): HTMLElement {
  const item = document.createElement('span');
  item.className = 'legend';
  const swatch = document.createElement('span');
  swatch.className = `swatch swatch-${kind}`;
  swatch.setAttribute('aria-hidden', 'true');
  item.append(swatch, document.createTextNode(text));
  return item;
}
