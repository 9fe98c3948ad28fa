// Accessibility: axe-core's WCAG 2 A and AA rules over every top-level page, a dialog and a side panel, in the light
// and dark themes and in Japanese; any violation fails with its rule and the elements it found.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { api, baseUrl, expect, signIn, test } from './support';

const PAGES = ['dashboard', 'events', 'trails', 'create-trail', 'lake/stores', 'lake/query', 'lake/dashboards', 'monitoring/log-groups', 'monitoring/alarms'];

async function violations(page: Page, where: string): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return r.violations.map((v) => `${where}: ${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

for (const [theme, lang] of [['light', 'en'], ['dark', 'en'], ['light', 'ja']] as const) {
  test(`every page passes axe's WCAG 2 AA rules (${theme}, ${lang})`, async ({ page }) => {
    await api('cloudtrail', 'ListTrails', {});
    await page.goto(baseUrl() + '/console/');
    await page.evaluate(([t, l]) => (localStorage.setItem('cairn.theme', t), localStorage.setItem('cairn.lang', l)), [theme, lang]);
    await page.reload();
    const found = await violations(page, 'sign-in');
    await signIn(page);
    for (const p of PAGES) {
      await page.goto(baseUrl() + '/console/#/' + p);
      await expect(page.locator('.spinner')).toHaveCount(0);
      found.push(...(await violations(page, p)));
    }
    // A side panel (an event's record) and a dialog (a new log group).
    await page.goto(baseUrl() + '/console/#/events');
    await page.locator('tbody tr').first().click();
    await expect(page.getByRole('complementary')).toBeVisible();
    found.push(...(await violations(page, 'event record')));
    await page.goto(baseUrl() + '/console/#/monitoring/log-groups');
    await page.locator('.page-head .actions button.primary').click();
    await expect(page.getByRole('dialog')).toBeVisible();
    found.push(...(await violations(page, 'dialog')));
    expect(found).toEqual([]);
  });
}
