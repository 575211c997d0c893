// What the browser tests check on every page they visit: no hostile value
// unescaped and no script of one ran, <html lang>, @axe-core/playwright
// (WCAG 2.1 A and AA: no serious or critical violation), and screenshots
// at desktop and phone size.
import assert from 'node:assert/strict';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';

export const VIEWPORTS = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } };

/**
 * Checks page (in language lang) and saves <dir>/<name>-<lang>-<size>.png;
 * raw: strings that must not be in its HTML. Returns the HTML.
 */
export async function checkPage(page, { lang, name, dir, raw }) {
  const html = await page.content();
  for (const r of raw) assert.ok(!html.includes(r), `${lang}/${name}: unescaped ${r}`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, `${lang}/${name}: a hostile script ran`);
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${lang}/${name}: <html lang>`);
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${lang}/${name}: axe`);
  for (const [size, vp] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(vp);
    await page.screenshot({ path: path.join(dir, `${name}-${lang}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
  return html;
}
