// The console's entry: the shell (navigation, region, language, theme, sign-out), sign-in, and the page router.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { cloudtrail } from './aws';
import { lang, onLang, setLang, t, type Key, type Lang } from './i18n';
import { Dashboard } from './pages/dashboard';
import { EventHistory } from './pages/events';
import { LakeDashboards, LakeQuery, LakeStores } from './pages/lake';
import { Alarms, LogGroups } from './pages/monitoring';
import { Trails } from './pages/trails';
import { TrailWizard } from './pages/trailwizard';
import { href, useRoute } from './router';
import { session } from './session';
import { ErrorBox, Field } from './ui';

const REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1', 'eu-west-1', 'eu-west-2',
  'eu-west-3', 'eu-central-1', 'eu-north-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1',
  'ap-southeast-2', 'ap-south-1',
];

type Theme = 'system' | 'light' | 'dark';

function applyTheme(theme: Theme) {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  localStorage.setItem('cairn.theme', theme);
}

function useRerender(subscribe: (f: () => void) => () => void) {
  const [, set] = useState(0);
  useEffect(() => subscribe(() => set((n) => n + 1)), []);
}

function SignIn() {
  const [akid, setAkid] = useState('');
  const [secret, setSecret] = useState('');
  const [token, setToken] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const creds = { accessKeyId: akid.trim(), secretAccessKey: secret.trim(), sessionToken: token.trim() || undefined };
    try {
      // A signed call proves the key pair before the session keeps it.
      await session.trying(creds, region, () => cloudtrail('ListTrails', {}));
      session.signIn(creds, region);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <form onSubmit={submit} class="panel" aria-labelledby="signin-title">
        <img src="icon.svg" alt="" width={40} height={40} />
        <h1 id="signin-title">{t('signin.title')}</h1>
        <p class="lead">{t('signin.lead')}</p>
        <Field label={t('signin.accessKeyId')}>
          <input name="accessKeyId" value={akid} onInput={(e) => setAkid(e.currentTarget.value)} autocomplete="off" required spellcheck={false} />
        </Field>
        <Field label={t('signin.secretAccessKey')}>
          <input name="secretAccessKey" type="password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} autocomplete="off" required />
        </Field>
        <Field label={t('signin.sessionToken')}>
          <input name="sessionToken" type="password" value={token} onInput={(e) => setToken(e.currentTarget.value)} autocomplete="off" />
        </Field>
        <Field label={t('signin.region')}>
          <select name="region" value={region} onChange={(e) => setRegion(e.currentTarget.value)}>
            {REGIONS.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </Field>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('signin.checking') : t('signin.submit')}
        </button>
        <Prefs />
      </form>
    </main>
  );
}

/** Language and theme switches. */
function Prefs() {
  const [theme, setTheme] = useState<Theme>((localStorage.getItem('cairn.theme') as Theme) || 'system');
  return (
    <div class="prefs">
      <label>
        <span class="sr-only">{t('shell.language')}</span>
        <select aria-label={t('shell.language')} value={lang()} onChange={(e) => setLang(e.currentTarget.value as Lang)} name="lang">
          <option value="en">English</option>
          <option value="ja">日本語</option>
        </select>
      </label>
      <label>
        <span class="sr-only">{t('shell.theme')}</span>
        <select
          aria-label={t('shell.theme')}
          name="theme"
          value={theme}
          onChange={(e) => {
            const v = e.currentTarget.value as Theme;
            setTheme(v);
            applyTheme(v);
          }}
        >
          <option value="system">{t('shell.theme.system')}</option>
          <option value="light">{t('shell.theme.light')}</option>
          <option value="dark">{t('shell.theme.dark')}</option>
        </select>
      </label>
    </div>
  );
}

