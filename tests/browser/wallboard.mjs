// wallboard.mjs: drives the supervisor wallboard (/agent/wallboard.html) in Debian's
// Chromium and prints ONE line of JSON on stdout: {"ok": true, ...} (exit 0) or
// {"ok": false, "error": "..."} (exit 1). Browser console errors go to stderr.
//
// It waits for the QUEUE tile and the AGENT row, then puts the agent on break through
// the HTTP API (POST /api/v1/agents/AGENT/status, from node, not from the page) and
// waits until the row shows it: the wallboard got the change pushed over
// /api/v1/events. If the agent already was on break for that reason, it is logged out
// first (and that change awaited too), so the test always sees a push. Afterwards the
// agent's earlier status is put back (RESTORE=0 leaves it on break).
//
// The wallboard itself needs no session. Changing a status does (the agent itself, a
// supervisor or an admin; docs/api.md): the script signs in as API_USER with
// POST /api/v1/login, sends the token as Bearer and signs out at the end.
//
// Environment:
//   LIFELINE_HTTP   base URL of Lifeline's HTTP server, e.g. http://127.0.0.1:8080 (required)
//   QUEUE           the queue tile to wait for (default citizen)
//   AGENT           the agent row to wait for and put on break (default 1001)
//   RESTORE=0       leave the agent on break
//   API_USER        who changes the status (default 3001, the demo supervisor)
//   API_PASSWORD    their password (default pw3001)
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//   DEBUG=1         forward every browser console message to stderr, not only errors

import { openPage, run } from './harness.mjs';

const env = process.env;
const base = (env.LIFELINE_HTTP || '').replace(/\/+$/, '');
const queue = env.QUEUE || 'citizen';
const agent = env.AGENT || '1001';
const REASON = 'wallboard test';
const STEP_MS = 15_000; // page load, first snapshots, one pushed change, one HTTP request
const OVERALL_MS = 8 * STEP_MS;


let token = null;


/** An API request from node, with the session once there is one; the JSON answer. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(STEP_MS),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${data?.error ?? res.statusText}`);
  return data;
}

async function signIn() {
  const user = env.API_USER || '3001';
  const res = await api('POST', '/api/v1/login', { user, password: env.API_PASSWORD || 'pw3001' });
  if (!res?.token) throw new Error(`POST /api/v1/login as ${user}: no token in the answer`);
  token = res.token;
}

/** POST /api/v1/agents/{id}/status from node; the agent as Lifeline answers it. */
const setStatus = (status, reason) =>
  api('POST', `/api/v1/agents/${encodeURIComponent(agent)}/status`, reason ? { status, reason } : { status });

const rowSel = `#agents [data-agent="${agent}"]`;
const tileSel = `#queues [data-queue="${queue}"]`;

/** What the agent's row shows: status and reason. */
const rowStatus = (page) =>
  page.$eval(rowSel, (tr) => {
    const cell = tr.querySelector('[data-field="status"]');
    return { status: cell.dataset.value, reason: cell.querySelector('[data-field="reason"]')?.textContent ?? '', text: cell.textContent.trim() };
  });

/** Waits until the agent's row shows `status` (and `reason`, when given). */
async function waitRow(page, status, reason, what) {
  await page
    .waitForFunction(
      ({ sel, status, reason }) => {
        const cell = document.querySelector(sel)?.querySelector('[data-field="status"]');
        if (!cell || cell.dataset.value !== status) return false;
        return reason == null || cell.querySelector('[data-field="reason"]')?.textContent === reason;
      },
      { sel: rowSel, status, reason },
      { timeout: STEP_MS },
    )
    .catch(async () => {
      throw new Error(`${what}: the row of agent ${agent} still shows ${JSON.stringify(await rowStatus(page).catch(() => null))}`);
    });
}

/** Every [data-field] of the tile: its text, and the raw value where it differs. */
const tileValues = (page) =>
  page.$eval(tileSel, (tile) => {
    const out = {};
    for (const node of tile.querySelectorAll('[data-field]')) {
      if (node.dataset.field === 'alert') continue;
      out[node.dataset.field] = node.textContent.trim();
    }
    out.alert = tile.dataset.alert === 'true' ? tile.querySelector('[data-field="alert"]').textContent : null;
    return out;
  });

async function main() {
  if (!base) throw new Error('LIFELINE_HTTP is not set');

  const { page, errors, exceptions } = await openPage(STEP_MS);

  const res = await page.goto(`${base}/agent/wallboard.html`, { timeout: STEP_MS });
  if (!res?.ok()) throw new Error(`GET /agent/wallboard.html: ${res?.status()} (is the binary built with dispatch-ui/wallboard.html?)`);
  await page.waitForSelector('#connection[data-value="open"]', { timeout: STEP_MS }).catch(async () => {
    throw new Error(`the live feed did not open (connection ${await page.getAttribute('#connection', 'data-value')})`);
  });
  await page.waitForSelector(tileSel, { timeout: STEP_MS }).catch(() => {
    throw new Error(`no tile for queue ${queue}`);
  });
  await page.waitForSelector(rowSel, { timeout: STEP_MS }).catch(() => {
    throw new Error(`no row for agent ${agent}`);
  });

  await signIn();
  const before = await rowStatus(page);
  if (before.status === 'break' && before.reason === REASON) {
    // the wanted change would be no change: make one first, and see it pushed too
    await setStatus('logged_out');
    await waitRow(page, 'logged_out', null, 'after logging the agent out first');
  }
  const posted = Date.now();
  const answer = await setStatus('break', REASON);
  await waitRow(page, 'break', REASON, 'after POST break');
  const pushMs = Date.now() - posted;
  const row = await rowStatus(page);

  // the ticker shows events as they happen: going on break logs PAUSE (per queue)
  const tickerSeen = await page
    .waitForFunction(
      ({ agent, since }) =>
        [...document.querySelectorAll('#events li[data-event="PAUSE"]')].some(
          (li) => li.dataset.agent === agent && Date.parse(li.querySelector('time')?.dateTime) >= since,
        ),
      { agent, since: posted - 2000 },
      { timeout: 5_000 },
    )
    .then(() => true)
    .catch(() => false);
  const events = await page.$$eval('#events li[data-event]', (items) =>
    items.slice(0, 5).map((li) => li.textContent.replace(/\s+/g, ' ').trim()),
  );
  const tile = await tileValues(page);

  if (exceptions.length) throw new Error(`the page threw: ${exceptions[0]}`);
  let restored = null;
  if (env.RESTORE !== '0' && !(before.status === 'break' && before.reason === REASON)) {
    restored = before.status;
    await setStatus(before.status, before.status === 'break' ? before.reason || undefined : undefined);
  }
  return {
    ok: true,
    queue,
    tile,
    agent,
    before: before.status,
    row: row.text,
    api_status: answer?.status ?? null,
    push_ms: pushMs,
    ticker_has_agent_event: tickerSeen,
    events,
    restored,
    browser_errors: errors,
  };
}

run(main, {
  overallMs: OVERALL_MS,
  onExit: () => (token ? api('POST', '/api/v1/logout') : Promise.resolve()),
});
