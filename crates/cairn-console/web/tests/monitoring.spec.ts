// The monitoring pages end to end: a log group's events filtered with a pattern, a metric filter made through the
// page after trying its pattern, an alarm on its metric that goes to ALARM when a matching event arrives, and log
// group creation, retention and deletion.
import { api, expect, shot, signIn, test } from './support';

const GROUP = 'CloudTrail/console-monitoring';
const STREAM = '210987654321_CloudTrail_us-east-1';

/** A CloudTrail-like record as a trail sends it to CloudWatch Logs. */
function record(fields: Record<string, unknown>): string {
  return JSON.stringify({
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', accountId: '210987654321', userName: 'alice' },
    eventTime: new Date().toISOString(),
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    ...fields,
  });
}

const failedLogin = () =>
  record({ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', errorMessage: 'Failed authentication', responseElements: { ConsoleLogin: 'Failure' } });

test('filters a log group\'s events, makes a metric filter and an alarm that goes to ALARM', async ({ page }) => {
  await api('logs', 'CreateLogGroup', { logGroupName: GROUP });
  await api('logs', 'CreateLogStream', { logGroupName: GROUP, logStreamName: STREAM });
  const now = Date.now();
  const messages = [
    failedLogin(),
    record({ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances' }),
    record({ eventSource: 's3.amazonaws.com', eventName: 'PutObject', errorCode: 'AccessDenied' }),
    record({ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' } }),
  ];
  await api('logs', 'PutLogEvents', {
    logGroupName: GROUP,
    logStreamName: STREAM,
    logEvents: messages.map((message, i) => ({ timestamp: now - (messages.length - i) * 1000, message })),
  });

  await signIn(page);
  await page.getByRole('link', { name: 'Log groups' }).click();
  await expect(page.getByRole('heading', { name: 'Log groups', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: GROUP })).toBeVisible();
  await shot(page, 'monitoring-log-groups');

  // Log events, filtered with a JSON pattern; an invalid pattern shows AWS's error code.
  await page.getByRole('link', { name: GROUP }).click();
  await expect(page.getByRole('heading', { name: GROUP, level: 1 })).toBeVisible();
  const events = page.getByRole('table').locator('tbody tr');
  await expect(events).toHaveCount(4);
  const pattern = page.getByLabel('Filter pattern', { exact: true });
  await pattern.fill('{ $.eventName = ');
  await pattern.press('Enter');
  await expect(page.getByRole('alert')).toContainText('InvalidParameterException');
  await pattern.fill('{ $.eventName = "ConsoleLogin" }');
  await pattern.press('Enter');
  await expect(events).toHaveCount(2);
  await expect(page.getByRole('table')).not.toContainText('DescribeInstances');
  await events.first().click();
  const panel = page.getByRole('complementary', { name: 'Log event' });
  await expect(panel).toContainText('"errorMessage": "Failed authentication"');
  await shot(page, 'monitoring-log-events');
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();

  // A stream picked on the streams tab narrows the events to it.
  await page.getByRole('link', { name: 'Log streams', exact: true }).click();
  await page.getByRole('button', { name: STREAM }).click();
  await expect(page.getByLabel('Log stream name prefix', { exact: true })).toHaveValue(STREAM);
  await expect(events).toHaveCount(4);

  // A metric filter, its pattern tried on the group's recent events first.
  await page.getByRole('link', { name: 'Metric filters', exact: true }).click();
  await page.getByRole('button', { name: 'Create metric filter' }).click();
  await page.getByLabel('Filter pattern', { exact: true }).fill('{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }');
  await page.getByRole('button', { name: 'Load recent events' }).click();
  await expect(page.getByLabel('Log event messages')).toHaveValue(/DescribeInstances/);
  await page.getByRole('button', { name: 'Test pattern' }).click();
  await expect(page.getByText('1 of 4 events matched.')).toBeVisible();
  await expect(page.locator('.mon-test-result tbody tr').filter({ hasText: 'Failed authentication' })).toContainText('Match');
  await page.getByLabel('Filter name', { exact: true }).fill('console-login-failures');
  await page.getByLabel('Metric namespace', { exact: true }).fill('ConsoleTest');
  await page.getByLabel('Metric name', { exact: true }).fill('FailedConsoleLogins');
  await page.getByLabel('Metric value', { exact: true }).fill('1');
  await page.getByRole('button', { name: 'Create metric filter' }).click();
  await expect(page.getByRole('cell', { name: 'console-login-failures', exact: true })).toBeVisible();
  await expect(page.getByText('Metric filters (1)')).toBeVisible();
  await shot(page, 'monitoring-metric-filters');

  // An alarm on the filter's metric, notifying a topic created on the way.
  await page.getByRole('link', { name: 'Create an alarm on the metric of console-login-failures' }).click();
  await expect(page.getByRole('heading', { name: 'Create alarm', level: 1 })).toBeVisible();
  await expect(page.getByLabel('Namespace', { exact: true })).toHaveValue('ConsoleTest');
  await expect(page.getByLabel('Metric name', { exact: true })).toHaveValue('FailedConsoleLogins');
  await page.getByLabel('Period', { exact: true }).selectOption('60');
  await page.getByLabel('Threshold', { exact: true }).fill('1');
  await page.getByRole('button', { name: 'Add notification' }).click();
  await page.getByLabel('SNS topic', { exact: true }).selectOption({ label: 'Create new topic…' });
  await page.getByLabel('New topic name', { exact: true }).fill('console-alerts');
  await page.getByLabel('Alarm name', { exact: true }).fill('console-login-failures');
  await page.getByRole('button', { name: 'Create alarm' }).click();
  await expect(page).toHaveURL(/#\/monitoring\/alarms\/console-login-failures$/);
  await expect(page.getByRole('heading', { name: 'console-login-failures', level: 1 })).toBeVisible();
  await expect(page.getByText('FailedConsoleLogins >= 1 for 1 datapoints within 1 minute')).toBeVisible();

  // A matching event: the metric filter publishes, cairn evaluates the alarm, the page (which polls) shows ALARM.
  await api('logs', 'PutLogEvents', { logGroupName: GROUP, logStreamName: STREAM, logEvents: [{ timestamp: Date.now(), message: failedLogin() }] });
  const banner = page.locator('.mon-state-banner');
  await expect(banner.locator('[data-state]')).toHaveAttribute('data-state', 'ALARM', { timeout: 60_000 });
  await expect(banner).toContainText('In alarm');
  await expect(banner).toContainText('Threshold Crossed');
  const history = page.locator('section.panel').filter({ has: page.getByRole('heading', { name: 'History' }) });
  await expect(history).toContainText('to ALARM', { timeout: 15_000 });
  await expect(history).toContainText('arn:aws:sns:us-east-1:210987654321:console-alerts');
  await history.getByRole('row').filter({ hasText: 'to ALARM' }).click();
  const item = page.getByRole('complementary', { name: 'History item' });
  await expect(item).toContainText('"newState"');
  await page.keyboard.press('Escape');
  await expect(page.locator('.chart svg')).toBeVisible();
  await shot(page, 'monitoring-alarm-detail');

  await page.getByRole('button', { name: 'Disable actions' }).click();
  await expect(page.getByRole('button', { name: 'Enable actions' })).toBeVisible();

  // The alarm list, filtered by state.
  await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Alarms' }).click();
  const row = page.getByRole('row').filter({ hasText: 'console-login-failures' });
  await expect(row).toContainText('In alarm');
  await expect(row).toContainText('Actions disabled');
  await page.getByLabel('State', { exact: true }).selectOption('OK');
  await expect(page.getByText('No alarms.')).toBeVisible();
  await page.getByLabel('State', { exact: true }).selectOption('ALARM');
  await expect(row).toBeVisible();
  await shot(page, 'monitoring-alarms');

  // On a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(page.url().replace(/#.*/, '#/monitoring/log-groups/' + encodeURIComponent(GROUP)));
  await expect(page.getByRole('table').locator('tbody tr')).toHaveCount(5);
  await shot(page, 'monitoring-phone');
});

test('creates a log group, changes its retention and deletes it', async ({ page }) => {
  await signIn(page);
  await page.goto(page.url().replace(/#.*$/, '') + '#/monitoring/log-groups');
  await page.getByRole('button', { name: 'Create log group' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create log group' });
  await dialog.getByLabel('Retention', { exact: true }).selectOption('7');
  await dialog.getByLabel('Log group name', { exact: true }).fill('console/scratch');
  await dialog.getByLabel('Log group name', { exact: true }).press('Enter');
  await expect(page.getByRole('heading', { name: 'console/scratch', level: 1 })).toBeVisible();
  await expect(page.locator('.kv')).toContainText('7 days');

  await page.getByRole('button', { name: 'Edit retention' }).click();
  await page.getByRole('dialog').getByLabel('Retention', { exact: true }).selectOption('');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.locator('.kv')).toContainText('Never expire');

  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByLabel('To confirm, type console/scratch').fill('console/scratch');
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('heading', { name: 'Log groups', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: 'console/scratch' })).toHaveCount(0);
});
