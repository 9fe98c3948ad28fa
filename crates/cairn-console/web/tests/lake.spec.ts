// CloudTrail Lake pages end to end: an event data store created, edited, deleted and restored through the page;
// queries run in the editor (results, a syntax error, a sample query, history, CSV export); dashboards created and
// refreshed; and the pages' screenshots, one of them in Japanese.
import { readFileSync } from 'node:fs';
import { api, baseUrl, expect, shot, signIn, test } from './support';

const STORE = 'console-lake';
let storeId = '';

type Page = import('@playwright/test').Page;

/** Opens a console page by its hash. */
async function open(page: Page, hash: string) {
  await page.goto(`${baseUrl()}/console/#/${hash}`);
}

/** A full-page screenshot from the top (the sticky top bar would otherwise sit mid-page). */
async function snap(page: Page, name: string) {
  await page.evaluate(() => scrollTo(0, 0));
  await shot(page, name);
}

test.describe.serial('CloudTrail Lake', () => {
  test('creates an event data store through the page, edits it and lists it', async ({ page }) => {
    await signIn(page);
    await open(page, 'lake/stores');
    await expect(page.getByRole('heading', { name: 'Event data stores' })).toBeVisible();
    await page.getByRole('button', { name: 'Create event data store' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill(STORE);
    await dialog.getByLabel('Termination protection').uncheck();
    await dialog.getByRole('button', { name: 'Create event data store' }).click();

    await expect(page.getByRole('heading', { name: STORE })).toBeVisible();
    await expect(page.locator('.kv')).toContainText('Management events');
    storeId = (await page.locator('.kv dt:text("Event data store ID") + dd').innerText()).trim();
    expect(storeId).toMatch(/^[0-9a-f-]{36}$/);

    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('dialog').getByLabel('Retention period (days)').fill('400');
    await page.getByRole('dialog').getByRole('button', { name: 'Save changes' }).click();
    await expect(page.locator('.kv')).toContainText('400 days');
    await snap(page, 'lake-store-detail');

    await page.getByRole('link', { name: 'Event data stores' }).first().click();
    await expect(page.getByRole('link', { name: STORE })).toBeVisible();
    await snap(page, 'lake-stores');
  });

  test('deletes a store after its name is typed, and restores it', async ({ page }) => {
    await api('cloudtrail', 'CreateEventDataStore', { Name: 'lake-doomed', TerminationProtectionEnabled: false });
    await signIn(page);
    await open(page, 'lake/stores/lake-doomed');
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByRole('button', { name: 'Delete' })).toBeDisabled();
    await dialog.getByLabel('To confirm, type lake-doomed').fill('lake-doomed');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect(page.locator('.kv')).toContainText('Pending deletion');
    await page.getByRole('button', { name: 'Restore' }).click();
    await expect(page.locator('.kv')).toContainText('Enabled');
  });

  test('runs queries in the editor: results, errors, samples, history and CSV', async ({ page }) => {
    for (let i = 0; i < 3; i++) await api('cloudtrail', 'ListTrails');
    // Lake applies the journal asynchronously: wait until the store answers the calls above.
    const count = `SELECT count(*) AS n FROM ${storeId} WHERE eventName = 'ListTrails'`;
    await expect
      .poll(
        async () => {
          const { QueryId } = await api('cloudtrail', 'StartQuery', { QueryStatement: count });
          for (;;) {
            const r = await api('cloudtrail', 'GetQueryResults', { QueryId });
            if (!['QUEUED', 'RUNNING'].includes(r.QueryStatus)) return Number(r.QueryResultRows?.[0]?.[0]?.n ?? 0);
            await new Promise((ok) => setTimeout(ok, 200));
          }
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThanOrEqual(3);

    await signIn(page);
    await open(page, `lake/query?store=${storeId}`);
    const editor = page.getByLabel('Query statement');
    await expect(editor).toHaveValue(new RegExp(storeId));
    await editor.fill(`SELECT eventName, count(*) AS calls\nFROM ${storeId}\nWHERE eventName = 'ListTrails'\nGROUP BY eventName`);
    await expect(page.locator('.editor pre .sql-kw').first()).toHaveText('SELECT');
    await editor.press('Control+Enter');
    const results = page.locator('#results');
    await expect(results.locator('.badge')).toHaveText('Finished');
    await expect(results.locator('td[data-label="eventName"]')).toHaveText('ListTrails');
    expect(Number(await results.locator('td[data-label="calls"]').innerText())).toBeGreaterThanOrEqual(3);
    await expect(results).toContainText('Events scanned');
    await snap(page, 'lake-query');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.csv$/);
    expect(readFileSync((await file.path())!, 'utf8')).toMatch(/^eventName,calls\r\nListTrails,\d+\r\n$/);

    await editor.fill(`SELEC nonsense FROM ${storeId}`);
    await page.getByRole('button', { name: 'Run' }).click();
    await expect(page.getByRole('alert')).toContainText(/InvalidQueryStatementException|MalformedQueryException/);

    await page.getByLabel('Search sample queries').fill('failed console sign-in');
    await page.getByLabel('Search sample queries').press('Enter');
    await page.getByRole('button', { name: /Failed console sign-ins/ }).click();
    await expect(editor).toHaveValue(new RegExp(`FROM ${storeId}`));
    await expect(editor).not.toHaveValue(/\$EDS_ID/);

    // The query generator asks GenerateQuery; this cairn has no language model configured, and says so.
    await page.getByLabel('Prompt').fill('users who signed in without MFA yesterday');
    await page.getByRole('button', { name: 'Generate query' }).click();
    await expect(page.locator('#generator').getByRole('alert')).toContainText('UnsupportedOperationException');

    const history = page.locator('#history');
    await expect(history.locator('tbody tr').first()).toContainText('Finished');
    await expect(history.locator('tbody tr').first()).toContainText('ListTrails');
    await history.locator('tbody tr').first().click();
    await expect(editor).toHaveValue(/GROUP BY eventName/);
    // Statements stay in this tab's session storage under the access key, never in the browser's local storage.
    const kept = await page.evaluate(() => [sessionStorage.getItem('cairn.lake.draft.AKIACONSOLETEST00001'), Object.keys(localStorage).filter((k) => k.startsWith('cairn.lake'))]);
    expect(kept[0]).toMatch(/GROUP BY eventName/);
    expect(kept[1]).toEqual([]);

    await page.locator('select[name=lang]').selectOption('ja');
    await expect(page.getByRole('heading', { name: 'クエリ', exact: true })).toBeVisible();
    await expect(page.locator('#results .badge')).toHaveText('完了');
    await expect(page.getByRole('group', { name: '検索の候補' }).getByRole('button', { name: 'アクセス拒否' })).toBeVisible();
    await snap(page, 'lake-query-ja');
    await page.locator('select[name=lang]').selectOption('en');
  });

  test('creates a dashboard, refreshes it and draws its widgets; enables Highlights', async ({ page }) => {
    await signIn(page);
    await open(page, 'lake/dashboards');
    await page.getByRole('button', { name: 'Create dashboard' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('console-ops');
    await dialog.getByRole('button', { name: 'Add widget' }).click();
    await dialog.getByLabel('Title').nth(1).fill('Calls per hour');
    await dialog.locator('select[name=view-1]').selectOption('LineChart');
    await dialog
      .locator('textarea[name=sql-1]')
      .fill("SELECT date_trunc('hour', eventTime) AS hour, count(*) AS calls FROM $EventDataStoreId$ WHERE eventTime >= '$StartTime$' AND eventTime <= '$EndTime$' GROUP BY 1 ORDER BY 1");
    await dialog.getByRole('button', { name: 'Create dashboard' }).click();

    await expect(page.getByRole('heading', { name: 'console-ops' })).toBeVisible();
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    const top = page.getByRole('region', { name: 'Top events' });
    await expect(top.locator('.bar-row').filter({ hasText: 'ListTrails' })).toBeVisible();
    await expect(page.getByRole('region', { name: 'Calls per hour' }).locator('svg polyline')).toHaveCount(1);
    await snap(page, 'lake-dashboard');

    await open(page, 'lake/dashboards');
    await expect(page.getByRole('link', { name: 'console-ops' })).toBeVisible();
    await page.getByRole('button', { name: 'Enable Highlights dashboard' }).click();
    await expect(page.getByRole('heading', { name: 'AWSCloudTrail-Highlights' })).toBeVisible();
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await expect(page.getByRole('region', { name: 'Top event sources' }).locator('.bar-row').first()).toBeVisible();
  });
});
