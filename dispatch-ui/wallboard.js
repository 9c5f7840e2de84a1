// wallboard.js: the supervisor wallboard. The live feed (WebSocket /api/v1/events, with
// reconnect and backoff), one tile per queue with its alert, the agents table, the
// ticker of the latest queue events, local ticking between updates and the connection
// indicator. Read-only: it never changes anything in Lifeline. Markup is in
// wallboard.html; the feed's contract is in docs/api.md.

const $ = (id) => document.getElementById(id);

/** A queue needs attention below this service level (percent)… */
const SERVICE_LEVEL_MIN_PCT = 80;
/** …or when a caller has waited longer than this (seconds). */
const LONGEST_WAIT_MAX_SECS = 60;
/** How many queue events the ticker keeps. */
const EVENTS_KEPT = 20;

const BACKOFF_SECS = [1, 2, 4, 8, 15];
/** An attempt to connect that has not opened by then is given up and retried. */
const CONNECT_TIMEOUT_MS = 10_000;
/** The feed is silent while nothing changes: after this long, check that Lifeline answers. */
const SILENT_PROBE_MS = 60_000;
const PROBE_TIMEOUT_MS = 5_000;

const STATUS_LABELS = { available: 'available', break: 'break', logged_out: 'logged out' };
const STATE_LABELS = { idle: 'idle', ringing: 'ringing', on_call: 'on call', wrap_up: 'wrap-up', reserved: 'reserved' };
/** Short words for the queue_log event names (the names themselves are shown too). */
const EVENT_LABELS = {
  ENTERQUEUE: 'caller entered',
  CONNECT: 'answered',
  COMPLETECALLER: 'caller hung up',
  COMPLETEAGENT: 'agent hung up',
  ABANDON: 'caller left',
  EXITWITHTIMEOUT: 'timed out',
  EXITEMPTY: 'left: no agents',
  EXITWITHKEY: 'left by key',
  EXITOVERFLOW: 'overflowed',
  RINGNOANSWER: 'not answered',
  RINGCANCELED: 'ring cancelled',
  BLINDTRANSFER: 'transferred',
  ADDMEMBER: 'member added',
  REMOVEMEMBER: 'member removed',
  PAUSE: 'break',
  UNPAUSE: 'back',
  AGENTLOGIN: 'logged in',
  AGENTLOGOFF: 'logged out',
  CALLBACKREQUEST: 'callback requested',
};
/** Events a supervisor should notice in the ticker. */
const BAD_EVENTS = new Set(['ABANDON', 'EXITWITHTIMEOUT', 'EXITEMPTY', 'RINGNOANSWER']);

const S = {
  connection: 'connecting', // connecting | open | reconnecting
  retryIn: null, // seconds until the next attempt, while waiting to reconnect
  queues: [], // the last `queues` snapshot
  queuesAt: 0, // performance.now() when it arrived, for ticking
  agents: [],
  agentsAt: 0,
  events: [], // newest first, at most EVENTS_KEPT
  snapshots: 0, // snapshots received since the page loaded
};
const tiles = new Map(); // queue name -> tile element
const rows = new Map(); // agent id -> <tr>
const alerting = new Map(); // queue name -> the alert text last shown ('' when none)

// ---- formatting ----

function duration(secs) {
  const s = Math.max(0, Math.floor(secs));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0'));
  return s >= 3600 ? hms.join(':') : hms.slice(1).join(':');
}

