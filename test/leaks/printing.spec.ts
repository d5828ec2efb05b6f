/**
 * Printing without custom inspection (issue 13): snapshots, `req.secrets` and handles print no
 * value under console.log, console.dir (`customInspect: false`), console.table and util.inspect
 * with `customInspect: false` / `getters: true` / `showHidden: true`, while reads and spreading
 * still give the values and structuredClone keeps throwing. Run in a separate `node` process
 * against the built packages, so the real console (not Jest's) prints.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const VALUE = 'pw-"q\\u\n-é-CANARY-printing';

const script = `
const { SecretStore, memorySource } = require(${JSON.stringify(join(ROOT, 'packages/core/dist/index.js'))});
const { createSecrets } = require(${JSON.stringify(join(ROOT, 'packages/express/dist/index.js'))});
const express = require(${JSON.stringify(require.resolve('express'))});
const http = require('node:http');
const { inspect } = require('node:util');
const VALUE = ${JSON.stringify(VALUE)};
const OPTIONS = [{ customInspect: false }, { getters: true }, { showHidden: true }, { customInspect: false, getters: true, showHidden: true, depth: 10 }];
const checks = {};
function print(label, target) {
  console.log(label, target);
  console.dir(target);
  console.dir(target, { showHidden: true, getters: true, depth: 10 });
  console.table(target);
  for (const o of OPTIONS) console.log(inspect(target, o));
  console.log(JSON.stringify(target), String(target));
  try { checks[label + ' structuredClone'] = 'cloned ' + inspect(structuredClone(target)); } catch (e) { checks[label + ' structuredClone'] = e.name; }
}
(async () => {
  const source = memorySource({ db: { password: VALUE }, api: VALUE });
  const store = new SecretStore({ db: { id: 'db', format: 'json' }, api: 'api' }, { source, refreshInterval: false });
  await store.load();
  const snap = store.snapshot();
  print('snapshot', snap);
  print('handle', store.handle('api'));
  checks.snapshotRead = snap.api === VALUE && snap.db.password === VALUE;
  checks.snapshotSpread = JSON.stringify({ ...snap }) === JSON.stringify({ db: { password: VALUE }, api: VALUE });
  checks.snapshotEntries = Object.entries(snap).length === 2 && 'db' in snap;
  checks.handleRead = store.handle('api').value === VALUE;
  await store.close();

  const hush = await createSecrets({ secrets: { api: 'api' }, source: memorySource({ api: VALUE }), refreshInterval: false });
  const app = express();
  app.get('/', hush.middleware(), (req, res) => {
    print('req.secrets', req.secrets);
    checks.reqRead = req.secrets.api === VALUE;
    checks.reqSpread = ({ ...req.secrets }).api === VALUE;
    res.end('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  await new Promise((resolve, reject) =>
    http.get('http://127.0.0.1:' + server.address().port + '/', (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
  server.close();
  await hush.close();
  process.stderr.write('CHECKS ' + JSON.stringify(checks) + '\\n');
})().catch((e) => { process.stderr.write('FAILED ' + e.stack + '\\n'); process.exit(1); });
`;

it('no value in any print-out of snapshots, handles and req.secrets; reads, spreads still work', () => {
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  expect(child.stderr).not.toContain('FAILED');
  expect(child.status).toBe(0);
  const checks = JSON.parse(/CHECKS (.*)/.exec(child.stderr)![1]!);
  expect(checks).toEqual({
    'snapshot structuredClone': 'DataCloneError',
    // A handle's state is private: a clone is an empty object.
    'handle structuredClone': 'cloned {}',
    'req.secrets structuredClone': 'DataCloneError',
    snapshotRead: true,
    snapshotSpread: true,
    snapshotEntries: true,
    handleRead: true,
    reqRead: true,
    reqSpread: true,
  });
  // Every print-out happened (console.table included) and none shows the value or a fragment of it.
  expect(child.stdout).toContain('┌');
  expect(child.stdout.split('[redacted]').length).toBeGreaterThan(10);
  for (const fragment of ['CANARY', 'printing', JSON.stringify(VALUE).slice(1, 9)]) {
    expect(child.stdout).not.toContain(fragment);
  }
});
