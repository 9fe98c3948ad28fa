// CloudTrail Lake pages: event data stores, the query editor, dashboards.
import { t } from '../i18n';
import { Page } from '../ui';

export function LakeStores(_: { rest: string[] }) {
  return <Page title={t('nav.stores')}>{null}</Page>;
}
export function LakeQuery(_: { query: URLSearchParams }) {
  return <Page title={t('nav.query')}>{null}</Page>;
}
export function LakeDashboards(_: { rest: string[] }) {
  return <Page title={t('nav.dashboards')}>{null}</Page>;
}
