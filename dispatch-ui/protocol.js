// protocol.js: Lifeline's wire for the agent console. The login API (/api/v1/login,
// /api/v1/me, /api/v1/logout) and the agent WebSocket (/api/v1/agent/ws) with keep-alive
// and reconnect with backoff. No DOM here; see docs/softphone.md for the contract.

let token = null;

/** Remember the session token from login (sent as Bearer and as ?token= on the socket). */
export function setToken(value) {
  token = value || null;
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    // an empty or non-JSON body
  }
  if (!res.ok) {
    const err = new Error(data?.error || `${res.status} ${res.statusText}`.trim());
    err.status = res.status;
    throw err;
  }
  return data;
}

export const login = (user, password) => api('POST', '/api/v1/login', { user, password });
export const me = () => api('GET', '/api/v1/me');
export const logout = () => api('POST', '/api/v1/logout');
export const setStatusHttp = (id, status, reason) =>
  api('POST', `/api/v1/agents/${encodeURIComponent(id)}/status`, { status, reason });

const BACKOFF_SECS = [1, 2, 4, 8, 15];
const PING_EVERY_MS = 20_000;
const SILENT_LIMIT_MS = 50_000;

function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}://${location.host}/api/v1/agent/ws${query}`;
}

/**
 * The agent WebSocket. `onMessage(msg)` gets every server message; `onConnection(state,
 * detail)` gets `connecting`, `open`, `reconnecting` ({delay} in seconds), `replaced`,
 * `unauthorized` or `stopped`. Unexpected closes are retried with backoff 1, 2, 4 … 15 s;
 * `replaced` and a session the server no longer knows stop the retries.
 */
export class AgentSocket {
  constructor({ onMessage, onConnection }) {
    this.onMessage = onMessage;
    this.onConnection = onConnection;
    this.ws = null;
    this.attempt = 0;
    this.running = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
  }

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start() {
    this.running = true;
    this.attempt = 0;
    this.connect();
  }

  stop(state = 'stopped') {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.drop();
    this.onConnection(state);
  }

  send(msg) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  connect() {
    if (!this.running) return;
    this.onConnection('connecting');
    const ws = new WebSocket(socketUrl());
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      this.onConnection('open');
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.keepAlive(), PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      this.lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        console.warn('lifeline: not JSON from the server', event.data);
        return;
      }
      if (msg.type === 'pong') return;
      if (msg.type === 'welcome') this.attempt = 0;
      if (msg.type === 'replaced') {
        this.stop('replaced');
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

  keepAlive() {
    if (Date.now() - this.lastHeard > SILENT_LIMIT_MS) {
      // the connection is dead without a close: do not wait for the closing handshake
      this.drop();
      this.retry();
      return;
    }
    this.send({ type: 'ping' });
  }

  drop() {
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState <= WebSocket.OPEN) ws.close();
    }
  }

  retry() {
    if (!this.running) return;
    const delay = BACKOFF_SECS[Math.min(this.attempt, BACKOFF_SECS.length - 1)];
    this.attempt += 1;
    this.onConnection('reconnecting', { delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.checkSessionAndConnect(), delay * 1000);
  }

  // A refused upgrade looks like any other close, so ask /me whether the session is alive.
  async checkSessionAndConnect() {
    if (!this.running) return;
    try {
      await me();
    } catch (err) {
      if (err.status === 401) {
        this.stop('unauthorized');
        return;
      }
      // the server is down or restarting: keep trying
    }
    this.connect();
  }
}
