//! Calls Lifeline answers itself (hotline, IVR, emergency numbers): the caller's media
//! session, the IVR that drives it, the recording and voice messages.
//!
//! ```text
//! answer ─► media task (session.rs) ─► Digit / PlaybackDone / VoicemailDone ─┐
//!   │                                                                         ▼
//!   └─► Ivr::start ─► IvrAction ─► play prompts, stop, queue (music on hold), query
//!                        ▲          (database, answered by Command::IvrQueryResult),
//!                        └──────── record a voice message, hang up
//! ```
//! The IVR is pure (`ivr/`); this module is the glue that turns its actions into media
//! commands and database lookups, and feeds what happens back into it. Until the ACD
//! arrives, a caller sent to a queue waits with music on hold.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lifeline_config::{Config, Route};
use lifeline_media::session::PlayItem;
use lifeline_sip::SipMessage;
use lifeline_sip::sdp::Negotiated;
use lifeline_store::{NewVoicemail, Timestamp};

use crate::calls::{CallTimer, Cause};
use crate::core::{Command, Core};
use crate::ivr::{Ivr, IvrAction, IvrInput};
use crate::records::EndExtras;
use crate::session::{self, MediaCmd, SessionHandle, Storage};

/// Tries at listing a voice message before giving up (backing off up to 8 s apart).
const VOICEMAIL_ATTEMPTS: u32 = 8;
/// The prompt callers in a queue hear when the queue names none.
const DEFAULT_MOH: &str = "music-on-hold";
/// The queue priority of emergency calls: above every hotline caller.
pub(crate) const EMERGENCY_PRIORITY: u8 = 255;

/// Lifeline's side of a call it answers.
#[derive(Debug, Default)]
pub struct Answered {
    /// The number dialled.
    dialled: String,
    session: Option<SessionHandle>,
    ivr: Option<Box<Ivr>>,
    /// Tag of the play whose end the IVR waits for.
    play_token: u64,
    /// The call recording, relative to the data directory.
    recording: Option<String>,
    /// A voice message is being recorded.
    in_voicemail: bool,
    /// The flow or queue asks for the call to be recorded.
    record: bool,
    /// The call's time in the ACD, once it joined a queue.
    pub(crate) queued: Option<crate::queueing::QueueVisit>,
    /// Play this prompt, then hang up with this cause (a feature code, a callback
    /// request).
    pub(crate) confirm: Option<(&'static str, Cause)>,
    /// The post-call survey, once it has started.
    pub(crate) survey: Option<crate::survey::Survey>,
    /// The caller's rating from the survey.
    pub(crate) satisfaction: Option<u8>,
    /// A voice message the queue takes after its timeout.
    pub(crate) queue_voicemail: Option<crate::leaving::QueueVoicemail>,
}

impl Answered {
    /// The plan for a call to `dialled`.
    pub fn for_number(config: &Config, dialled: &str) -> Answered {
        let route = config.find_number(dialled).map(|n| &n.route);
        let flow = match route {
            Some(Route::Ivr { flow }) => config.find_flow(flow).cloned(),
            _ => None,
        };
        let record = match route {
            Some(Route::Ivr { .. }) => flow.as_ref().is_none_or(|f| f.record),
            Some(Route::Queue { queue } | Route::Emergency { queue }) => {
                config.find_queue(queue).is_none_or(|q| q.record)
            }
            None => true,
        };
        Answered {
            dialled: dialled.to_owned(),
            record,
            ..Answered::default()
        }
    }

    /// A feature-code call to `dialled`: Lifeline plays `prompt` and hangs up.
    pub fn confirmation(dialled: &str, prompt: &'static str) -> Answered {
        Answered {
            dialled: dialled.to_owned(),
            confirm: Some((prompt, Cause::FeatureDone)),
            ..Answered::default()
        }
    }

