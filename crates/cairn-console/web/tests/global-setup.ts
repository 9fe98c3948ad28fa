// Starts `cairn serve` ($CAIRN_BIN) on a free loopback port with a fresh data directory, a development account and
// one-second delivery windows, unless $CAIRN_CONSOLE_URL already names a running cairn. Stops it after the run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCOUNT, ACCESS_KEY_ID, SECRET_ACCESS_KEY } from './support';

export default async function globalSetup() {
  if (process.env.CAIRN_CONSOLE_URL) return;
  const bin = process.env.CAIRN_BIN;
  if (!bin) throw new Error('set CAIRN_BIN to the cairn binary (or CAIRN_CONSOLE_URL to a running cairn)');
  const work = mkdtempSync(join(tmpdir(), 'cairn-console-test-'));
  writeFileSync(
    join(work, 'cairn.toml'),
    `data_dir = "${join(work, 'data')}"
[[accounts]]
id = "${ACCOUNT}"
[[accounts.credentials]]
access_key_id = "${ACCESS_KEY_ID}"
secret_access_key = "${SECRET_ACCESS_KEY}"
principal = "user/console-tester"
ingest_accounts = ["${ACCOUNT}"]
[storage]
kind = "local"
[delivery]
window_seconds = 1
`,
  );
  const child = spawn(bin, ['serve', '--config', join(work, 'cairn.toml'), '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`cairn did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`cairn exited with ${code}: ${out}`)));
  });
  process.env.CAIRN_CONSOLE_URL = url;
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  };
}
