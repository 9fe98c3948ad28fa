// The Lake query editor: a highlighted SQL editor with a store picker, AWS-style sample queries (SearchSampleQueries),
// Run/Cancel with live status and statistics, paged results with a CSV export, and the store's query history.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { AwsError, cloudtrail } from '../../aws';
import { fmtBytes, fmtNumber, fmtTime, t, type Key } from '../../i18n';
import { session } from '../../session';
import { ErrorBox, Field, Page, Pager, Panel, Spinner, Table, csvLine, download, useLoad, useTokenPages } from '../../ui';
import { SqlEditor } from './sql';
import { QueryStatus, ResultTable, TERMINAL, allRows, categories, listStores, rowsOf, storeId, waitQuery, type Rows, type Store } from './shared';

const PAGE = 50;
const KEEP = 100;

// Statements are kept like the credentials: in this tab's session storage (gone with the tab), under the signed-in
// access key (another key signed in on the same tab sees none of them), and forgotten at sign-out.
const PREFIX = 'cairn.lake.';
const draftKey = () => `${PREFIX}draft.${session.accessKeyId()}`;
const textsKey = () => `${PREFIX}statements.${session.accessKeyId()}`;

/** Forgets every statement kept in this tab. */
function forgetStatements() {
  for (const k of Object.keys(sessionStorage)) if (k.startsWith(PREFIX)) sessionStorage.removeItem(k);
}
session.subscribe(() => session.credentials() || forgetStatements());
// Earlier versions kept them in local storage, shared by every account and tab of the browser.
localStorage.removeItem('cairn.lake.draft');
localStorage.removeItem('cairn.lake.statements');

/** The statements run in this tab with this key, by query id (ListQueries does not answer them), newest last. */
function savedTexts(): Record<string, string> {
  try {
    return JSON.parse(sessionStorage.getItem(textsKey()) ?? '{}');
  } catch {
    return {};
  }
}

function saveText(id: string, sql: string) {
  const all = Object.entries(savedTexts()).filter(([k]) => k !== id);
  all.push([id, sql]);
  sessionStorage.setItem(textsKey(), JSON.stringify(Object.fromEntries(all.slice(-KEEP))));
}

function defaultSql(id: string, activity: boolean): string {
  return activity
    ? `SELECT eventTime, eventData.eventSource, eventData.eventName, eventData.userIdentity.principalId\nFROM ${id}\nORDER BY eventTime DESC\nLIMIT 50`
    : `SELECT eventTime, eventSource, eventName, userIdentity.arn, sourceIPAddress\nFROM ${id}\nORDER BY eventTime DESC\nLIMIT 50`;
}

/** Navigates within the query page, keeping the other parameters. */
function setParams(query: URLSearchParams, changes: Record<string, string | undefined>) {
  const q = new URLSearchParams(query);
  Object.entries(changes).forEach(([k, v]) => (v ? q.set(k, v) : q.delete(k)));
  location.hash = '#/lake/query' + (q.toString() ? '?' + q : '');
}

interface Run {
  id: string;
  describe?: any;
  error?: unknown;
}

