// Helpers the monitoring pages share: JSON detection in log messages, durations in words, the message of a page whose
// resource does not exist, and token-paged lists whose pager waits for the page asked for.
import { t } from '../../i18n';
import { useLoad } from '../../ui';

/** The message parsed, when it is a JSON object or array (JsonView's pretty-printing takes any text; this also says
 *  whether the text is JSON at all). */
export function jsonOf(message: string): unknown {
  const s = message.trim();
  if (!s.startsWith('{') && !s.startsWith('[')) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** A number of seconds in the largest whole unit: "5 minutes", "1 hour", "1 day". */
export function fmtDuration(seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? t('mon.dur.day') : t('mon.dur.days', { n: seconds / 86400 });
  if (seconds % 3600 === 0) return seconds === 3600 ? t('mon.dur.hour') : t('mon.dur.hours', { n: seconds / 3600 });
  if (seconds % 60 === 0) return seconds === 60 ? t('mon.dur.minute') : t('mon.dur.minutes', { n: seconds / 60 });
  return t('mon.dur.seconds', { n: seconds });
}

/**
 * A page's resource that does not exist. The look-up itself succeeded (Describe* answered no match), so there is no
 * AWS error code to show: only the message. A failed look-up shows its AwsError through ErrorBox instead.
 */
export function NotFound({ message }: { message: string }) {
  return (
    <div class="alert error" role="alert">
      <span class="message">{message}</span>
    </div>
  );
}

/**
 * useLoad for one page of a token-paged list: `asked` is what names the page (the filters and the page's token), and
 * `tick` reloads the same page (polling). `busy` holds from the moment another page is asked for until its answer
 * (or failure) comes, for the Pager: a second click on Next would otherwise push the same token again. A poll or a
 * refresh of the same page leaves it false, so the buttons neither flicker nor lose focus every few seconds.
 */
export function usePagedLoad<T>(fn: () => Promise<T>, asked: unknown[], tick: unknown = 0) {
  const key = JSON.stringify(asked);
  const list = useLoad(() => fn().then((data) => ({ data, key })), [key, tick]);
  return {
    data: list.data?.data,
    error: list.error,
    loading: list.loading,
    reload: list.reload,
    busy: list.loading && list.data?.key !== key,
  };
}
