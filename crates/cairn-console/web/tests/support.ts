// What the browser tests share: the test account, signing in through the page, signed API calls from the test
// itself (to arrange data the page then shows), screenshots as artifacts, and a check that the page logged no errors.
import { expect, test as base, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from '../src/sigv4';

export const ACCOUNT = '210987654321';
export const ACCESS_KEY_ID = 'AKIACONSOLETEST00001';
export const SECRET_ACCESS_KEY = 'console-test-secret-0000000000000000000';
export const REGION = 'us-east-1';

export function baseUrl(): string {
  return process.env.CAIRN_CONSOLE_URL!;
}

const ARTIFACTS = process.env.CAIRN_ARTIFACTS ?? join(process.cwd(), '..', '..', '..', 'artifacts', 'console');

/** Saves a full-page screenshot named `name` (PNG) among the run's artifacts. */
export async function shot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  // From the top: a full-page capture of a scrolled page draws the sticky top bar mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Signs in through the sign-in form. */
export async function signIn(page: Page, region = REGION) {
  await page.goto(baseUrl() + '/console/');
  await page.getByLabel(/Access key ID|アクセスキー ID/).fill(ACCESS_KEY_ID);
  await page.getByLabel(/Secret access key|シークレットアクセスキー/).fill(SECRET_ACCESS_KEY);
  await page.locator('select[name=region]').selectOption(region);
  await page.getByRole('button', { name: /Sign in|サインイン/ }).click();
  await expect(page.locator('.shell')).toBeVisible();
}

const TARGETS: Record<string, [string, string]> = {
  cloudtrail: ['com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.', '1.1'],
  kms: ['TrentService.', '1.1'],
  logs: ['Logs_20140328.', '1.1'],
  monitoring: ['GraniteServiceVersion20100801.', '1.0'],
};

/** A JSON-protocol call from the test (not the page), signed with the test account's key. */
export async function api(service: keyof typeof TARGETS, op: string, input: object = {}): Promise<any> {
  const [prefix, version] = TARGETS[service];
  const url = new URL(baseUrl());
  const body = new TextEncoder().encode(JSON.stringify(input));
  const headers = sign(
    {
      method: 'POST',
      path: '/',
      query: [],
      headers: { 'content-type': `application/x-amz-json-${version}`, 'x-amz-target': prefix + op },
      body,
    },
    { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    REGION,
    service,
    url.host,
  );
  const resp = await fetch(baseUrl() + '/', { method: 'POST', headers, body });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${op}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A page fixture that fails the test if the page logs an error or throws. */
export const test = base.extend<{ page: Page }>({
  page: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && !/status of 4\d\d/.test(m.text()) && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await use(page);
    expect(errors, 'errors in the browser console').toEqual([]);
  },
});
export { expect };