export function LakeQuery({ query }: { query: URLSearchParams }) {
  const stores = useLoad(listStores, []);
  const usable = (stores.data ?? []).filter((s) => s.Status !== 'PENDING_DELETION');
  const wanted = query.get('store');
  const fallback = usable.find((s) => !categories(s).includes('ActivityAuditLog')) ?? usable[0];
  const store: Store | undefined = wanted ? usable.find((s) => storeId(s.EventDataStoreArn) === wanted) : fallback;
  const sid = store ? storeId(store.EventDataStoreArn) : '';
  const qid = query.get('id') ?? '';
  const [sql, setSqlState] = useState(() => sessionStorage.getItem(draftKey()) ?? '');
  const [startError, setStartError] = useState<unknown>();
  const [starting, setStarting] = useState(false);
  const [run, setRun] = useState<Run | null>(null);
  const [historyTick, setHistoryTick] = useState(0);
  const editor = useRef<HTMLTextAreaElement>(null);
  const startedHere = useRef(new Set<string>());

  const setSql = (v: string) => {
    setSqlState(v);
    sessionStorage.setItem(draftKey(), v);
  };

  // A first statement over the chosen store once the stores are known.
  useEffect(() => {
    if (store && !sql.trim()) setSql(defaultSql(sid, categories(store).includes('ActivityAuditLog')));
  }, [sid]);

  // Follows the query the address names until it ends.
  useEffect(() => {
    if (!qid) return setRun(null);
    const ctl = new AbortController();
    setRun({ id: qid });
    let first = true;
    waitQuery({ QueryId: qid }, ctl.signal, (d) => {
      if (first && !startedHere.current.has(qid) && d.QueryString) setSql(d.QueryString);
      first = false;
      setRun({ id: qid, describe: d });
    }).then(
      () => setHistoryTick((n) => n + 1),
      (error) => !ctl.signal.aborted && setRun({ id: qid, error }),
    );
    return () => ctl.abort();
  }, [qid]);

  const status: string | undefined = run?.describe?.QueryStatus;
  const running = !!run && !run.error && (!status || !TERMINAL.includes(status));

  const start = async () => {
    if (starting || running || !sql.trim()) return;
    setStarting(true);
    setStartError(undefined);
    try {
      const r = await cloudtrail('StartQuery', { QueryStatement: sql });
      startedHere.current.add(r.QueryId);
      saveText(r.QueryId, sql);
      setParams(query, { id: r.QueryId, store: sid || undefined });
    } catch (e) {
      setStartError(e);
    }
    setStarting(false);
  };

  const cancel = async () => {
    try {
      await cloudtrail('CancelQuery', { QueryId: qid });
    } catch (e) {
      setStartError(e);
    }
  };

  // Opens a query of the history: its statement goes back in the editor (DescribeQuery answers it), its results below.
  const openQuery = async (id: string) => {
    setStartError(undefined);
    try {
      const d = await cloudtrail('DescribeQuery', { QueryId: id });
      if (d.QueryString) setSql(d.QueryString);
    } catch (e) {
      setStartError(e);
    }
    setParams(query, { id });
  };

  const pickStore = (id: string) => {
    if (sid && sql.includes(sid)) setSql(sql.split(sid).join(id));
    setParams(query, { store: id, id: undefined });
  };

  const insertStore = () => {
    const ta = editor.current;
    if (!ta || !sid) return;
    const [a, b] = [ta.selectionStart, ta.selectionEnd];
    setSql(sql.slice(0, a) + sid + sql.slice(b));
    requestAnimationFrame(() => {
      ta.focus();
      ta.setSelectionRange(a + sid.length, a + sid.length);
    });
  };

  return (
    <Page title={t('lake.query.title')} lead={t('lake.query.lead')}>
      <ErrorBox error={stores.error} />
      {stores.data && !usable.length && (
        <div class="alert info">
          {t('lake.query.noStores')} <a href="#/lake/stores">{t('lake.stores.create')}</a>
        </div>
      )}
      <div class="lake-query">
        <Panel title={t('lake.query.editor')}>
          <form
            class="lake-editor"
            onSubmit={(e) => {
              e.preventDefault();
              start();
            }}
          >
            <div class="toolbar">
              <Field label={t('lake.query.store')}>
                <select name="store" value={sid} onChange={(e) => pickStore(e.currentTarget.value)} disabled={!usable.length}>
                  {usable.map((s) => (
                    <option key={s.EventDataStoreArn} value={storeId(s.EventDataStoreArn)}>
                      {s.Name}
                    </option>
                  ))}
                </select>
              </Field>
              <button type="button" onClick={insertStore} disabled={!sid}>
                {t('lake.query.insertStore')}
              </button>
              {sid && <code class="store-id">{sid}</code>}
            </div>
            <Field label={t('lake.query.statement')} hint={t('lake.query.hint')}>
              <SqlEditor name="statement" value={sql} onChange={setSql} onRun={start} inputRef={editor} minRows={8} />
            </Field>
            <div class="actions left">
              <button type="submit" class="primary" disabled={starting || running || !sql.trim()}>
                {t('lake.query.run')}
              </button>
              {running && qid && (
                <button type="button" onClick={cancel}>
                  {t('lake.query.cancel')}
                </button>
              )}
              <button type="button" onClick={() => setSql('')} disabled={!sql}>
                {t('common.clear')}
              </button>
            </div>
          </form>
          <ErrorBox error={startError} />
        </Panel>
        <div>
          <Samples storeId={sid} onPick={(s) => (setSql(s), setStartError(undefined), editor.current?.focus())} />
          {store && <Generator store={store} onPick={(s) => (setSql(s), setStartError(undefined), editor.current?.focus())} />}
        </div>
      </div>
      {run && <RunView run={run} />}
      {store && <History store={store} current={qid} tick={historyTick} onOpen={openQuery} />}
    </Page>
  );
}

