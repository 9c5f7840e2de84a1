//! Agents: login, the console WebSocket, and a str0m client standing in for the browser.

use super::*;

/// The browser side of one call.
pub(crate) struct Leg {
    pub(crate) rtc: Rtc,
    pub(crate) mid: Mid,
    pub(crate) offer: u64,
    pub(crate) call: u32,
    pub(crate) pending: Option<SdpPendingOffer>,
    pub(crate) accepted_at: Instant,
    pub(crate) connected: bool,
    /// Frames sent; also the RTP sequence number and (×160) timestamp offset.
    pub(crate) count: u32,
    pub(crate) tick: Option<tokio::time::Interval>,
    pub(crate) track: RxTrack,
    pub(crate) timeout: Instant,
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;
pub(crate) type WsTx = futures_util::stream::SplitSink<Ws, Message>;

pub(crate) async fn login(a: &Args, user: &str, password: &str) -> Result<String, String> {
    let body = serde_json::json!({ "user": user, "password": password }).to_string();
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        match http(a.http, "POST", "/api/v1/login", Some(&body)).await {
            Ok((200, b)) => {
                let v: serde_json::Value = serde_json::from_str(&b).map_err(|e| e.to_string())?;
                return v["token"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("no token in {b}"));
            }
            Ok((s, b)) => last = format!("login {user}: {s} {b}"),
            Err(e) => last = format!("login {user}: {e}"),
        }
    }
    Err(last)
}

pub(crate) async fn send_json(ws: &mut WsTx, v: serde_json::Value) -> bool {
    ws.send(Message::text(v.to_string())).await.is_ok()
}

/// Drains the client's output: datagrams out, events counted. The next timeout, or
/// `None` if str0m failed.
pub(crate) fn drain(leg: &mut Leg, sock: &UdpSocket, st: &Stats) -> Option<Instant> {
    loop {
        match leg.rtc.poll_output() {
            Ok(Output::Timeout(t)) => return Some(t),
            Ok(Output::Transmit(t)) => {
                let _ = sock.try_send_to(&t.contents, t.destination);
            }
            Ok(Output::Event(e)) => match e {
                Event::Connected if !leg.connected => {
                    leg.connected = true;
                    st.rtc_connected.fetch_add(1, Relaxed);
                    let ms = leg.accepted_at.elapsed().as_secs_f64() * 1000.0;
                    st.connect_ms.lock().unwrap().push(ms);
                    // Spread the senders over the 20 ms frame.
                    let phase = Duration::from_micros(u64::from(leg.call) * 7_919 % 20_000);
                    let mut tick = tokio::time::interval_at(
                        (Instant::now() + phase).into(),
                        Duration::from_millis(20),
                    );
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    leg.tick = Some(tick);
                }
                Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                    st.rtc_failed.fetch_add(1, Relaxed);
                    st.error(format!("call {}: ICE disconnected", leg.call));
                }
                Event::RtpPacket(p) if *p.header.payload_type == 0 => {
                    leg.track
                        .on_payload(st, &st.c2b, &st.c2b_call, leg.call, &p.payload);
                }
                _ => {}
            },
            Err(e) => {
                st.rtc_failed.fetch_add(1, Relaxed);
                st.error(format!("call {}: str0m: {e}", leg.call));
                return None;
            }
        }
    }
}

