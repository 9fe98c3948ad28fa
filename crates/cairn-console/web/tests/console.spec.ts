// The console end to end against the real binary: sign-in, the trail wizard (new KMS key with alias, new bucket
// with CloudTrail's policy, the trail) through to delivered files, trail actions, event history (filters, paging,
// the record panel, downloads), AWS's errors, Japanese, dark mode, a phone, and the keyboard.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, api, baseUrl, expect, shot, signIn, test } from './support';

/** Runs the wizard with defaults but for the given choices; waits until the trail is created and logging. */
async function createTrail(
  page: Page,
  name: string,
  opts: { multiRegion?: boolean; sse?: boolean; excludeKms?: boolean; s3WritesUnder?: string; tag?: [string, string]; shots?: boolean } = {},
) {
  await page.goto(baseUrl() + '/console/#/create-trail');
  await page.getByLabel('Trail name').fill(name);
  if (opts.multiRegion === false) await page.getByLabel('Multi-region trail').uncheck();
  if (opts.sse === false) await page.getByRole('group', { name: 'Log file SSE-KMS encryption' }).getByLabel('Enabled').uncheck();
  // The account comes from STS GetCallerIdentity and names the new bucket.
  await expect(page.getByLabel('Trail log bucket name')).toHaveValue(new RegExp(`^aws-cloudtrail-logs-${ACCOUNT}-`));
  if (opts.tag) {
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.locator('input[name=tagKey0]').fill(opts.tag[0]);
    await page.locator('input[name=tagValue0]').fill(opts.tag[1]);
  }
  if (opts.shots) await shot(page, 'trail-wizard-attributes');
  await page.getByRole('button', { name: 'Next' }).click();
  if (opts.excludeKms) await page.getByLabel('Exclude AWS KMS events').check();
  if (opts.s3WritesUnder) {
    await page.getByLabel('Data events').check();
    await page.getByLabel('Log selector template').selectOption('write');
    await page.getByLabel('Resource ARN starts with').fill(opts.s3WritesUnder);
  }
  if (opts.shots) await shot(page, 'trail-wizard-events');
  await page.getByRole('button', { name: 'Next' }).click();
  if (opts.shots) await shot(page, 'trail-wizard-review');
  await page.getByRole('button', { name: 'Create trail' }).click();
  await expect(page.getByRole('status')).toContainText(`Trail ${name} is created and logging.`);
}

test('signs in and out; a wrong secret is refused with AWS\'s error code', async ({ page }) => {
  await page.goto(baseUrl() + '/console/');
  await shot(page, 'signin');
  await page.getByLabel('Access key ID').fill(ACCESS_KEY_ID);
  await page.getByLabel('Secret access key').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('InvalidSignatureException');
  expect(await page.evaluate(() => sessionStorage.getItem('cairn.session'))).toBeNull();
  await signIn(page);
  expect(await page.evaluate(() => sessionStorage.getItem('cairn.session'))).toContain(ACCESS_KEY_ID);
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(ACCESS_KEY_ID);
  await shot(page, 'dashboard-empty');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to cairn' })).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('cairn.session'))).toBeNull();
});