/** A query's status, time and statistics, then its results or its failure. */
function RunView({ run }: { run: Run }) {
  const d = run.describe;
  const status: string | undefined = d?.QueryStatus;
  const done = !!status && TERMINAL.includes(status);
  const [now, setNow] = useState(Date.now());
  const opened = useRef(Date.now());
  useEffect(() => {
    opened.current = Date.now();
  }, [run.id]);
  useEffect(() => {
    if (done || run.error) return;
    const timer = setInterval(() => setNow(Date.now()), 100);
    return () => clearInterval(timer);
  }, [done, run.error, run.id]);
  const stats = d?.QueryStatistics ?? {};
  const since = stats.CreationTime ? Math.min(opened.current, stats.CreationTime * 1000) : opened.current;
  // The server's run time once finished; until then (and for a query that did not finish) the time seen here.
  const elapsed = status === 'FINISHED' && stats.ExecutionTimeInMillis !== undefined ? stats.ExecutionTimeInMillis : Math.max(0, now - since);
  return (
    <Panel title={t('lake.results.title')} id="results">
      {run.error ? (
        <ErrorBox error={run.error} />
      ) : (
        <>
          <dl class="query-stats" aria-live="polite">
            <div>
              <dt>{t('common.status')}</dt>
              <dd>{status ? <QueryStatus status={status} /> : <Spinner label={t('lake.query.starting')} />}</dd>
            </div>
            <div>
              <dt>{t('lake.stats.elapsed')}</dt>
              <dd>{elapsed < 1000 ? t('lake.stats.ms', { n: Math.round(elapsed) }) : t('lake.stats.seconds', { n: (elapsed / 1000).toFixed(1) })}</dd>
            </div>
            <div>
              <dt>{t('lake.stats.matched')}</dt>
              <dd>{stats.EventsMatched !== undefined ? fmtNumber(stats.EventsMatched) : '—'}</dd>
            </div>
            <div>
              <dt>{t('lake.stats.scanned')}</dt>
              <dd>{stats.EventsScanned !== undefined ? fmtNumber(stats.EventsScanned) : '—'}</dd>
            </div>
            <div>
              <dt>{t('lake.stats.bytes')}</dt>
              <dd>{stats.BytesScanned !== undefined ? fmtBytes(stats.BytesScanned) : '—'}</dd>
            </div>
            <div>
              <dt>{t('lake.stats.queryId')}</dt>
              <dd class="mono">{run.id}</dd>
            </div>
          </dl>
          {(status === 'FAILED' || status === 'TIMED_OUT') && <ErrorBox error={new AwsError(status, d.ErrorMessage ?? '', 0)} />}
          {status === 'CANCELLED' && <p class="empty">{t('lake.query.cancelled')}</p>}
          {status === 'FINISHED' && <Results id={run.id} />}
        </>
      )}
    </Panel>
  );
}

