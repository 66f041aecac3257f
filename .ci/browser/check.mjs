// Opens lrtsim's HTML reports in headless Chromium, as a person would look at them, and checks
// each: no console error or page error, no request other than the file itself (every request
// is routed, and anything else fails the check), no external URL anywhere in the file, every
// expected section and chart present (each chart with its SVG and its data table), a page that
// is not blank (a full-page screenshot with enough non-background pixels), and the numbers of
// its tables equal to summary.json's. Screenshots go to the output directory.
//
// Usage: node check.mjs SPEC.json OUT_DIR
// SPEC: [{ "name", "html", "summaries": [summary.json, …], "sections": [...], "charts": [...],
//          "min_charts": N, "stories": N (at least), "stats": true|false }]
// Chromium: $CHROMIUM, else /usr/bin/chromium.

import { readFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [specPath, outDir] = process.argv.slice(2);
if (!specPath || !outDir) {
  console.error('usage: node check.mjs SPEC.json OUT_DIR');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
mkdirSync(outDir, { recursive: true });
const userDataDir = mkdtempSync(join(tmpdir(), 'lrtsim-chromium-'));

const failures = [];
const fail = (name, msg) => failures.push(`${name}: ${msg}`);

// The displayed number of a cell: "2.36 %" -> 0.0236, "35,623 ETH" -> 35623, "32.1 d" -> 32.1.
function shown(text) {
  const m = text.replace(/,/g, '').match(/-?\d+(\.\d+)?(e-?\d+)?/);
  if (!m) return NaN;
  const v = Number(m[0]);
  return text.includes('%') ? v / 100 : v;
}
// Shown to 3 significant digits (or whole ETH): within 0.6 % relative, or a tiny absolute.
function close(a, b) {
  return Math.abs(a - b) <= Math.max(6e-3 * Math.abs(b), 1e-9, Math.abs(b) >= 1000 ? 0.51 : 0);
}

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 1100, height: 900 },
});

