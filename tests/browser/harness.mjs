// harness.mjs: what every browser test script shares: launching Debian's Chromium with
// the flags verified on these machines (fake media devices, loopback ICE), forwarding the
// page's errors to stderr, a watchdog, and the one-line JSON verdict on stdout (exit 0
// for {"ok": true}, 1 otherwise) with the browser closed and its profile removed.

import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

let context = null;
let profile = null;
let done = false;
let cleanup = null;

/** Prints `result` as the verdict, closes the browser and exits (once). */
export async function finish(result) {
  if (done) return;
  done = true;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  try {
    await Promise.race([context?.close(), new Promise((r) => setTimeout(r, 5000))]);
  } catch {
    // the browser is gone already
  }
  if (profile) await rm(profile, { recursive: true, force: true }).catch(() => {});
  if (cleanup) await cleanup().catch(() => {});
  process.exit(result.ok ? 0 : 1);
}

/**
 * Runs `main` (which returns the verdict) under a watchdog of `overallMs`; `onExit` runs
 * after the browser is closed (e.g. an API logout).
 */
export function run(main, { overallMs, onExit = null }) {
  cleanup = onExit;
  setTimeout(() => finish({ ok: false, error: `gave up after ${overallMs / 1000} s` }), overallMs).unref();
  main().then(finish, (err) => finish({ ok: false, error: String(err?.message ?? err).split('\n')[0] }));
}

/**
 * A page in a fresh headless Chromium. Console errors (everything with DEBUG=1) and
 * uncaught exceptions go to stderr and into the returned `errors` / `exceptions`.
 */
export async function openPage(stepMs) {
  const env = process.env;
  profile = await mkdtemp(join(tmpdir(), 'lifeline-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    timeout: stepMs * 2,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const exceptions = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
    if (msg.type() === 'error' || env.DEBUG === '1') process.stderr.write(`browser ${msg.type()}: ${msg.text()}\n`);
  });
  page.on('pageerror', (err) => {
    exceptions.push(err.message);
    process.stderr.write(`browser exception: ${err.message}\n`);
  });
  page.on('crash', () => finish({ ok: false, error: 'the page crashed' }));
  return { page, errors, exceptions };
}