/** Minutes and seconds, minutes unbounded (62:05): short enough for a tile. */
function minSec(secs) {
  const s = Math.max(0, Math.floor(secs));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

const count = (n) => (n == null ? '—' : String(n));
const secs = (n) => (n == null ? '—' : minSec(n));
const pct = (n) => (n == null ? '—' : `${Number(n.toFixed(1))} %`);
// Rounded down, so that a level shown as 80 % is never one that raises the alert.
const levelPct = (n) => (n == null ? '—' : `${Math.floor(n)} %`);

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
function clockTime(date) {
  return Number.isNaN(date.getTime()) ? '—' : clockFormat.format(date);
}

/** Seconds since `at` (a performance.now() stamp). */
const since = (at) => (performance.now() - at) / 1000;

// ---- queue tiles ----

const QUEUE_FIELDS = {
  waiting: count,
  service_level_pct: levelPct,
  offered: count,
  answered: count,
  abandoned: count,
  timed_out: count,
  abandon_rate_pct: pct,
  asa_secs: secs,
  aht_secs: secs,
  estimated_wait_secs: secs,
  callbacks_pending: count,
  agents_available: count,
};

function setField(root, name, text, value) {
  const node = root.querySelector(`[data-field="${name}"]`);
  if (!node) return;
  if (node.textContent !== text) node.textContent = text;
  node.dataset.value = value == null ? '' : String(value);
}

function newTile(name) {
  const tile = $('queue-tile').content.firstElementChild.cloneNode(true);
  const id = `queue-${tiles.size}-title`;
  tile.dataset.queue = name;
  tile.dataset.testid = `queue-${name}`;
  tile.setAttribute('aria-labelledby', id);
  const title = tile.querySelector('.wb-tile-name');
  title.id = id;
  title.textContent = name;
  return tile;
}

/** The longest wait now: the snapshot's value plus the time since it arrived. */
function longestWait(q) {
  const base = q.longest_wait_secs ?? 0;
  return q.waiting > 0 ? base + since(S.queuesAt) : base;
}

/** The ticking part of a tile: longest wait and the alert that depends on it. */
function tickTile(tile, q) {
  const longest = longestWait(q);
  setField(tile, 'longest_wait_secs', minSec(longest), Math.floor(longest));
  const serviceLow = q.service_level_pct != null && q.service_level_pct < SERVICE_LEVEL_MIN_PCT;
  const waitLong = longest > LONGEST_WAIT_MAX_SECS;
  tile.dataset.serviceLow = String(serviceLow);
  tile.dataset.waitLong = String(waitLong);
  const reasons = [];
  if (serviceLow) reasons.push(`Service level below ${SERVICE_LEVEL_MIN_PCT} %`);
  if (waitLong) reasons.push(`Caller waiting over ${LONGEST_WAIT_MAX_SECS} s`);
  const text = reasons.join(' · ');
  const box = tile.querySelector('[data-field="alert"]');
  if (box.textContent !== text) box.textContent = text;
  box.hidden = !text;
  tile.dataset.alert = String(Boolean(text));
  const before = alerting.get(q.name);
  if (before !== undefined && Boolean(before) !== Boolean(text)) {
    announce(text ? `Queue ${q.name} needs attention: ${text}` : `Queue ${q.name} is back to normal`);
  }
  alerting.set(q.name, text);
}

function renderQueues() {
  const box = $('queues');
  const seen = new Set();
  const ordered = S.queues.map((q) => {
    seen.add(q.name);
    let tile = tiles.get(q.name);
    if (!tile) {
      tile = newTile(q.name);
      tiles.set(q.name, tile);
    }
    for (const [field, format] of Object.entries(QUEUE_FIELDS)) setField(tile, field, format(q[field]), q[field]);
    tickTile(tile, q);
    return tile;
  });
  for (const [name, tile] of tiles) {
    if (!seen.has(name)) {
      tile.remove();
      tiles.delete(name);
      alerting.delete(name);
    }
  }
  if (!sameOrder(box.children, ordered)) box.replaceChildren(...ordered);
  if (ordered.length === 0) box.replaceChildren(emptyNote('No queues are configured.'));
  box.setAttribute('aria-busy', 'false');
}

function sameOrder(children, wanted) {
  return children.length === wanted.length && wanted.every((node, i) => children[i] === node);
}

function emptyNote(text) {
  const p = document.createElement('p');
  p.className = 'wb-empty';
  p.textContent = text;
  return p;
}

// ---- agents ----

function newRow(id) {
  const tr = document.createElement('tr');
  tr.dataset.agent = id;
  const th = document.createElement('th');
  th.scope = 'row';
  th.dataset.field = 'id';
  th.textContent = id;
  tr.append(th);
  for (const field of ['status', 'state', 'queues', 'answered', 'missed']) {
    const td = tr.insertCell();
    td.dataset.field = field;
    if (field === 'answered' || field === 'missed') td.className = 'num';
  }
  const status = tr.querySelector('[data-field="status"]');
  status.innerHTML = '<span class="wb-badge"></span> <span class="wb-reason" data-field="reason"></span>';
  const state = tr.querySelector('[data-field="state"]');
  state.innerHTML =
    '<span class="wb-state"></span> <span class="wb-state-time" data-field="state_secs"></span>' +
    ' <span class="wb-wrap-up muted" data-field="wrap_up_remaining_secs"></span>';
  return tr;
}

/**
 * The ticking part of a row: time in state and the wrap-up countdown. An agent whose
 * state never changed since Lifeline started has state_secs 0 (no time is known): no
 * time is shown then, nor for a logged-out agent.
 */
function tickRow(tr, a) {
  const away = a.status === 'logged_out' && a.state === 'idle';
  const known = !away && a.state_secs > 0;
  const inState = a.state_secs + since(S.agentsAt);
  setField(tr, 'state_secs', known ? duration(inState) : '', known ? Math.floor(inState) : null);
  const left = a.wrap_up_remaining_secs == null ? null : Math.max(0, Math.ceil(a.wrap_up_remaining_secs - since(S.agentsAt)));
  setField(tr, 'wrap_up_remaining_secs', left == null || a.state !== 'wrap_up' ? '' : `${left} s left`, left);
}

function renderAgent(tr, a) {
  const status = tr.querySelector('[data-field="status"]');
  status.dataset.value = a.status ?? '';
  status.querySelector('.wb-badge').textContent = STATUS_LABELS[a.status] ?? a.status ?? '—';
  setField(tr, 'reason', a.status === 'break' && a.reason ? a.reason : '', a.status === 'break' ? a.reason : null);
  const state = tr.querySelector('[data-field="state"]');
  state.dataset.value = a.state ?? '';
  const away = a.status === 'logged_out' && a.state === 'idle';
  state.querySelector('.wb-state').textContent = away ? '—' : STATE_LABELS[a.state] ?? a.state ?? '—';
  setField(tr, 'queues', (a.queues ?? []).join(', ') || '—', (a.queues ?? []).join(','));
  setField(tr, 'answered', count(a.answered), a.answered);
  setField(tr, 'missed', count(a.missed), a.missed);
  tr.dataset.status = a.status ?? '';
  tr.dataset.state = a.state ?? '';
  tickRow(tr, a);
}

function renderAgents() {
  const body = $('agents').tBodies[0];
  const seen = new Set();
  const ordered = S.agents.map((a) => {
    seen.add(a.id);
    let tr = rows.get(a.id);
    if (!tr) {
      tr = newRow(a.id);
      rows.set(a.id, tr);
    }
    renderAgent(tr, a);
    return tr;
  });
  for (const [id, tr] of rows) {
    if (!seen.has(id)) {
      tr.remove();
      rows.delete(id);
    }
  }
  if (!sameOrder(body.rows, ordered)) body.replaceChildren(...ordered);
}

// ---- the event ticker ----

const eventKey = (e) => JSON.stringify([e.at, e.call_id, e.queue, e.agent, e.event, e.data]);

/** Adds queue events (any order, duplicates ignored) and keeps the newest EVENTS_KEPT. */
function addEvents(list) {
  const known = new Set(S.events.map(eventKey));
  const fresh = list.filter((e) => e && !known.has(eventKey(e)) && known.add(eventKey(e)));
  if (fresh.length === 0) return;
  // newest first; `at` is RFC 3339 UTC with milliseconds, so strings sort in time order
  // and the stable sort keeps events of the same millisecond in the order they came.
  const merged = [...fresh.reverse(), ...S.events].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  S.events = merged.slice(0, EVENTS_KEPT);
  renderEvents();
}

function renderEvents() {
  const items = S.events.map((e) => {
    const li = document.createElement('li');
    li.dataset.event = e.event ?? '';
    li.dataset.queue = e.queue ?? '';
    li.dataset.agent = e.agent ?? '';
    if (BAD_EVENTS.has(e.event)) li.className = 'bad';
    const at = new Date(e.at);
    const time = document.createElement('time');
    time.dataset.field = 'at';
    time.textContent = clockTime(at);
    if (!Number.isNaN(at.getTime())) time.dateTime = at.toISOString();
    const what = document.createElement('span');
    what.className = 'wb-what';
    what.append(field('event', e.event ?? '?'));
    if (EVENT_LABELS[e.event]) what.append(' ', field(null, EVENT_LABELS[e.event], 'muted'));
    li.append(time, ' ', field('queue', e.queue ?? '—'), ' ', what, ' ', field('agent', e.agent ? `agent ${e.agent}` : ''));
    return li;
  });
  $('events').replaceChildren(...items);
  if (items.length === 0) $('events').append(emptyItem());
}

function field(name, text, className) {
  const span = document.createElement('span');
  if (name) span.dataset.field = name;
  if (className) span.className = className;
  span.textContent = text;
  return span;
}

function emptyItem() {
  const li = document.createElement('li');
  li.className = 'wb-empty';
  li.textContent = 'No queue events yet.';
  return li;
}

/** The ticker after a (re)connect: the newest events of the log, for what was missed. */
async function loadRecentEvents() {
  try {
    const res = await fetch(`/api/v1/queue_log?limit=${EVENTS_KEPT}`, {
      headers: { accept: 'application/json' },
      cache: 'no-store',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const list = await res.json();
    if (Array.isArray(list)) addEvents(list);
  } catch (err) {
    console.warn('lifeline: the recent queue events could not be read', err);
  }
}

// ---- ticking ----

function tick() {
  $('clock').textContent = clockTime(new Date());
  for (const q of S.queues) {
    const tile = tiles.get(q.name);
    if (tile) tickTile(tile, q);
  }
  for (const a of S.agents) {
    const tr = rows.get(a.id);
    if (tr) tickRow(tr, a);
  }
}

function announce(text) {
  // a change of text is what screen readers announce
  const box = $('announce');
  box.textContent = '';
  setTimeout(() => (box.textContent = text), 50);
}

// ---- the live feed ----

/**
 * The WebSocket /api/v1/events. `onMessage(msg)` gets every message; `onConnection(state,
 * detail)` gets `connecting` (the first attempt), `open`, and `reconnecting` with
 * {delay} (seconds until the next attempt, or null while an attempt is under way).
 * Closes, attempts that do not open and a server that stops answering are retried with
 * backoff 1, 2, 4 … 15 s; the backoff starts again once a message arrives.
 */
class LiveFeed {
  constructor({ onMessage, onConnection }) {
    this.onMessage = onMessage;
    this.onConnection = onConnection;
    this.ws = null;
    this.attempt = 0;
    this.everOpened = false;
    this.retryTimer = null;
    this.connectTimer = null;
    this.watchTimer = null;
    this.lastHeard = 0;
    this.probing = false;
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${location.host}/api/v1/events`;
  }

  start() {
    clearInterval(this.watchTimer);
    this.watchTimer = setInterval(() => this.watch(), 5_000);
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.onConnection(this.everOpened || this.attempt > 0 ? 'reconnecting' : 'connecting', { delay: null });
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      console.warn('lifeline: cannot open the live feed', err);
      this.retry();
      return;
    }
    this.ws = ws;
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && ws.readyState === WebSocket.CONNECTING) {
        this.drop();
        this.retry();
      }
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(this.connectTimer);
      this.lastHeard = Date.now();
      this.everOpened = true;
      this.onConnection('open');
    };
    ws.onmessage = (event) => {
      this.lastHeard = Date.now();
      this.attempt = 0;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        console.warn('lifeline: not JSON from the live feed', event.data);
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.drop();
      this.retry();
    };
  }

  drop() {
    clearTimeout(this.connectTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState <= WebSocket.OPEN) ws.close();
    }
  }

  retry() {
    const delay = BACKOFF_SECS[Math.min(this.attempt, BACKOFF_SECS.length - 1)];
    this.attempt += 1;
    this.onConnection('reconnecting', { delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay * 1000);
  }

  // The feed says nothing while nothing changes, and a dead network can leave a socket
  // that looks open for many minutes: when it has been quiet, ask Lifeline directly.
  async watch() {
    if (this.ws?.readyState !== WebSocket.OPEN || this.probing) return;
    if (Date.now() - this.lastHeard < SILENT_PROBE_MS) return;
    this.probing = true;
    const ws = this.ws;
    try {
      await fetch('/healthz', { cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      this.lastHeard = Date.now(); // any answer will do: the server is there
    } catch {
      if (this.ws === ws) {
        console.warn('lifeline: Lifeline does not answer; reconnecting the live feed');
        this.drop();
        this.retry();
      }
    } finally {
      this.probing = false;
    }
  }
}

function renderConnection() {
  const pill = $('connection');
  pill.dataset.value = S.connection;
  // Changes only with the state and at each attempt: the pill is a live region, and a
  // countdown would be read out every second.
  const text = {
    connecting: 'connecting…',
    open: 'live',
    reconnecting: S.retryIn == null ? 'reconnecting…' : `offline · retrying in ${S.retryIn} s`,
  }[S.connection];
  if (pill.textContent !== text) pill.textContent = text;
  document.body.dataset.connection = S.connection;
}

function onConnection(state, detail) {
  S.connection = state;
  S.retryIn = detail?.delay ?? null;
  renderConnection();
  $('stale').hidden = state === 'open' || S.snapshots === 0;
  if (state === 'open') loadRecentEvents();
}

function onMessage(msg) {
  switch (msg.type) {
    case 'queues':
      if (!Array.isArray(msg.queues)) return;
      S.queues = msg.queues;
      S.queuesAt = performance.now();
      S.snapshots += 1;
      renderQueues();
      break;
    case 'agents':
      if (!Array.isArray(msg.agents)) return;
      S.agents = msg.agents;
      S.agentsAt = performance.now();
      S.snapshots += 1;
      renderAgents();
      break;
    case 'queue_event':
      addEvents([msg.event]);
      break;
    default:
      console.debug('lifeline: unhandled live message', msg);
  }
}

// ---- start ----

window.lifeline = {
  /** A snapshot of what the wallboard shows, for tests and the console. */
  state: () => ({
    connection: S.connection,
    retryIn: S.retryIn,
    queues: S.queues.map((q) => ({ ...q, longest_wait_secs: longestWait(q) })),
    agents: S.agents.map((a) => ({ ...a })),
    events: S.events.map((e) => ({ ...e })),
    snapshots: S.snapshots,
  }),
};

renderEvents();
tick();
setInterval(tick, 1000);
new LiveFeed({ onMessage, onConnection }).start();
