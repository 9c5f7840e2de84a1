// softphone.mjs: drives the agent console (/agent/) in Debian's Chromium with fake media
// and prints ONE line of JSON on stdout: {"ok": true, ...} (exit 0) or
// {"ok": false, "error": "..."} (exit 1). Browser console errors go to stderr.
//
// Environment:
//   LIFELINE_HTTP   base URL of Lifeline's HTTP server, e.g. http://127.0.0.1:8080 (required)
//   AGENT_USER      agent user id, e.g. 1001 (required)
//   AGENT_PASSWORD  its password, e.g. pw1001 (required)
//   MODE            answer-and-wait (default) | decline | login
//   HOLD_MS         how long to stay on the call before reading stats (default 3000)
//   HANGUP=1        hang up from the console after HOLD_MS instead of waiting for the far end
//   TRANSFER_TO     transfer the caller there (a user id or number) after HOLD_MS
//   STATUS          the status to set after login: available (default) or break (a transfer
//                   still rings an agent on break; the queue does not)
//   RING_WAIT_MS    how long to wait for an offered call (default 60000)
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//   DEBUG=1         forward every browser console message to stderr, not only errors

import { openPage, run } from './harness.mjs';

const env = process.env;
const base = (env.LIFELINE_HTTP || '').replace(/\/+$/, '');
const mode = env.MODE || 'answer-and-wait';
const holdMs = Number(env.HOLD_MS ?? 3000);
const ringWaitMs = Number(env.RING_WAIT_MS ?? 60_000);
const STEP_MS = 15_000; // page loads, login, status, connect
const END_MS = 30_000; // the far end hanging up
const OVERALL_MS = ringWaitMs + holdMs + END_MS + 6 * STEP_MS;




const callState = (page) => page.evaluate(() => window.lifeline?.state().callState);
const waitCallState = (page, states, timeout) =>
  page.waitForFunction((wanted) => wanted.includes(window.lifeline?.state().callState), states, { timeout });

async function login(page) {
  await page.goto(`${base}/agent/`, { timeout: STEP_MS });
  await page.waitForSelector('#login-user', { state: 'visible', timeout: STEP_MS });
  await page.fill('#login-user', env.AGENT_USER);
  await page.fill('#login-password', env.AGENT_PASSWORD);
  await page.click('#login-submit');
  // the console shows, or the login form reports why not
  await page.waitForFunction(
    () => !document.getElementById('console-view').hidden || document.getElementById('login-error').textContent,
    null,
    { timeout: STEP_MS },
  );
  const loginError = await page.textContent('#login-error');
  if (loginError) throw new Error(`login: ${loginError}`);
  await page.waitForFunction(() => window.lifeline.state().connection === 'open' && window.lifeline.state().agent, null, {
    timeout: STEP_MS,
  });
  const status = env.STATUS || 'available';
  await page.selectOption('#status-select', status);
  if (status === 'break') await page.fill('#status-reason', 'test');
  await page.click('#status-apply');
  await page.waitForSelector(`#agent-status[data-value="${status}"]`, { timeout: STEP_MS });
}

async function stats(page) {
  return page.evaluate(async () => {
    const pc = window.lifeline.pc();
    if (!pc) return null;
    const report = await pc.getStats();
    let inbound = 0;
    let energy = 0;
    let outbound = 0;
    let codecId = null;
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        inbound += r.packetsReceived ?? 0;
        energy += r.totalAudioEnergy ?? 0;
        codecId ??= r.codecId;
      }
      if (r.type === 'outbound-rtp' && r.kind === 'audio') {
        outbound += r.packetsSent ?? 0;
        codecId ??= r.codecId;
      }
    });
    return { inbound, energy, outbound, codec: codecId ? report.get(codecId)?.mimeType ?? null : null };
  });
}

async function answerAndWait(page) {
  await page.waitForSelector('#incoming', { state: 'visible', timeout: ringWaitMs });
  const caller = await page.textContent('#incoming-caller');
  await page.click('#answer');
  await waitCallState(page, ['connected'], STEP_MS).catch(async () => {
    throw new Error(`the call did not connect (call state ${await callState(page)})`);
  });
  await page.waitForTimeout(holdMs);
  const s = await stats(page);
  if (!s) throw new Error('no peer connection after connecting');
  if (env.HANGUP === '1') await page.click('#hangup');
  if (env.TRANSFER_TO) {
    await page.fill('#transfer-to', env.TRANSFER_TO);
    await page.click('#transfer');
  }
  await waitCallState(page, ['ended', 'idle'], END_MS).catch(() => {
    throw new Error(`the call did not end within ${END_MS / 1000} s`);
  });
  const state = await page.evaluate(() => window.lifeline.state());
  return {
    ok: true,
    inbound_packets: s.inbound,
    inbound_energy: s.energy,
    outbound_packets: s.outbound,
    codec: s.codec,
    caller,
    states: state.callStates,
    cause: state.history[0]?.cause ?? null,
  };
}

async function declineCall(page) {
  await page.waitForSelector('#incoming', { state: 'visible', timeout: ringWaitMs });
  const caller = await page.textContent('#incoming-caller');
  await page.click('#decline');
  await waitCallState(page, ['idle'], STEP_MS);
  const state = await page.evaluate(() => window.lifeline.state());
  return { ok: true, caller, states: state.callStates };
}

async function main() {
  for (const name of ['LIFELINE_HTTP', 'AGENT_USER', 'AGENT_PASSWORD']) {
    if (!env[name]) throw new Error(`${name} is not set`);
  }
  const run = { 'answer-and-wait': answerAndWait, decline: declineCall, login: null }[mode];
  if (run === undefined) throw new Error(`unknown MODE ${mode}`);

  const { page } = await openPage(STEP_MS);

  await login(page);
  if (!run) {
    const state = await page.evaluate(() => window.lifeline.state());
    return { ok: true, agent: state.agent, states: state.callStates };
  }
  return run(page);
}

run(main, { overallMs: OVERALL_MS });
