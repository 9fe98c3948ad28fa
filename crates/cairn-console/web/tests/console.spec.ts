// The console end to end: sign in, the trail wizard, delivered files, event history, and every page's screenshot.
import { expect, shot, signIn, test } from './support';

test('signs in and out, refusing a wrong secret with AWS\'s error code', async ({ page }) => {
  await page.goto(process.env.CAIRN_CONSOLE_URL + '/console/');
  await shot(page, 'signin');
  await page.getByLabel('Access key ID').fill('AKIACONSOLETEST00001');
  await page.getByLabel('Secret access key').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('InvalidSignatureException');
  await signIn(page);
  expect(await page.evaluate(() => sessionStorage.getItem('cairn.session'))).toContain('AKIACONSOLETEST00001');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to cairn' })).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('cairn.session'))).toBeNull();
});
