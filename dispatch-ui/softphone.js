// softphone.js: WebRTC media for one call. The microphone, an RTCPeerConnection whose
// offer carries PCMU (and telephone-event) only, remote audio on the page's <audio>
// element, mute, local hold, DTMF and device switching. No protocol and no other DOM.

/** Keep only PCMU and telephone-event/8000 in the audio section of an SDP. */
export function onlyPcmu(sdp) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const mIndex = lines.findIndex((l) => l.startsWith('m=audio '));
  if (mIndex < 0) return sdp;
  let end = lines.findIndex((l, i) => i > mIndex && l.startsWith('m='));
  if (end < 0) end = lines.length;
  const keep = new Set();
  for (let i = mIndex + 1; i < end; i++) {
    const m = /^a=rtpmap:(\d+) ([^/]+)\/(\d+)/.exec(lines[i]);
    if (!m) continue;
    const name = m[2].toLowerCase();
    if ((name === 'pcmu' || name === 'telephone-event') && m[3] === '8000') keep.add(m[1]);
  }
  const mParts = lines[mIndex].split(' ');
  const formats = mParts.slice(3).filter((pt) => keep.has(pt) || pt === '0');
  if (!formats.includes('0')) return sdp; // no PCMU at all: leave it for the server to refuse
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (i === mIndex) {
      out.push([...mParts.slice(0, 3), ...formats].join(' '));
      continue;
    }
    if (i > mIndex && i < end) {
      const m = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)\s/.exec(lines[i]);
      if (m && !formats.includes(m[1])) continue;
    }
    out.push(lines[i]);
  }
  return out.join(eol);
}

function preferPcmu(transceiver) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver?.getCapabilities) return false;
  const codecs = RTCRtpReceiver.getCapabilities('audio').codecs.filter((c) => {
    const mime = c.mimeType.toLowerCase();
    return (mime === 'audio/pcmu' || mime === 'audio/telephone-event') && c.clockRate === 8000;
  });
  if (!codecs.some((c) => c.mimeType.toLowerCase() === 'audio/pcmu')) return false;
  try {
    transceiver.setCodecPreferences(codecs);
    return true;
  } catch (err) {
    console.warn('lifeline: setCodecPreferences failed, falling back to SDP filtering', err);
    return false;
  }
}

async function microphone(inputId) {
  if (inputId) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: inputId } } });
    } catch (err) {
      if (err.name !== 'OverconstrainedError' && err.name !== 'NotFoundError') throw err;
      console.warn('lifeline: chosen microphone is gone, using the default one');
    }
  }
  return navigator.mediaDevices.getUserMedia({ audio: true });
}

/** One call's media. `onState(connectionState)` follows the peer connection. */
export class Call {
  constructor({ audioEl, inputId, outputId, iceServers = [], onState = () => {} }) {
    this.audioEl = audioEl;
    this.inputId = inputId;
    this.outputId = outputId;
    this.onState = onState;
    this.muted = false;
    this.held = false;
    this.stream = null;
    this.sender = null;
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc.onconnectionstatechange = () => this.onState(this.pc.connectionState);
    this.pc.ontrack = (event) => {
      this.audioEl.srcObject = event.streams[0] || new MediaStream([event.track]);
      this.setOutput(this.outputId);
      this.audioEl.play().catch(() => {}); // autoplay may wait for a gesture; the call still flows
    };
  }

  /** Open the microphone and make the SDP offer to send with `accept`. */
  async offer() {
    this.stream = await microphone(this.inputId);
    const track = this.stream.getAudioTracks()[0];
    const transceiver = this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [this.stream] });
    this.sender = transceiver.sender;
    preferPcmu(transceiver);
    const offer = await this.pc.createOffer();
    // Filtering again is a no-op when setCodecPreferences worked and the fallback otherwise.
    await this.pc.setLocalDescription({ type: 'offer', sdp: onlyPcmu(offer.sdp) });
    return this.pc.localDescription.sdp;
  }

  async setAnswer(sdp) {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  applyTrackEnabled() {
    for (const t of this.stream?.getAudioTracks() ?? []) t.enabled = !this.muted && !this.held;
  }

  setMuted(on) {
    this.muted = on;
    this.applyTrackEnabled();
  }

  setHeld(on) {
    this.held = on;
    this.applyTrackEnabled();
    this.audioEl.muted = on;
  }

  /** Send one DTMF key as RFC 4733 events; false when the call cannot carry them. */
  sendDtmf(key) {
    const dtmf = this.sender?.dtmf;
    if (!dtmf || !dtmf.canInsertDTMF) return false;
    dtmf.insertTones(key, 120, 70);
    return true;
  }

  async setOutput(deviceId) {
    this.outputId = deviceId;
    if (typeof this.audioEl.setSinkId !== 'function') return;
    try {
      await this.audioEl.setSinkId(deviceId || '');
    } catch (err) {
      console.warn('lifeline: cannot use that speaker', err);
    }
  }

  async setInput(deviceId) {
    this.inputId = deviceId;
    if (!this.sender) return;
    const stream = await microphone(deviceId);
    const old = this.stream;
    await this.sender.replaceTrack(stream.getAudioTracks()[0]);
    this.stream = stream;
    this.applyTrackEnabled();
    for (const t of old?.getTracks() ?? []) t.stop();
  }

  close() {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.pc.onconnectionstatechange = null;
    this.pc.ontrack = null;
    this.pc.close();
    this.audioEl.srcObject = null;
    this.audioEl.muted = false;
  }
}
