// ringer.js: the ring tone, made with WebAudio oscillators (no audio files): a 400+450 Hz
// double ring (0.4 s on, 0.2 s off, 0.4 s on, 2 s off), repeated until stopped.

const CYCLE_SECS = 3;
let ctx = null;

/** Create or resume the AudioContext; call from a user gesture (browsers require one). */
export function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  ctx ??= new Ctx();
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
}

export class Ringer {
  constructor() {
    this.nodes = null;
    this.timer = null;
  }

  get ringing() {
    return this.nodes !== null;
  }

  start() {
    if (this.nodes) return;
    unlockAudio();
    if (!ctx) return;
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(ctx.destination);
    const oscillators = [400, 450].map((freq) => {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start();
      return osc;
    });
    this.nodes = { gain, oscillators };
    let next = ctx.currentTime + 0.05;
    const schedule = () => {
      const g = gain.gain;
      for (const [on, off] of [[0, 0.4], [0.6, 1.0]]) {
        g.setValueAtTime(0.12, next + on);
        g.setValueAtTime(0, next + off);
      }
      next += CYCLE_SECS;
    };
    schedule();
    schedule(); // stay one cycle ahead of the timer
    this.timer = setInterval(schedule, CYCLE_SECS * 1000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (!this.nodes) return;
    for (const osc of this.nodes.oscillators) osc.stop();
    this.nodes.gain.disconnect();
    this.nodes = null;
  }
}