const NAV: [string, Key, [string, Key][]?][] = [
  ['dashboard', 'nav.dashboard'],
  ['events', 'nav.events'],
  ['trails', 'nav.trails'],
  ['lake', 'nav.lake', [['lake/stores', 'nav.stores'], ['lake/query', 'nav.query'], ['lake/dashboards', 'nav.dashboards']]],
  ['monitoring', 'nav.monitoring', [['monitoring/log-groups', 'nav.logGroups'], ['monitoring/alarms', 'nav.alarms']]],
];

function Shell() {
  const route = useRoute();
  const [menu, setMenu] = useState(false);
  const here = route.parts.join('/') || 'dashboard';
  useEffect(() => setMenu(false), [here]);
  const active = (id: string) => here === id || here.startsWith(id + '/') || (id === 'trails' && here === 'create-trail');
  // The window title names the page, as screen readers announce it on navigation.
  useEffect(() => {
    const section = NAV.flatMap(([id, label, children]) => [[id, label] as [string, Key], ...(children ?? [])])
      .filter(([id]) => active(id))
      .pop();
    document.title = section ? `${t(section[1])} — ${t('app.name')}` : t('app.name');
  }, [here, lang()]);
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        {t('app.skip')}
      </a>
      <header class="topbar">
        <button type="button" class="menu-button" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
          ☰ <span class="sr-only">{t('nav.menu')}</span>
        </button>
        <a class="brand" href={href('dashboard')}>
          <img src="icon.svg" alt="" width={24} height={24} /> {t('app.name')}
        </a>
        <div class="topbar-right">
          <label class="region">
            <span>{t('shell.region')}</span>
            <select name="region" value={session.region()} onChange={(e) => session.setRegion(e.currentTarget.value)}>
              {REGIONS.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <Prefs />
          <span class="who" title={session.accessKeyId()}>
            {t('shell.signedInAs', { key: session.accessKeyId() })}
          </span>
          <button type="button" onClick={() => session.signOut()}>
            {t('shell.signOut')}
          </button>
        </div>
      </header>
      <nav id="nav" class={menu ? 'sidenav open' : 'sidenav'} aria-label={t('nav.menu')}>
        <ul>
          {NAV.map(([id, label, children]) => (
            <li key={id}>
              {children ? (
                <>
                  <span class="nav-group">{t(label)}</span>
                  <ul>
                    {children.map(([cid, clabel]) => (
                      <li key={cid}>
                        <a href={'#/' + cid} aria-current={active(cid) ? 'page' : undefined}>
                          {t(clabel)}
                        </a>
                      </li>
                    ))}
                  </ul>
                </>
              ) : (
                <a href={'#/' + id} aria-current={active(id) ? 'page' : undefined}>
                  {t(label)}
                </a>
              )}
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1} key={session.region()}>
        <Routed parts={route.parts} query={route.query} />
      </main>
    </div>
  );
}

function Routed({ parts, query }: { parts: string[]; query: URLSearchParams }) {
  const [top, ...rest] = parts;
  switch (top) {
    case 'events':
      return <EventHistory query={query} />;
    case 'trails':
      return <Trails rest={rest} />;
    case 'create-trail':
      return <TrailWizard />;
    case 'lake':
      if (rest[0] === 'query') return <LakeQuery query={query} />;
      if (rest[0] === 'dashboards') return <LakeDashboards rest={rest.slice(1)} />;
      return <LakeStores rest={rest.slice(1)} />;
    case 'monitoring':
      if (rest[0] === 'alarms') return <Alarms rest={rest.slice(1)} />;
      return <LogGroups rest={rest.slice(1)} />;
    default:
      return <Dashboard />;
  }
}

function App() {
  useRerender(session.subscribe);
  useRerender(onLang);
  return session.credentials() ? <Shell /> : <SignIn />;
}

applyTheme((localStorage.getItem('cairn.theme') as Theme) || 'system');
document.documentElement.lang = lang();
render(<App />, document.getElementById('app')!);
performance.mark('cairn:rendered');
