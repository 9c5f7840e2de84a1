// agent.js: the agent console. Sign-in and session, the status control, the offered call
// and its life (idle → ringing → connecting → connected → ended), in-call controls,
// this session's call history and the connection banner. Media lives in softphone.js,
// the wire in protocol.js, the ring tone in ringer.js, device choice in devices.js.

import * as api from './protocol.js';
import { AgentSocket } from './protocol.js';
import { Call } from './softphone.js';
import { Ringer, unlockAudio } from './ringer.js';
import { DeviceChooser } from './devices.js';

const $ = (id) => document.getElementById(id);

const STATUS_LABELS = { available: 'available', break: 'break', logged_out: 'logged out' };
const STATE_LABELS = { idle: 'idle', ringing: 'ringing', on_call: 'on call', wrap_up: 'wrap-up', reserved: 'reserved' };
const CANCEL_CAUSES = { timeout: 'not answered (ring timeout)', caller_left: 'caller left', taken: 'taken by another agent' };
const TITLE = document.title;

const S = {
  user: null,
  agent: null,
  agentAt: 0, // when S.agent arrived, for the wrap-up countdown
  iceServers: [],
  connection: 'offline',
  call: null, // the offer being rung, or the call in progress
  callState: 'idle', // idle | ringing | connecting | connected | ended
  callStates: ['idle'],
  history: [],
  pendingHold: null,
  lastRequest: null, // the type of the last message sent, to match an `error` to it
};
let lastPc = null;
let messageTimer = null;
const ringer = new Ringer();
const socket = new AgentSocket({ onMessage, onConnection });
let devices = null;

// ---- small helpers ----

function duration(secs) {
  const s = Math.max(0, Math.floor(secs));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0'));
  return s >= 3600 ? hms.join(':') : hms.slice(1).join(':');
}

function ivrText(path) {
  if (!Array.isArray(path) || path.length === 0) return '—';
  return path
    .map((step) => {
      if (typeof step === 'string') return step;
      let text = step.node ?? '?';
      if (step.digits) text += ` (${step.digits})`;
      if (step.result) text += ` = ${step.result}`;
      return text;
    })
    .join(' → ');
}

