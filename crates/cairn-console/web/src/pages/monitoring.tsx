// Monitoring pages: log groups with their events and metric filters, alarms.
import { t } from '../i18n';
import { Page } from '../ui';

export function LogGroups(_: { rest: string[] }) {
  return <Page title={t('nav.logGroups')}>{null}</Page>;
}
export function Alarms(_: { rest: string[] }) {
  return <Page title={t('nav.alarms')}>{null}</Page>;
}