    /// The caller's path through the IVR so far, as stored with the call record.
    pub fn ivr_path(&self) -> Option<serde_json::Value> {
        self.ivr
            .as_ref()
            .and_then(|i| serde_json::to_value(i.path()).ok())
    }

    /// The number dialled.
    pub fn dialled(&self) -> &str {
        &self.dialled
    }

    /// Points the caller's media (or, with `caller` false, the connected party's) at a
    /// new address (a re-INVITE).
    pub fn move_media(&self, caller: bool, to: std::net::SocketAddr) {
        if let Some(s) = &self.session {
            s.send(if caller {
                MediaCmd::SetRemote(to)
            } else {
                MediaCmd::SetLegRemote(to)
            });
        }
    }

    /// What the call record keeps of it.
    pub fn into_extras(self) -> EndExtras {
        EndExtras {
            ivr_path: self.ivr_path(),
            recording: self.recording,
            queued: self.queued.as_ref().map(|v| v.outcome()),
            satisfaction: self.satisfaction,
        }
    }
}

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A file name part that is safe whatever the Call-ID holds.
fn file_safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect()
}

/// `YYYY-MM-DD` of a timestamp, for dated folders.
fn day(now: SystemTime) -> String {
    Timestamp::from_system_time(now)
        .to_string()
        .chars()
        .take(10)
        .collect()
}

impl Core {
    /// Starts the media session of an answered call and, for an IVR number, its IVR.
    pub(crate) fn start_answered(&mut self, now: Instant, id: u64, negotiated: &Negotiated) {
        let data_dir = self.settings.data_dir.clone();
        let inactivity = self.settings.rtp_timeout;
        let events = self.media_events.clone();
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(sock) = c.a_socket.take() else {
            return;
        };
        let call_id = c.a_invite.call_id().unwrap_or("").to_owned();
        let recording = c.answered.record.then(|| {
            format!(
                "recordings/{}/{}-{id}.wav",
                day(SystemTime::now()),
                file_safe(&call_id)
            )
        });
        let config =
            crate::calls::session_config(negotiated, inactivity, true, recording.is_some());
        let storage = Storage {
            data_dir,
            recording: recording.clone(),
        };
        c.answered.recording = recording;
        c.answered.session = Some(session::start(id, sock, config, storage, events));
        if let Some((prompt, cause)) = c.answered.confirm {
            return self.confirm_and_hang_up(id, prompt, cause);
        }
        let dialled = c.answered.dialled.clone();
        if !self.route_to(now, id, &dialled) {
            self.hold(id, None);
        }
    }

    /// Sends an answered caller where `number` leads: its IVR flow (continuing the
    /// path so far, for a transfer) or its queue. False if `number` is not configured.
    pub(crate) fn route_to(&mut self, now: Instant, id: u64, number: &str) -> bool {
        let Some(route) = self.config.find_number(number).map(|n| n.route.clone()) else {
            return false;
        };
        match route {
            Route::Ivr { flow } => {
                let Some(flow) = self.config.find_flow(&flow).cloned() else {
                    return false;
                };
                let Some(c) = self.calls.get_mut(&id) else {
                    return true;
                };
                match c.answered.ivr.as_mut() {
                    Some(ivr) => ivr.switch_flow(flow, unix_secs()),
                    None => c.answered.ivr = Some(Box::new(Ivr::start(flow, now, unix_secs()))),
                }
                self.pump_ivr(now, id);
            }
            Route::Queue { queue } => self.enter_queue(now, id, &queue, 0, &[], None),
            Route::Emergency { queue } => {
                self.enter_queue(now, id, &queue, EMERGENCY_PRIORITY, &[], None)
            }
        }
        true
    }

    /// Plays `prompt` to the caller, then hangs up with `cause`. Without the prompt (a
    /// config that lacks it), a moment of silence.
    pub(crate) fn confirm_and_hang_up(&mut self, id: u64, prompt: &'static str, cause: Cause) {
        let item = self.prompts.get(prompt).map_or(
            PlayItem::Silence(Duration::from_millis(500)),
            PlayItem::Prompt,
        );
        if let Some(c) = self.calls.get_mut(&id) {
            c.answered.confirm = Some((prompt, cause));
        }
        self.play(id, vec![item]);
    }