function notify(text, kind = 'error') {
  const box = $('message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => (box.hidden = true), kind === 'error' ? 15_000 : 6_000);
}

function setLabel(node, value, labels) {
  node.textContent = value == null ? '—' : labels[value] ?? value;
  node.dataset.value = value ?? '';
}

/** Send a console message; false when the socket is not open. */
function request(msg) {
  const sent = socket.send(msg);
  if (sent) S.lastRequest = msg.type;
  return sent;
}

// ---- rendering ----

function setCallState(state) {
  S.callState = state;
  if (S.callStates[S.callStates.length - 1] !== state) S.callStates.push(state);
  $('call-state').textContent = state;
  $('call-state').dataset.value = state;
  renderCall();
}

function renderAgent() {
  const a = S.agent;
  setLabel($('agent-status'), a?.status, STATUS_LABELS);
  $('agent-reason').textContent = a?.status === 'break' && a.reason ? `(${a.reason})` : '';
  setLabel($('agent-state'), a?.state, STATE_LABELS);
  $('agent-counts').textContent = a ? `${a.answered ?? 0} / ${a.missed ?? 0}` : '—';
  renderCountdown();
  renderCall();
}

function renderCountdown() {
  const a = S.agent;
  const node = $('wrap-up-countdown');
  if (a?.state !== 'wrap_up' || a.wrap_up_remaining_secs == null) {
    node.textContent = '';
    return;
  }
  const left = Math.max(0, Math.ceil(a.wrap_up_remaining_secs - (Date.now() - S.agentAt) / 1000));
  node.textContent = `${left} s left`;
}

function renderCall() {
  const { call, callState: cs } = S;
  const live = cs === 'connecting' || cs === 'connected';
  const ringing = cs === 'ringing';
  $('incoming').hidden = !ringing;
  if (ringing) {
    $('incoming-caller').textContent = call.caller || 'unknown';
    $('incoming-queue').textContent = call.queue || '—';
    $('incoming-ivr').textContent = ivrText(call.ivrPath);
  }
  $('hangup').disabled = !(live || S.agent?.state === 'on_call') || Boolean(call?.hangingUp);
  $('mute').disabled = !live;
  $('hold').disabled = cs !== 'connected';
  for (const b of $('keypad').querySelectorAll('button')) b.disabled = cs !== 'connected';
  $('transfer-to').disabled = $('transfer').disabled = cs !== 'connected';
  const muted = Boolean(call?.media?.muted);
  const held = Boolean(call?.media?.held);
  $('mute').setAttribute('aria-pressed', String(muted));
  $('mute').textContent = muted ? 'Unmute' : 'Mute';
  $('hold').setAttribute('aria-pressed', String(held));
  $('hold').textContent = held ? 'Resume' : 'Hold';
  if (call) $('call-peer').textContent = call.queue ? `${call.caller} (${call.queue})` : call.caller;
  document.title = ringing ? `Incoming call · ${TITLE}` : TITLE;
  document.body.dataset.callState = cs;
}

function renderHistory() {
  const rows = S.history.map((h) => {
    const tr = document.createElement('tr');
    const cells = [
      h.caller,
      h.queue || '—',
      new Date(h.start).toLocaleTimeString(),
      h.durationSecs == null ? '—' : duration(h.durationSecs),
      h.cause || '—',
    ];
    for (const text of cells) tr.insertCell().textContent = text;
    return tr;
  });
  $('history').tBodies[0].replaceChildren(...rows);
}

function tick() {
  const { call, callState: cs } = S;
  if (cs === 'ringing') $('incoming-wait').textContent = duration(call.waitedSecs + (Date.now() - call.offeredAt) / 1000);
  if (cs === 'connected') $('call-timer').textContent = duration((Date.now() - call.connectedAt) / 1000);
  renderCountdown();
}

// ---- the connection ----

function onConnection(state, detail) {
  S.connection = state;
  const pill = $('connection');
  const text = {
    connecting: 'connecting…',
    open: 'online',
    reconnecting: `reconnecting (retry in ${detail?.delay} s)`,
    replaced: 'opened elsewhere',
    unauthorized: 'signed out',
    stopped: '',
  }[state];
  pill.textContent = text;
  pill.dataset.value = state;
  pill.hidden = !text;
  $('reconnect').hidden = state !== 'replaced';
  if (state === 'replaced') {
    notify('This console was opened in another window; this one no longer gets calls.');
    if (S.callState === 'ringing') finish('opened elsewhere');
  } else if (state === 'unauthorized') {
    endSession('Your session has ended; please sign in again.');
  }
}

function onMessage(msg) {
  const current = S.call && msg.offer != null && msg.offer === S.call.offer;
  switch (msg.type) {
    case 'welcome':
      // the server lists URLs; RTCPeerConnection wants {urls}
      S.iceServers = (msg.ice_servers || []).map((s) => (typeof s === 'string' ? { urls: s } : s));
      setAgent(msg.agent);
      resync();
      break;
    case 'agent':
      setAgent(msg.agent);
      break;
    case 'incoming':
      ring(msg);
      break;
    case 'cancelled':
      if (current) finish(CANCEL_CAUSES[msg.reason] || msg.reason || 'cancelled');
      break;
    case 'answer':
      if (current && S.call.media) {
        S.call.media.setAnswer(msg.sdp).catch((err) => {
          notify(`The call's media could not be set up: ${err.message}`);
          request({ type: 'hangup' });
        });
      }
      break;
    case 'connected':
      if (current) {
        S.call.connectedAt = Date.now();
        setCallState('connected');
        tick();
      }
      break;
    case 'ended':
      if (current) finish(msg.cause);
      break;
    case 'error':
      onError(msg);
      break;
    default:
      console.debug('lifeline: unhandled message', msg);
  }
}

function setAgent(agent) {
  if (!agent) return;
  const statusChanged = agent.status !== S.agent?.status || agent.reason !== S.agent?.reason;
  S.agent = agent;
  S.agentAt = Date.now();
  if (statusChanged) {
    $('status-select').value = agent.status;
    $('status-reason').value = agent.status === 'break' ? agent.reason ?? '' : '';
    reasonEnabled();
  }
  renderAgent();
}

// After a reconnect the server's view wins: drop what it no longer has.
function resync() {
  const state = S.agent?.state;
  if (S.callState === 'ringing' && state !== 'ringing') finish('offer withdrawn while reconnecting');
  else if (S.call && S.callState !== 'ringing' && state !== 'on_call' && state !== 'ringing') {
    finish('ended while reconnecting');
  }
}

function onError(msg) {
  const hold = S.pendingHold;
  if (hold && S.lastRequest === 'hold' && S.call?.media) {
    clearTimeout(hold.timer);
    S.pendingHold = null;
    S.call.media.setHeld(hold.previous);
    renderCall();
    notify(`Hold: ${msg.message}`);
    return;
  }
  notify(msg.message || 'Lifeline refused the request');
  if (S.call && msg.offer === S.call.offer && S.callState === 'connecting') finish(`error: ${msg.message}`);
}

// ---- the call ----

function ring(msg) {
  if (S.call && S.callState !== 'ringing') {
    console.warn('lifeline: an offer arrived during a call', msg);
    return;
  }
  S.call = {
    offer: msg.offer,
    caller: msg.caller || 'unknown',
    queue: msg.queue || null,
    waitedSecs: msg.waited_secs || 0,
    ivrPath: msg.ivr_path || null,
    callId: msg.call_id || null,
    offeredAt: Date.now(),
    connectedAt: null,
    media: null,
    hangingUp: false,
  };
  $('call-timer').textContent = '00:00';
  setCallState('ringing');
  tick();
  ringer.start();
  // take the focus unless the agent is typing somewhere
  if (!document.activeElement?.matches('input, select, textarea')) $('answer').focus();
}

async function answer() {
  const call = S.call;
  if (!call || S.callState !== 'ringing') return;
  unlockAudio();
  ringer.stop();
  setCallState('connecting');
  try {
    call.media = new Call({
      audioEl: $('remote-audio'),
      inputId: devices.input,
      outputId: devices.output,
      iceServers: S.iceServers,
      onState: (state) => {
        if (state === 'failed' && S.call === call) notify('The audio connection failed.');
      },
    });
    const sdp = await call.media.offer();
    if (S.call !== call) return; // cancelled meanwhile
    if (!request({ type: 'accept', offer: call.offer, sdp })) throw new Error('not connected to Lifeline');
    devices.refresh().catch(() => {}); // device labels are readable now
  } catch (err) {
    if (S.call !== call) return;
    call.media?.close();
    call.media = null;
    notify(`Cannot answer: ${err.message}`);
    setCallState('ringing');
    ringer.start();
  }
}

function decline() {
  if (S.callState !== 'ringing') return;
  request({ type: 'decline', offer: S.call.offer });
  finish('declined');
}

function hangup() {
  const call = S.call;
  const sent = request({ type: 'hangup' });
  if (!call) return;
  if (!sent) {
    notify('Not connected to Lifeline: the call was dropped here only.');
    finish('hung up (offline)');
    return;
  }
  call.hangingUp = true;
  renderCall();
  call.hangupTimer = setTimeout(() => S.call === call && finish('hung up'), 3000);
}

/** The offer or call is over: stop ringing and media, log it, show idle or ended. */
function finish(cause) {
  const call = S.call;
  if (!call) return;
  ringer.stop();
  clearTimeout(call.hangupTimer);
  clearTimeout(S.pendingHold?.timer);
  S.pendingHold = null;
  if (call.media) {
    lastPc = call.media.pc;
    call.media.close();
  }
  const answered = call.media !== null;
  S.history.unshift({
    caller: call.caller,
    queue: call.queue,
    callId: call.callId,
    start: call.connectedAt ?? call.offeredAt,
    durationSecs: call.connectedAt ? (Date.now() - call.connectedAt) / 1000 : null,
    cause,
  });
  if (call.connectedAt) $('call-timer').textContent = duration(S.history[0].durationSecs);
  S.call = null;
  renderHistory();
  setCallState(answered ? 'ended' : 'idle');
}

function toggleMute() {
  const media = S.call?.media;
  if (!media) return;
  media.setMuted(!media.muted);
  renderCall();
}

function toggleHold() {
  const media = S.call?.media;
  if (!media || S.callState !== 'connected') return;
  const on = !media.held;
  if (!request({ type: 'hold', on })) return notify('Not connected to Lifeline.');
  clearTimeout(S.pendingHold?.timer);
  // No confirmation exists: an error within a few seconds means the server refused it.
  S.pendingHold = { previous: media.held, timer: setTimeout(() => (S.pendingHold = null), 3000) };
  media.setHeld(on);
  renderCall();
}

function pressKey(key) {
  if (S.callState !== 'connected') return;
  if (!S.call.media.sendDtmf(key)) return notify('This call cannot send keypad tones.');
  const shown = $('dtmf-sent');
  shown.textContent = `Sent: ${(shown.dataset.keys = (shown.dataset.keys || '') + key)}`;
}

function transfer(event) {
  event.preventDefault();
  const to = $('transfer-to').value.trim();
  if (!to || S.callState !== 'connected') return;
  if (!request({ type: 'transfer', to })) return notify('Not connected to Lifeline.');
  notify(`Transferring to ${to}…`, 'info');
  $('transfer-to').value = '';
}

// ---- status ----

function reasonEnabled() {
  $('status-reason').disabled = $('status-select').value !== 'break';
}

function applyStatus(event) {
  event.preventDefault();
  const status = $('status-select').value;
  const reason = status === 'break' ? $('status-reason').value.trim() || undefined : undefined;
  if (request({ type: 'status', status, reason })) return;
  api
    .setStatusHttp(S.user.id, status, reason)
    .then(setAgent)
    .catch((err) => notify(`Cannot change status: ${err.message}`));
}

// ---- session ----

function startConsole(user) {
  S.user = user;
  $('whoami').textContent = user.display_name ? `${user.display_name} (${user.id})` : user.id;
  $('login-view').hidden = true;
  $('console-view').hidden = false;
  $('logout').hidden = false;
  socket.start();
  devices.refresh().catch(() => {});
}

function endSession(reason) {
  socket.running && socket.stop();
  if (S.call) finish('signed out');
  api.setToken(null);
  Object.assign(S, { user: null, agent: null });
  renderAgent();
  $('console-view').hidden = true;
  $('logout').hidden = true;
  $('whoami').textContent = '';
  $('login-view').hidden = false;
  $('login-error').textContent = reason || '';
  $('login-user').focus();
}

async function onLogin(event) {
  event.preventDefault();
  unlockAudio();
  const submit = $('login-submit');
  submit.disabled = true;
  $('login-error').textContent = '';
  try {
    const res = await api.login($('login-user').value.trim(), $('login-password').value);
    api.setToken(res.token);
    $('login-password').value = '';
    startConsole(res.user);
  } catch (err) {
    $('login-error').textContent = err.status === 401 ? 'Wrong user or password.' : `Cannot sign in: ${err.message}`;
  } finally {
    submit.disabled = false;
  }
}

async function onLogout() {
  if (S.call && S.callState !== 'ringing' && !confirm('A call is in progress. Log out anyway?')) return;
  socket.stop();
  try {
    await api.logout();
  } catch (err) {
    if (err.status !== 401) notify(`Logout: ${err.message}`);
  }
  endSession('');
}

async function boot() {
  devices = new DeviceChooser({
    micSelect: $('mic-select'),
    speakerSelect: $('speaker-select'),
    onChange: (kind, id) => {
      const media = S.call?.media;
      if (!media) return;
      const done = kind === 'audioinput' ? media.setInput(id) : media.setOutput(id);
      done.catch((err) => notify(`Cannot switch device: ${err.message}`));
    },
  });
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('reconnect').addEventListener('click', () => socket.start());
  $('status-select').addEventListener('change', reasonEnabled);
  $('status-form').addEventListener('submit', applyStatus);
  $('answer').addEventListener('click', answer);
  $('decline').addEventListener('click', decline);
  $('hangup').addEventListener('click', hangup);
  $('mute').addEventListener('click', toggleMute);
  $('hold').addEventListener('click', toggleHold);
  $('transfer-form').addEventListener('submit', transfer);
  $('keypad').addEventListener('click', (e) => e.target.dataset?.key && pressKey(e.target.dataset.key));
  $('message').addEventListener('click', () => ($('message').hidden = true));
  for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, unlockAudio, { once: true });
  setInterval(tick, 1000);
  renderAgent();

  try {
    const data = await api.me();
    startConsole(data.user ?? data);
  } catch (err) {
    endSession(err.status === 401 ? '' : `Lifeline is not reachable (${err.message}).`);
  }
}

window.lifeline = {
  pc: () => S.call?.media?.pc ?? null,
  lastPc: () => S.call?.media?.pc ?? lastPc,
  state: () => ({
    user: S.user,
    connection: S.connection,
    agent: S.agent,
    callState: S.callState,
    callStates: [...S.callStates],
    call: S.call && {
      offer: S.call.offer,
      caller: S.call.caller,
      queue: S.call.queue,
      callId: S.call.callId,
      muted: Boolean(S.call.media?.muted),
      held: Boolean(S.call.media?.held),
    },
    history: S.history.map((h) => ({ ...h })),
  }),
};

boot();