test('the trail wizard makes a KMS key with its alias, a bucket with CloudTrail\'s policy and the trail, whose files arrive', async ({ page }) => {
  await signIn(page);
  await createTrail(page, 'console-trail', { excludeKms: true, s3WritesUnder: 'arn:aws:s3:::amzn-s3-demo-bucket/', tag: ['team', 'audit'], shots: true });
  await shot(page, 'trail-wizard-created');
  const trail = (await api('cloudtrail', 'GetTrail', { Name: 'console-trail' })).Trail;
  expect(trail.IsMultiRegionTrail).toBe(true);
  expect(trail.LogFileValidationEnabled).toBe(true);
  expect(trail.KmsKeyId).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${ACCOUNT}:key/`));
  const aliases = (await api('kms', 'ListAliases', {})).Aliases.map((a: any) => [a.AliasName, a.TargetKeyId]);
  expect(aliases).toContainEqual([expect.stringMatching(/^alias\/cloudtrail-key-/), trail.KmsKeyId.split('/')[1]]);
  const selectors = (await api('cloudtrail', 'GetEventSelectors', { TrailName: 'console-trail' })).AdvancedEventSelectors;
  expect(selectors).toEqual([
    {
      Name: 'Management events selector',
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Management'] },
        { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] },
      ],
    },
    {
      Name: 'Data events selector',
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
        { Field: 'readOnly', Equals: ['false'] },
        { Field: 'resources.ARN', StartsWith: ['arn:aws:s3:::amzn-s3-demo-bucket/'] },
      ],
    },
  ]);
  const tags = await api('cloudtrail', 'ListTags', { ResourceIdList: [trail.TrailARN] });
  expect(tags.ResourceTagList[0].TagsList).toEqual([{ Key: 'team', Value: 'audit' }]);

  await page.getByRole('link', { name: 'Open trail' }).click();
  await expect(page.getByRole('heading', { name: 'console-trail' })).toBeVisible();
  await expect(page.locator('.badge', { hasText: 'Logging' })).toBeVisible();
  const files = page.locator('#delivered-files');
  await expect(async () => {
    await files.getByRole('button', { name: 'Refresh' }).click();
    await expect(files.locator('tbody tr').first()).toContainText('_CloudTrail_us-east-1_', { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await shot(page, 'trail-detail');
  await page.getByRole('link', { name: 'Trails', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'console-trail' })).toBeVisible();
  await shot(page, 'trails');
  await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Recent events' })).toBeVisible();
  await expect(page.locator('.panel').first().getByText('console-trail')).toBeVisible();
  await shot(page, 'dashboard');
});

test('a single-region trail becomes multi-region, stops and starts, shows AWS\'s error on a bad edit, and is deleted', async ({ page }) => {
  await signIn(page);
  await createTrail(page, 'regional-trail', { multiRegion: false, sse: false });
  await page.getByRole('link', { name: 'Open trail' }).click();
  const multi = page.locator('.kv div', { hasText: 'Multi-region trail' }).locator('dd');
  await expect(multi).toHaveText('No');
  await page.getByRole('button', { name: 'Apply to all regions' }).click();
  await expect(page.getByRole('status')).toContainText('The trail now logs every region.');
  await expect(multi).toHaveText('Yes');
  await page.getByRole('button', { name: 'Stop logging' }).click();
  await expect(page.locator('.badge', { hasText: 'Off' })).toBeVisible();
  expect((await api('cloudtrail', 'GetTrailStatus', { Name: 'regional-trail' })).IsLogging).toBe(false);
  await page.getByRole('button', { name: 'Start logging' }).click();
  await expect(page.locator('.badge', { hasText: 'Logging' })).toBeVisible();

  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('Trail log bucket name').or(page.getByLabel('S3 bucket')).fill('no-such-bucket-anywhere');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('alert')).toContainText('S3BucketDoesNotExistException');
  await shot(page, 'trail-edit-error');
  await page.getByLabel('S3 bucket').fill((await api('cloudtrail', 'GetTrail', { Name: 'regional-trail' })).Trail.S3BucketName);
  await page.getByLabel('Log file validation').uncheck();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.locator('.kv div', { hasText: 'Log file validation' }).locator('dd')).toHaveText('Disabled');

  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete trail' });
  await expect(dialog.getByRole('button', { name: 'Delete' })).toBeDisabled();
  await dialog.getByRole('textbox').fill('regional-trail');
  await shot(page, 'trail-delete');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('heading', { name: 'Trails' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'regional-trail' })).toHaveCount(0);
});

test('event history looks up the calls just made, pages, opens a record and downloads CSV and JSON', async ({ page }) => {
  // The test's own calls: enough for two pages of 50.
  for (let i = 0; i < 60; i++) await api('cloudtrail', 'ListTrails', {});
  await signIn(page);
  await page.getByRole('link', { name: 'Event history' }).click();
  await page.getByLabel('Lookup attribute').selectOption('EventName');
  await page.getByLabel('Value').fill('ListTrails');
  await page.getByRole('button', { name: 'Apply' }).click();
  const rows = page.locator('tbody tr');
  await expect(rows).toHaveCount(50);
  for (const name of await rows.locator('td:first-child').allInnerTexts()) expect(name).toBe('ListTrails');
  await rows.first().click();
  const panel = page.getByRole('complementary', { name: 'Event ListTrails' });
  await expect(panel).toContainText('"eventSource": "cloudtrail.amazonaws.com"');
  await expect(panel).toContainText('console-tester');
  await shot(page, 'event-record');
  await panel.getByRole('button', { name: 'Close' }).click();

  // Downloads hold every matching event, not just the page.
  const csvDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download CSV' }).click();
  const csv = readFileSync(await (await csvDownload).path(), 'utf8').trim().split('\r\n');
  expect(csv[0]).toContain('Event ID,Event time,User name,Event name');
  expect(csv.length - 1).toBeGreaterThanOrEqual(60);
  await expect(page.getByText(/Downloaded \d+ events/)).toBeVisible();
  const jsonDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download JSON' }).click();
  const json = JSON.parse(readFileSync(await (await jsonDownload).path(), 'utf8'));
  expect(json.Records.length).toBeGreaterThanOrEqual(csv.length - 1);
  expect(json.Records.every((r: any) => r.eventName === 'ListTrails')).toBe(true);

  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(rows).toHaveCount(50);
  await shot(page, 'event-history');
  const first = await rows.first().innerText();
  await page.getByRole('button', { name: /Next/ }).click();
  await expect(page.getByText('Page 2')).toBeVisible();
  await expect(rows.first()).not.toHaveText(first);
  await page.getByRole('button', { name: /Previous/ }).click();
  // Page 1 is asked for again, so it also shows the lookups this page has just made (each call is an event).
  await expect(page.getByText('Page 1')).toBeVisible();
  await expect(rows).toHaveCount(50);

  // The keyboard opens a row's record and Escape closes it.
  await rows.first().focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('complementary')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('complementary')).toHaveCount(0);

  // A value that is not valid for the attribute gets AWS's error.
  await page.goto(baseUrl() + '/console/#/events?key=EventId&value=' + 'x'.repeat(2001));
  await expect(page.getByRole('alert')).toContainText(/InvalidLookupAttributesException|ValidationException/);
});

test('Japanese, dark mode and a phone', async ({ page }) => {
  await signIn(page);
  await page.locator('select[name=lang]').first().selectOption('ja');
  await expect(page.getByRole('link', { name: 'イベント履歴' })).toBeVisible();
  await page.getByRole('link', { name: 'イベント履歴' }).click();
  await expect(page.getByRole('heading', { name: 'イベント履歴' })).toBeVisible();
  await shot(page, 'event-history-ja');
  await page.getByRole('link', { name: '証跡', exact: true }).click();
  await expect(page.getByRole('columnheader', { name: 'マルチリージョンの証跡' })).toBeVisible();
  await shot(page, 'trails-ja');
  await page.goto(baseUrl() + '/console/#/create-trail');
  await expect(page.getByLabel('証跡名')).toBeVisible();
  await shot(page, 'trail-wizard-ja');
  await page.locator('select[name=lang]').first().selectOption('en');

  await page.locator('select[name=theme]').first().selectOption('dark');
  await page.goto(baseUrl() + '/console/#/trails');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).toBe('rgb(15, 20, 25)');
  await shot(page, 'trails-dark');
  await page.locator('select[name=theme]').first().selectOption('system');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(baseUrl() + '/console/#/events');
  await expect(page.locator('tbody tr').first()).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await shot(page, 'event-history-phone');
  await page.getByRole('button', { name: 'Menu' }).click();
  await expect(page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Trails' })).toBeVisible();
  await shot(page, 'menu-phone');
});

test('the keyboard alone signs in, skips to the content and reaches event history', async ({ page }) => {
  await page.goto(baseUrl() + '/console/');
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Access key ID')).toBeFocused();
  await page.keyboard.type(ACCESS_KEY_ID);
  await page.keyboard.press('Tab');
  await page.keyboard.type(SECRET_ACCESS_KEY);
  await page.keyboard.press('Enter');
  await expect(page.locator('.shell')).toBeVisible();
  // The first stop is the skip link; it moves focus to the page's content.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('main')).toBeFocused();
  // From the top of the page, Tab reaches the navigation's Event history link, and Enter follows it.
  await page.reload();
  await expect(page.locator('.shell')).toBeVisible();
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Event history') break;
  }
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Event history' })).toBeVisible();
  await expect(page).toHaveTitle('Event history — cairn console');
});
