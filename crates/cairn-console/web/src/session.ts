// The signed-in credential and region. The key pair lives only in this tab's session storage: it is sent nowhere,
// only used to sign requests to this origin, and signing out (or closing the tab) forgets it.
import type { Credentials } from './sigv4';

const KEY = 'cairn.session';
type Listener = () => void;
const listeners = new Set<Listener>();

interface Stored extends Credentials {
  region: string;
}

function read(): Stored | null {
  try {
    const s = sessionStorage.getItem(KEY);
    return s ? (JSON.parse(s) as Stored) : null;
  } catch {
    return null;
  }
}

/** Credentials being checked at sign-in, used for that one call only. */
let trial: Stored | null = null;

export const session = {
  credentials(): Credentials | null {
    return trial ?? read();
  },
  region(): string {
    return (trial ?? read())?.region ?? 'us-east-1';
  },
  /** Runs `f` signed with `creds` without keeping them. */
  async trying<T>(creds: Credentials, region: string, f: () => Promise<T>): Promise<T> {
    trial = { ...creds, region };
    try {
      return await f();
    } finally {
      trial = null;
    }
  },
  accessKeyId(): string {
    return read()?.accessKeyId ?? '';
  },
  signIn(creds: Credentials, region: string) {
    sessionStorage.setItem(KEY, JSON.stringify({ ...creds, region }));
    listeners.forEach((l) => l());
  },
  setRegion(region: string) {
    const s = read();
    if (s) sessionStorage.setItem(KEY, JSON.stringify({ ...s, region }));
    listeners.forEach((l) => l());
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};