    /// Records what the caller says, up to `max` (`#` ends it), as a voice message;
    /// `on_voicemail_done` hears when it ends.
    pub(crate) fn record_voicemail(&mut self, id: u64, max: Duration) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let call_id = c.a_invite.call_id().unwrap_or("").to_owned();
        let file = format!(
            "voicemail/{}/{}-{id}.wav",
            day(SystemTime::now()),
            file_safe(&call_id)
        );
        c.answered.in_voicemail = true;
        self.media_cmd(id, MediaCmd::RecordVoicemail { file, max });
    }

    /// Sends a command to the call's media task.
    pub(crate) fn media_cmd(&self, id: u64, cmd: MediaCmd) {
        if let Some(s) = self
            .calls
            .get(&id)
            .and_then(|c| c.answered.session.as_ref())
        {
            s.send(cmd);
        }
    }

    /// Plays `items` to the caller; the IVR hears of their end.
    pub(crate) fn play(&mut self, id: u64, items: Vec<PlayItem>) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.answered.play_token += 1;
        let token = c.answered.play_token;
        if let Some(s) = &c.answered.session {
            s.send(MediaCmd::Play { token, items });
        }
    }

    /// Music on hold until something else happens to the call.
    pub(crate) fn hold(&mut self, id: u64, moh: Option<&str>) {
        let items = self.moh_item(moh).into_iter().collect();
        self.play(id, items);
    }

    /// The music on hold `moh` (or the default) as an endless play item.
    pub(crate) fn moh_item(&self, moh: Option<&str>) -> Option<PlayItem> {
        self.prompts
            .get(moh.unwrap_or(DEFAULT_MOH))
            .or_else(|| self.prompts.get(DEFAULT_MOH))
            .map(PlayItem::Loop)
    }

    /// Feeds `input` to the call's IVR and carries out what it asks.
    fn ivr_input(&mut self, now: Instant, id: u64, input: IvrInput) {
        if let Some(ivr) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.answered.ivr.as_mut())
        {
            ivr.handle(now, unix_secs(), input);
            self.pump_ivr(now, id);
        }
    }

    /// Carries out the IVR's pending actions and arms its timer.
    fn pump_ivr(&mut self, now: Instant, id: u64) {
        loop {
            let Some(ivr) = self
                .calls
                .get_mut(&id)
                .and_then(|c| c.answered.ivr.as_mut())
            else {
                return;
            };
            let Some(action) = ivr.poll_action() else {
                if let Some(at) = ivr.poll_timeout() {
                    self.call_timers
                        .push(std::cmp::Reverse((at, id, CallTimer::Ivr)));
                }
                return;
            };
            match action {
                IvrAction::Play(names) => {
                    let items = names
                        .iter()
                        .filter_map(|n| {
                            let p = self.prompts.get(n);
                            if p.is_none() {
                                tracing::warn!(prompt = %n, "prompt missing; skipped");
                            }
                            p.map(PlayItem::Prompt)
                        })
                        .collect();
                    self.play(id, items);
                }
                IvrAction::StopPlayback => self.media_cmd(id, MediaCmd::Stop),
                IvrAction::Queue {
                    queue,
                    priority,
                    skills,
                    moh,
                } => self.enter_queue(now, id, &queue, priority, &skills, moh.as_deref()),
                IvrAction::Transfer { number } => {
                    // A transfer to an IVR number continues here with that flow.
                    self.transfer(now, id, &number);
                }
                IvrAction::RecordVoicemail { max_secs } => {
                    self.record_voicemail(id, Duration::from_secs(u64::from(max_secs)));
                }
                IvrAction::Query { table, key } => {
                    let store = self.store.clone();
                    let commands = self.commands_tx.clone();
                    tokio::spawn(async move {
                        let value = match store.lookup(&table, &key).await {
                            Ok(v) => v,
                            Err(e) => {
                                tracing::error!(error = %e, %table, "self-service lookup failed");
                                None
                            }
                        };
                        let _ = commands
                            .send(Command::IvrQueryResult { call: id, value })
                            .await;
                    });
                }
                IvrAction::Hangup => {
                    self.hangup(now, id, Cause::IvrFinished);
                    return;
                }
            }
        }
    }

    /// A key the caller pressed.
    pub(crate) fn on_digit(&mut self, now: Instant, id: u64, digit: char) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if c.answered.in_voicemail {
            if digit == '#' {
                self.media_cmd(id, MediaCmd::StopVoicemail);
            }
            return;
        }
        if self.survey_digit(id, digit) {
            return;
        }
        if self.queue_digit(now, id, digit) {
            return;
        }
        self.ivr_input(now, id, IvrInput::Digit(digit));
    }

    /// A play tagged `token` ended.
    pub(crate) fn on_playback_done(&mut self, now: Instant, id: u64, token: u64) {
        let Some(c) = self.calls.get(&id) else { return };
        if c.answered.play_token != token {
            return;
        }
        if let Some((_, cause)) = c.answered.confirm {
            return self.hangup(now, id, cause);
        }
        if self.survey_playback_done(now, id) || self.queue_voicemail_step(id) {
            return;
        }
        self.ivr_input(now, id, IvrInput::PlaybackDone);
    }

    /// A voice message ended: keep it, then let the IVR go on.
    pub(crate) fn on_voicemail_done(
        &mut self,
        now: Instant,
        id: u64,
        file: Option<String>,
        duration_ms: i64,
    ) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.answered.in_voicemail = false;
        if let Some(file) = file {
            let v = NewVoicemail {
                call_id: c.a_invite.call_id().unwrap_or("").to_owned(),
                caller: c
                    .a_invite
                    .from()
                    .map(|f| f.uri.to_string())
                    .unwrap_or_default(),
                dialled: c.answered.dialled.clone(),
                created_at: Timestamp::from_system_time(SystemTime::now()),
                duration_ms,
                file,
            };
            let store = self.store.clone();
            tokio::spawn(async move {
                // The WAV is on disk already; keep trying to list it while the database
                // is away (about half a minute), like the call records.
                let mut delay = Duration::from_millis(250);
                for attempt in 1..=VOICEMAIL_ATTEMPTS {
                    match store.add_voicemail(&v).await {
                        Ok(_) => return,
                        Err(e) if attempt == VOICEMAIL_ATTEMPTS => {
                            tracing::error!(error = %e, file = %v.file, "voice message not listed; its WAV stays");
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, attempt, "voice message not stored yet; retrying");
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(Duration::from_secs(8));
                        }
                    }
                }
            });
        }
        if !self.queue_voicemail_step(id) {
            self.ivr_input(now, id, IvrInput::RecordingDone);
        }
    }

    /// The answer to an IVR's self-service lookup.
    pub(crate) fn on_query_result(&mut self, now: Instant, id: u64, value: Option<String>) {
        self.ivr_input(now, id, IvrInput::QueryResult(value));
    }

    /// The IVR's timer.
    pub(crate) fn on_ivr_timer(&mut self, now: Instant, id: u64) {
        let due = self
            .calls
            .get(&id)
            .and_then(|c| c.answered.ivr.as_ref())
            .and_then(|i| i.poll_timeout())
            .is_some_and(|at| at <= now);
        if due {
            if let Some(ivr) = self
                .calls
                .get_mut(&id)
                .and_then(|c| c.answered.ivr.as_mut())
            {
                ivr.handle_timeout(now, unix_secs());
            }
            self.pump_ivr(now, id);
        }
    }
}