/** A finished query's rows, a page at a time, with a CSV export of them all. */
function Results({ id }: { id: string }) {
  const pages = useTokenPages();
  const [state, setState] = useState<{ data?: Rows; next?: string; total?: number; error?: unknown; loading: boolean }>({ loading: true });
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>();
  const columns = useRef<string[]>([]);
  const answeredAt = useRef(0);

  useEffect(() => {
    pages.reset();
    columns.current = [];
  }, [id]);

  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    cloudtrail('GetQueryResults', { QueryId: id, NextToken: pages.token, MaxQueryResults: PAGE }, ctl.signal).then(
      (r) => {
        const data = rowsOf(r.QueryResultRows ?? [], columns.current);
        columns.current = data.columns;
        answeredAt.current = performance.now();
        setState({ data, next: r.NextToken, total: r.QueryStatistics?.TotalResultsCount, loading: false });
      },
      (error) => !ctl.signal.aborted && setState({ error, loading: false }),
    );
    return () => ctl.abort();
  }, [id, pages.token]);

  // How long a page of results takes to render once the API has answered.
  useLayoutEffect(() => {
    if (!answeredAt.current || !state.data) return;
    const start = answeredAt.current;
    answeredAt.current = 0;
    requestAnimationFrame(() => performance.measure('cairn:lake-results-render', { start, end: performance.now() }));
  }, [state.data]);

  const exportCsv = async () => {
    setExporting(true);
    setExportError(undefined);
    try {
      const all = await allRows(id);
      download(`lake_query_${id}.csv`, 'text/csv', [csvLine(all.columns), ...all.rows.map((r) => csvLine(r))]);
    } catch (e) {
      setExportError(e);
    }
    setExporting(false);
  };

  if (state.error) return <ErrorBox error={state.error} />;
  if (!state.data) return <Spinner />;
  return (
    <>
      <div class="results-head">
        <span>{t('common.rows', { n: fmtNumber(state.total ?? state.data.rows.length) })}</span>
        <button type="button" onClick={exportCsv} disabled={exporting || !state.data.rows.length}>
          {exporting ? t('lake.results.exporting') : t('lake.results.export')}
        </button>
      </div>
      <ErrorBox error={exportError} />
      <ResultTable data={state.data} caption={t('lake.results.title')} />
      <Pager page={pages.page} hasPrev={pages.page > 1} hasNext={!!state.next} busy={state.loading} onPrev={pages.prev} onNext={() => state.next && pages.next(state.next)} />
    </>
  );
}

/** Suggested searches: the label shown (translated) and the phrase searched (the sample queries are in English). */
const SUGGESTIONS: [Key, string][] = [
  ['lake.samples.s.signIn', 'console sign-in'],
  ['lake.samples.s.denied', 'access denied'],
  ['lake.samples.s.root', 'root'],
  ['lake.samples.s.iam', 'IAM changes'],
  ['lake.samples.s.errors', 'errors'],
  ['lake.samples.s.securityGroup', 'security group'],
];

