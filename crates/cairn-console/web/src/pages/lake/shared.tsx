// What the Lake pages share: event data stores, waiting on a query, Lake's result rows as a table, and status badges.
import { cloudtrail } from '../../aws';
import { t, type Key } from '../../i18n';
import { Badge, Table } from '../../ui';

export interface FieldSelector {
  Field: string;
  Equals?: string[];
  StartsWith?: string[];
  EndsWith?: string[];
  NotEquals?: string[];
  NotStartsWith?: string[];
  NotEndsWith?: string[];
}
export interface Selector {
  Name?: string;
  FieldSelectors: FieldSelector[];
}
export interface Store {
  EventDataStoreArn: string;
  Name: string;
  Status?: string;
  RetentionPeriod?: number;
  TerminationProtectionEnabled?: boolean;
  MultiRegionEnabled?: boolean;
  OrganizationEnabled?: boolean;
  AdvancedEventSelectors?: Selector[];
  CreatedTimestamp?: number;
  UpdatedTimestamp?: number;
  BillingMode?: string;
  KmsKeyId?: string;
  FederationStatus?: string;
  FederationRoleArn?: string;
}

/** A store's id: the last part of its ARN, the name its statements use. */
export const storeId = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

/** Every store of the region with all its settings: ListEventDataStores (all pages) answers only names and ARNs, so
 *  each store is read with GetEventDataStore (a region holds at most ten). */
export async function listStores(signal?: AbortSignal): Promise<Store[]> {
  const all: Store[] = [];
  let token: string | undefined;
  do {
    const r = await cloudtrail('ListEventDataStores', { NextToken: token }, signal);
    all.push(...(r.EventDataStores ?? []));
    token = r.NextToken;
  } while (token);
  return Promise.all(all.map((s) => cloudtrail<Store>('GetEventDataStore', { EventDataStore: s.EventDataStoreArn }, signal)));
}

/** The event categories a store's selectors select. */
export function categories(s: Store): string[] {
  return (s.AdvancedEventSelectors ?? []).flatMap((sel) => sel.FieldSelectors.filter((f) => f.Field === 'eventCategory').flatMap((f) => f.Equals ?? []));
}

export const TERMINAL = ['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new DOMException('aborted', 'AbortError'))), { once: true });
  });

/** Polls DescribeQuery (by id, or by alias and refresh id) until the query ends; `onUpdate` sees every answer. */
export async function waitQuery(which: object, signal: AbortSignal, onUpdate?: (d: any) => void): Promise<any> {
  for (let delay = 250; ; delay = Math.min(delay * 1.5, 2000)) {
    const d = await cloudtrail('DescribeQuery', which, signal);
    onUpdate?.(d);
    if (TERMINAL.includes(d.QueryStatus)) return d;
    await sleep(delay, signal);
  }
}

export type Cell = string | undefined;
export interface Rows {
  columns: string[];
  rows: Cell[][];
}

/** Lake's rows (one single-entry map per column; a NULL is an empty map) as columns and cells. */
export function rowsOf(raw: Record<string, string>[][], known: string[] = []): Rows {
  const columns = [...known];
  for (const row of raw)
    row.forEach((cell, i) => {
      const k = Object.keys(cell)[0];
      if (k !== undefined && columns[i] === undefined) columns[i] = k;
    });
  const width = Math.max(columns.length, ...raw.map((r) => r.length));
  for (let i = 0; i < width; i++) columns[i] ??= `_col${i}`;
  return { columns, rows: raw.map((row) => columns.map((_, i) => (row[i] ? Object.values(row[i])[0] : undefined))) };
}

/** Every row of a finished query (GetQueryResults, all pages), up to `limit`. */
export async function allRows(queryId: string, signal?: AbortSignal, limit = Infinity): Promise<Rows> {
  const raw: Record<string, string>[][] = [];
  let token: string | undefined;
  do {
    const r = await cloudtrail('GetQueryResults', { QueryId: queryId, NextToken: token, MaxQueryResults: 1000 }, signal);
    raw.push(...(r.QueryResultRows ?? []));
    token = r.NextToken;
  } while (token && raw.length < limit);
  return rowsOf(raw);
}

export function ResultTable({ data, caption }: { data: Rows; caption: string }) {
  return (
    <Table
      caption={caption}
      columns={data.columns.map((c, i) => ({
        key: `${i}`,
        label: c,
        render: (r: Cell[]) => (r[i] === undefined ? <span class="null">NULL</span> : <span class="cell">{r[i]}</span>),
      }))}
      rows={data.rows}
      rowKey={(_, i) => `${i}`}
      empty={t('lake.results.none')}
    />
  );
}

const STORE_TONES: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'off'> = {
  ENABLED: 'ok',
  CREATED: 'info',
  STARTING_INGESTION: 'warn',
  STOPPING_INGESTION: 'warn',
  STOPPED_INGESTION: 'off',
  PENDING_DELETION: 'bad',
};
const QUERY_TONES: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'off'> = {
  QUEUED: 'info',
  RUNNING: 'info',
  FINISHED: 'ok',
  FAILED: 'bad',
  TIMED_OUT: 'bad',
  CANCELLED: 'off',
};

export function StoreStatus({ status }: { status?: string }) {
  if (!status) return <>—</>;
  return <Badge tone={STORE_TONES[status] ?? 'info'}>{t(`lake.storeStatus.${status}` as Key) ?? status}</Badge>;
}

export function QueryStatus({ status }: { status?: string }) {
  if (!status) return <>—</>;
  return <Badge tone={QUERY_TONES[status] ?? 'info'}>{t(`lake.queryStatus.${status}` as Key) ?? status}</Badge>;
}

/** A Lake timestamp (`2026-01-22 10:11:12.000`, UTC) or ISO text as epoch milliseconds; NaN when it is not a time. */
export function lakeTime(v: string | undefined): number {
  if (!v) return NaN;
  const iso = v.includes('T') ? v : v.replace(' ', 'T');
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + 'Z');
}
