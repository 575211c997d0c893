// What every page test checks of a page in Chromium: no serious or
// critical axe violation (WCAG 2.1 A and AA rules), and screenshots at
// desktop (1280 px) and phone (390 px) width.
// On the sanitized builds (SEKISHO_SANITIZED=1, tools/test.sh) both are
// skipped: the pages are the same bytes on every build, and the coverage
// build's run checks them; there the tests look for memory and thread
// errors in the daemon behind the same journeys.
import assert from 'node:assert/strict';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';

export const VIEWPORTS = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } };
const SANITIZED = process.env.SEKISHO_SANITIZED === '1';

/** axe on page; fails with the rule and nodes of each serious/critical violation. */
export async function axeClean(page, what) {
  if (SANITIZED) return;
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${what}: axe`);
}

/** Full-page screenshots dir/<name>-<lang>-<desktop|phone>.png; back to desktop size after. */
export async function screenshots(page, dir, name, lang) {
  if (SANITIZED) return;
  for (const [size, vp] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(vp);
    await page.screenshot({ path: path.join(dir, `${name}-${lang}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
}
