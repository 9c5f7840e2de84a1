// devices.js: the microphone and speaker choosers. Fills the two <select>s from
// enumerateDevices, remembers the choice in localStorage and reports changes.

const KEYS = { audioinput: 'lifeline.mic', audiooutput: 'lifeline.speaker' };

export class DeviceChooser {
  /** `onChange(kind, deviceId)` with kind `audioinput` or `audiooutput`. */
  constructor({ micSelect, speakerSelect, onChange }) {
    this.selects = { audioinput: micSelect, audiooutput: speakerSelect };
    for (const [kind, select] of Object.entries(this.selects)) {
      select.addEventListener('change', () => {
        localStorage.setItem(KEYS[kind], select.value);
        onChange(kind, select.value);
      });
    }
    if (typeof HTMLMediaElement.prototype.setSinkId !== 'function') {
      speakerSelect.disabled = true;
      speakerSelect.title = 'This browser cannot choose the speaker';
    }
    navigator.mediaDevices?.addEventListener?.('devicechange', () => this.refresh());
  }

  get input() {
    return this.selects.audioinput.value;
  }

  get output() {
    return this.selects.audiooutput.value;
  }

  /** Re-read the devices (labels appear once the microphone has been allowed). */
  async refresh() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [kind, select] of Object.entries(this.selects)) {
      const wanted = select.value || localStorage.getItem(KEYS[kind]) || '';
      const options = [new Option('Default', '')];
      let n = 0;
      for (const d of devices) {
        if (d.kind !== kind || d.deviceId === 'default' || !d.deviceId) continue;
        n += 1;
        const fallback = kind === 'audioinput' ? `Microphone ${n}` : `Speaker ${n}`;
        options.push(new Option(d.label || fallback, d.deviceId));
      }
      select.replaceChildren(...options);
      select.value = options.some((o) => o.value === wanted) ? wanted : '';
    }
  }
}