/** The sample query library: a phrase search; picking one puts its SQL in the editor for the chosen store. */
function Samples({ storeId: sid, onPick }: { storeId: string; onPick: (sql: string) => void }) {
  const [draft, setDraft] = useState('');
  const [phrase, setPhrase] = useState('');
  const found = useLoad(
    (signal) => (phrase.trim().length >= 2 ? cloudtrail('SearchSampleQueries', { SearchPhrase: phrase.trim(), MaxResults: 10 }, signal) : Promise.resolve(null)),
    [phrase],
  );
  const search = (p: string) => {
    setDraft(p);
    setPhrase(p);
  };
  const results: { Name: string; Description: string; SQL: string }[] = found.data?.SearchResults ?? [];
  return (
    <Panel title={t('lake.samples.title')} id="samples">
      <form
        class="sample-search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          search(draft);
        }}
      >
        <Field label={t('lake.samples.search')}>
          <input name="sample-search" type="search" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} minLength={2} placeholder={t('lake.samples.placeholder')} />
        </Field>
        <button type="submit">{t('common.search')}</button>
      </form>
      <div class="chips" role="group" aria-label={t('lake.samples.suggestions')}>
        {SUGGESTIONS.map(([label, phrase]) => (
          <button type="button" class="chip" key={phrase} onClick={() => search(phrase)}>
            {t(label)}
          </button>
        ))}
      </div>
      <ErrorBox error={found.error} />
      {found.loading && phrase ? (
        <Spinner />
      ) : phrase && !results.length ? (
        <p class="empty">{t('lake.samples.none')}</p>
      ) : (
        <ul class="samples">
          {results.map((s) => (
            <li key={s.Name}>
              <button type="button" class="sample" onClick={() => onPick(sid ? s.SQL.split('$EDS_ID').join(sid) : s.SQL)}>
                <strong>{s.Name}</strong>
                <span>{s.Description}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

/**
 * The query generator: GenerateQuery turns an English prompt into SQL over the store. cairn needs a language model
 * configured for it (docs/lake.md) and otherwise answers UnsupportedOperationException, shown as any error is.
 */
function Generator({ store, onPick }: { store: Store; onPick: (sql: string) => void }) {
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const generate = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await cloudtrail('GenerateQuery', { EventDataStores: [store.EventDataStoreArn], Prompt: prompt.trim() });
      onPick(r.QueryStatement);
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return (
    <Panel title={t('lake.generate.title')} id="generator">
      <form onSubmit={generate}>
        <Field label={t('lake.generate.prompt')} hint={t('lake.generate.hint')}>
          <textarea name="prompt" rows={3} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} maxLength={500} />
        </Field>
        <button type="submit" disabled={busy || prompt.trim().length < 3}>
          {busy ? t('lake.generate.busy') : t('lake.generate.run')}
        </button>
      </form>
      <ErrorBox error={error} />
    </Panel>
  );
}

/** The store's queries of the last 7 days, newest first; opening one shows its results again. */
function History({ store, current, tick, onOpen }: { store: Store; current: string; tick: number; onOpen: (id: string) => void }) {
  const list = useLoad((signal) => cloudtrail('ListQueries', { EventDataStore: store.EventDataStoreArn, MaxResults: 25 }, signal), [store.EventDataStoreArn, tick]);
  const texts = savedTexts();
  type Q = { QueryId: string; QueryStatus: string; CreationTime: number };
  const rows: Q[] = [...(list.data?.Queries ?? [])].sort((a: Q, b: Q) => b.CreationTime - a.CreationTime);
  return (
    <Panel
      title={t('lake.history.title', { name: store.Name })}
      id="history"
      actions={
        <button type="button" onClick={list.reload}>
          {t('common.refresh')}
        </button>
      }
    >
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Spinner />
      ) : (
        <Table
          caption={t('lake.history.title', { name: store.Name })}
          columns={[
            { key: 'time', label: t('lake.history.created'), render: (q: Q) => fmtTime(q.CreationTime), class: 'nowrap' },
            { key: 'status', label: t('common.status'), render: (q: Q) => <QueryStatus status={q.QueryStatus} /> },
            { key: 'sql', label: t('lake.query.statement'), render: (q: Q) => <code class="sql-preview">{texts[q.QueryId] ?? '—'}</code> },
            { key: 'id', label: t('lake.stats.queryId'), render: (q: Q) => <span class="mono">{q.QueryId}</span> },
          ]}
          rows={rows}
          rowKey={(q) => q.QueryId}
          onOpen={(q) => onOpen(q.QueryId)}
          selected={current}
          empty={t('lake.history.none')}
        />
      )}
    </Panel>
  );
}
