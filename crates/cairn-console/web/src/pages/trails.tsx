import { t } from '../i18n';
import { Page } from '../ui';
export function Trails(_: any) {
  return <Page title={t('nav.dashboard')}>{null}</Page>;
}