/// Sends one marked frame to Lifeline.
pub(crate) fn send_frame(leg: &mut Leg, st: &Stats) {
    let now = Instant::now();
    let count = leg.count;
    let write = RtpWrite::new(
        Pt::from(0),
        SeqNo::from(u64::from(count)),
        count.wrapping_mul(160),
        now,
        marked(leg.call, count).to_vec(),
    )
    .marker(count == 0);
    match leg.rtc.direct_api().stream_tx_by_mid(leg.mid, None) {
        Some(tx) => {
            tx.write_rtp(write);
            leg.count += 1;
            st.b2c.tx.fetch_add(1, Relaxed);
        }
        None => {
            st.b2c.tx_err.fetch_add(1, Relaxed);
        }
    }
    // str0m releases what was written when time moves on.
    let _ = leg.rtc.handle_input(Input::Timeout(now));
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn agent(
    i: usize,
    a: Arc<Args>,
    st: Arc<Stats>,
    logins: Arc<Semaphore>,
    cert: DtlsCert,
    mut stop: watch::Receiver<bool>,
) {
    let user = (a.first_agent + i as u32).to_string();
    let token = {
        let _permit = logins.acquire().await;
        match login(&a, &user, &format!("pw{user}")).await {
            Ok(t) => t,
            Err(e) => {
                st.agents_failed.fetch_add(1, Relaxed);
                st.error(e);
                return;
            }
        }
    };
    let url = format!("ws://{}/api/v1/agent/ws?token={token}", a.http);
    let ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            st.agents_failed.fetch_add(1, Relaxed);
            st.error(format!("agent {user}: WebSocket: {e}"));
            return;
        }
    };
    // The socket is read in a task of its own: tungstenite zeroes its read buffer each
    // time it is polled, which the agent loop (woken for every packet) must not do.
    let (mut ws, mut ws_rx) = ws.split();
    let (msg_tx, mut msgs) = tokio::sync::mpsc::unbounded_channel::<String>();
    let reader = tokio::spawn(async move {
        while let Some(Ok(m)) = ws_rx.next().await {
            match m {
                Message::Text(t) if msg_tx.send(t.as_str().to_owned()).is_err() => break,
                Message::Close(_) => break,
                _ => {}
            }
        }
    });
    if !send_json(
        &mut ws,
        serde_json::json!({"type": "status", "status": "available"}),
    )
    .await
    {
        st.agents_failed.fetch_add(1, Relaxed);
        return;
    }
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0").await else {
        st.agents_failed.fetch_add(1, Relaxed);
        return;
    };
    let local = sock.local_addr().expect("bound");
    let mut ready = false;
    let mut leg: Option<Leg> = None;
    let mut buf = vec![0u8; 2048];
    let far = || Instant::now() + Duration::from_secs(3600);
    let sleep = tokio::time::sleep_until(far().into());
    tokio::pin!(sleep);
    loop {
        let wake = leg.as_ref().map_or_else(far, |l| l.timeout);
        if sleep.deadline() != wake.into() {
            sleep.as_mut().reset(wake.into());
        }
        tokio::select! {
            _ = stop.changed() => break,
            msg = msgs.recv() => {
                let Some(text) = msg else {
                    st.error(format!("agent {user}: console WebSocket closed"));
                    break;
                };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                let offer = v["offer"].as_u64();
                match v["type"].as_str().unwrap_or("") {
                    "agent" if !ready && v["agent"]["status"] == "available" => {
                        ready = true;
                        st.agents_ready.fetch_add(1, Relaxed);
                    }
                    "incoming" => {
                        st.offers.fetch_add(1, Relaxed);
                        let Some(offer) = offer else { continue };
                        if leg.is_some() {
                            st.error(format!("agent {user}: offered a second call"));
                            send_json(&mut ws, serde_json::json!({"type": "decline", "offer": offer})).await;
                            continue;
                        }
                        // The caller is 139NNNNNNNN: NNNNNNNN is its index.
                        let call = v["caller"].as_str().and_then(|c| c.strip_prefix("139")).and_then(|c| c.parse::<u32>().ok()).unwrap_or(u32::MAX);
                        let now = Instant::now();
                        let mut rtc = RtcConfig::new()
                            .clear_codecs()
                            .enable_pcmu(true, false)
                            .set_rtp_mode(true)
                            .set_dtls_cert(cert.clone())
                            .build(now);
                        rtc.add_local_candidate(Candidate::host(local, "udp").expect("host candidate"));
                        let mut api = rtc.sdp_api();
                        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
                        let Some((sdp, pending)) = api.apply() else {
                            st.error(format!("agent {user}: no offer"));
                            continue;
                        };
                        let accept = serde_json::json!({"type": "accept", "offer": offer, "sdp": sdp.to_sdp_string()});
                        leg = Some(Leg {
                            rtc, mid, offer, call, pending: Some(pending), accepted_at: now, connected: false,
                            count: 0, tick: None, track: RxTrack::default(), timeout: now,
                        });
                        st.accepts.fetch_add(1, Relaxed);
                        send_json(&mut ws, accept).await;
                    }
                    "answer" => {
                        let Some(l) = leg.as_mut().filter(|l| Some(l.offer) == offer) else { continue };
                        let Some(pending) = l.pending.take() else { continue };
                        let answer = v["sdp"].as_str().map(SdpAnswer::from_sdp_string);
                        match answer {
                            Some(Ok(answer)) => match l.rtc.sdp_api().accept_answer(pending, answer) {
                                Ok(()) => {
                                    st.answers.fetch_add(1, Relaxed);
                                    match drain(l, &sock, &st) {
                                        Some(t) => l.timeout = t,
                                        None => leg = None,
                                    }
                                }
                                Err(e) => { st.error(format!("agent {user}: answer refused: {e}")); leg = None; }
                            },
                            _ => { st.error(format!("agent {user}: bad answer")); leg = None; }
                        }
                    }
                    "connected" => { st.ws_connected.fetch_add(1, Relaxed); }
                    "ended" => {
                        st.ended.fetch_add(1, Relaxed);
                        if st.measuring.load(Relaxed) {
                            st.ended_in_window.fetch_add(1, Relaxed);
                        }
                        if let Some(mut l) = leg.take() {
                            let _ = l.rtc.close();
                            drain(&mut l, &sock, &st);
                        }
                    }
                    "cancelled" => {
                        st.cancelled.fetch_add(1, Relaxed);
                        if leg.as_ref().is_some_and(|l| Some(l.offer) == offer) {
                            leg = None;
                        }
                    }
                    "error" => {
                        st.error(format!("agent {user}: {}", v["message"].as_str().unwrap_or("?")));
                    }
                    _ => {}
                }
            }
            r = sock.recv_from(&mut buf), if leg.is_some() => {
                let Ok((n, from)) = r else { continue };
                let Some(l) = leg.as_mut() else { continue };
                let Ok(contents) = buf[..n].try_into() else { continue };
                let input = Input::Receive(Instant::now(), Receive {
                    proto: Protocol::Udp, source: from, destination: local, contents,
                });
                if !l.rtc.accepts(&input) {
                    continue;
                }
                if let Err(e) = l.rtc.handle_input(input) {
                    st.error(format!("call {}: str0m input: {e}", l.call));
                }
                match drain(l, &sock, &st) {
                    Some(t) => l.timeout = t,
                    None => leg = None,
                }
            }
            () = &mut sleep, if leg.is_some() => {
                let Some(l) = leg.as_mut() else { continue };
                let _ = l.rtc.handle_input(Input::Timeout(Instant::now()));
                match drain(l, &sock, &st) {
                    Some(t) => l.timeout = t,
                    None => leg = None,
                }
            }
            _ = async {
                match leg.as_mut().and_then(|l| l.tick.as_mut()) {
                    Some(t) => t.tick().await,
                    None => std::future::pending().await,
                }
            } => {
                let Some(l) = leg.as_mut() else { continue };
                send_frame(l, &st);
                match drain(l, &sock, &st) {
                    Some(t) => l.timeout = t,
                    None => leg = None,
                }
            }
        }
    }
    let _ = ws.close().await;
    reader.abort();
}