try {
  for (const report of spec) {
    const name = report.name;
    const file = resolve(report.html);
    const url = pathToFileURL(file).href;
    const raw = readFileSync(file, 'utf8');
    // No external URL anywhere in the file, and nothing loaded by src/href but fragments.
    const urls = raw.match(/\b(https?|ftp|wss?):\/\/[^\s"'<>)]*/gi) || [];
    if (urls.length) fail(name, `external URL(s) in the file: ${[...new Set(urls)].slice(0, 5).join(', ')}`);
    const refs = raw.match(/\s(src|href|xlink:href)\s*=\s*"(?!#)[^"]*"/gi) || [];
    if (refs.length) fail(name, `src/href other than a fragment: ${refs.slice(0, 5).join(', ')}`);
    if (/<script\b/i.test(raw)) fail(name, 'the page has a <script>');

    const page = await context.newPage();
    const requests = [];
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      requests.push(u);
      return route.abort();
    });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForTimeout(200);
    if (requests.length) fail(name, `requests other than the file: ${requests.slice(0, 5).join(', ')}`);
    if (errors.length) fail(name, `console errors: ${errors.slice(0, 5).join(' | ')}`);

    // Sections and charts.
    const found = await page.evaluate(() => ({
      sections: [...document.querySelectorAll('section[data-section]')].map((s) => s.dataset.section),
      charts: [...document.querySelectorAll('figure[data-chart]')].map((f) => ({
        id: f.dataset.chart,
        svg: !!f.querySelector('svg'),
        table: !!f.querySelector('details table'),
        shapes: f.querySelectorAll('svg path, svg rect, svg circle').length,
        width: f.querySelector('svg')?.getBoundingClientRect().width || 0,
      })),
    }));
    for (const s of report.sections || []) {
      if (!found.sections.includes(s)) fail(name, `section ${s} missing (found ${found.sections.join(', ')})`);
    }
    for (const c of report.charts || []) {
      if (!found.charts.some((f) => f.id === c)) fail(name, `chart ${c} missing`);
    }
    if (found.charts.length < (report.min_charts || 1)) fail(name, `only ${found.charts.length} charts`);
    // The worst paths' stories, where the run has its resolved scenario.
    const stories = await page.locator('li.story').count();
    if (stories < (report.stories || 0)) fail(name, `${stories} worst-path stories, expected ${report.stories}`);
    for (const c of found.charts) {
      if (!c.svg || !c.table) fail(name, `chart ${c.id} lacks its SVG or its data table`);
      if (c.shapes < 3 || c.width < 200) fail(name, `chart ${c.id} looks empty (${c.shapes} shapes, ${c.width}px wide)`);
    }

    // Numbers: every cell tagged with a metric and a statistic against summary.json.
    const summaries = (report.summaries || []).map((p) => JSON.parse(readFileSync(p, 'utf8')));
    const cells = await page.evaluate(() => [...document.querySelectorAll('[data-metric][data-stat]')].map((td) => ({
      ...td.dataset, text: td.textContent,
    })));
    let compared = 0;
    for (const c of cells) {
      const s = summaries[c.run === undefined ? 0 : Number(c.run)];
      if (!s) { fail(name, `a cell of run ${c.run} without its summary.json`); continue; }
      const m = s.metrics[c.metric];
      if (!m) { fail(name, `metric ${c.metric} not in summary.json`); continue; }
      const key = c.level === undefined ? undefined : String(Number(c.level));
      const half = 1.959964 * m.std_error;
      let want;
      switch (c.stat) {
        case 'mean': want = m.mean; break;
        case 'prob_loss': want = m.prob_loss; break;
        case 'var': want = m.var[key]; break;
        case 'es': want = m.es[key]; break;
        case 'var_ci': want = m.var_ci[key]; break;
        case 'es_ci': want = m.es_ci[key]; break;
        case 'mean_ci': want = [m.mean - half, m.mean + half]; break;
        default: continue;
      }
      if (want === undefined) { fail(name, `${c.metric} ${c.stat} ${c.level}: not in summary.json`); continue; }
      compared++;
      if (Array.isArray(want)) {
        const [lo, hi] = [Number(c.lo), Number(c.hi)];
        const exact = c.stat === 'mean_ci'
          ? close(lo, want[0]) && close(hi, want[1])
          : lo === want[0] && hi === want[1];
        if (!exact) fail(name, `${c.metric} ${c.stat} ${c.level}: [${lo}, ${hi}] in the page, [${want}] in summary.json`);
        const parts = c.text.replace(/^\[|\]$/g, '').split(/,\s(?=-?\d|\[)/);
        if (parts.length !== 2 || !close(shown(parts[0]), want[0]) || !close(shown(parts[1]), want[1])) {
          fail(name, `${c.metric} ${c.stat} ${c.level}: shown "${c.text}", summary.json [${want}]`);
        }
      } else {
        if (Number(c.value) !== want) fail(name, `${c.metric} ${c.stat} ${c.level}: ${c.value} in the page, ${want} in summary.json`);
        if (!close(shown(c.text), want)) fail(name, `${c.metric} ${c.stat} ${c.level}: shown "${c.text}", summary.json ${want}`);
      }
    }
    if (report.stats !== false && compared === 0) fail(name, 'no table number to compare with summary.json');
    // ES contributions against summary.json's contributions.
    const contribs = await page.evaluate(() => [...document.querySelectorAll('[data-decomposition][data-component]')].map((td) => ({
      ...td.dataset, text: td.textContent,
    })));
    for (const c of contribs) {
      const s = summaries[0];
      const group = (s?.contributions || []).find((g) => g.metric === c.metric && g.decomposition === c.decomposition
        && g.level === Number(c.level));
      const comp = group?.components.find((x) => x.component === c.component);
      if (!comp) { fail(name, `contribution ${c.metric} ${c.decomposition} ${c.component} ${c.level} not in summary.json`); continue; }
      compared++;
      if (Number(c.value) !== comp.es_contribution || !close(shown(c.text), comp.es_contribution)) {
        fail(name, `contribution ${c.metric} ${c.decomposition} ${c.component}: ${c.value} ("${c.text}") in the page, ${comp.es_contribution} in summary.json`);
      }
    }
    // Printable: a PDF of the print style sheet.
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ path: join(outDir, `${name}.pdf`), format: 'A4', printBackground: true });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    if (pages < 1) fail(name, 'printing gives no page');
    await page.emulateMedia({ media: 'screen' });

    // Not blank: a full-page screenshot with enough non-background pixels.
    const png = await page.screenshot({ fullPage: true, path: join(outDir, `${name}.png`) });
    const probe = await context.newPage();
    const inked = await probe.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width; canvas.height = img.height;
      const g = canvas.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, img.width, img.height).data;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235) ink++;
      return { ink, total: d.length / 4, w: img.width, h: img.height };
    }, png.toString('base64'));
    await probe.close();
    const share = inked.ink / inked.total;
    if (share < 0.02) fail(name, `the page looks blank: ${(share * 100).toFixed(2)} % non-background pixels`);
    console.log(`${name}: ${found.sections.length} sections, ${found.charts.length} charts, ${compared} numbers equal to summary.json, ${(share * 100).toFixed(1)} % ink, screenshot ${inked.w}x${inked.h}, ${pages} printed pages`);
    await page.close();
  }
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`browser check failed (${failures.length}):`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log('browser check: all reports passed');
