//! The store's behaviour, one body per case, run against SQLite and PostgreSQL alike
//! (see `harness` for how each test gets its own database).

// The case bodies are test code outside `#[test]` functions (they run once per backend).
#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod harness;

use std::sync::Arc;

use harness::{Db, error_chain};
use lifeline_store::{
    Backend, CallEnd, CallRecord, CallResult, CallWrite, NewCall, QueueLogEntry, Queued,
    RESTART_CAUSE, Store, StoreError, Timestamp,
};
use serde_json::json;

/// 2026-11-21T21:44:01.123Z
const T0: i64 = 1_795_297_441_123;

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + offset_ms)
}

fn new_call(n: u32) -> NewCall {
    NewCall {
        call_id: format!("a84b4c76e66710-{n}@pc33.example.com"),
        from: format!("sip:+861380000{n:04}@carrier.example"),
        to: "sip:12345@lifeline.example".to_owned(),
        transport: "udp".to_owned(),
        started_at: at(i64::from(n) * 1_000),
    }
}

async fn get(store: &Store, id: i64) -> CallRecord {
    store
        .get_call(id)
        .await
        .expect("get_call")
        .expect("record exists")
}

async fn ids(store: &Store, limit: u32, before_id: Option<i64>) -> Vec<i64> {
    let page = store
        .list_calls(limit, before_id)
        .await
        .expect("list_calls");
    page.iter().map(|r| r.id).collect()
}

/// Declares each case as a test in `sqlite::` and one in `postgres::`.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                crate::harness::run_sqlite(crate::$case).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                crate::harness::run_postgres(stringify!($case), crate::$case).await;
            })*
        }
    };
}

cases!(
    call_lifecycle_is_recorded,
    record_serializes_to_the_issue_contract,
    answer_is_recorded_once,
    first_end_wins,
    unknown_ids_are_reported,
    every_final_result_round_trips,
    text_is_stored_verbatim,
    list_is_newest_first_and_paginates,
    restart_cuts_unfinished_calls,
    reopen_keeps_data_and_ids_grow,
    concurrent_calls_get_distinct_ids,
    ping_answers,
    a_batch_writes_whole_calls_and_updates,
    a_failed_batch_changes_nothing,
    ivr_path_and_recording_kept,
    self_service_tables_are_replaced_whole,
    voicemails_are_listed_newest_first,
    queue_outcome_and_queue_log_are_kept,
);

async fn call_lifecycle_is_recorded(db: Arc<Db>) {
    let store = db.open().await;
    let call = new_call(1);
    let id = store.start_call(&call).await.unwrap();

    let started = get(&store, id).await;
    assert_eq!(
        started,
        CallRecord {
            id,
            call_id: call.call_id.clone(),
            from: call.from.clone(),
            to: call.to.clone(),
            transport: call.transport.clone(),
            started_at: call.started_at,
            answered_at: None,
            ended_at: None,
            result: CallResult::InProgress,
            cause: None,
            ivr_path: None,
            recording: None,
            recording_file: None,
            queue: None,
            agent: None,
            wait_seconds: None,
            satisfaction: None,
        }
    );

    assert!(store.answer_call(id, at(3_500)).await.unwrap());
    let answered = get(&store, id).await;
    assert_eq!(answered.answered_at, Some(at(3_500)));
    assert_eq!(
        (answered.ended_at, answered.result),
        (None, CallResult::InProgress)
    );

    assert!(
        store
            .end_call(id, at(65_250), CallResult::Answered, Some("bye: caller"))
            .await
            .unwrap()
    );
    let ended = get(&store, id).await;
    assert_eq!(
        ended,
        CallRecord {
            answered_at: Some(at(3_500)),
            ended_at: Some(at(65_250)),
            result: CallResult::Answered,
            cause: Some("bye: caller".to_owned()),
            ..started
        }
    );
}

async fn record_serializes_to_the_issue_contract(db: Arc<Db>) {
    let store = db.open().await;
    let mut call = new_call(7);
    call.started_at = at(0);
    call.transport = "tls".to_owned();
    let id = store.start_call(&call).await.unwrap();

    assert_eq!(
        serde_json::to_value(get(&store, id).await).unwrap(),
        json!({
            "id": id,
            "call_id": "a84b4c76e66710-7@pc33.example.com",
            "from": "sip:+8613800000007@carrier.example",
            "to": "sip:12345@lifeline.example",
            "transport": "tls",
            "started_at": "2026-11-21T21:44:01.123Z",
            "answered_at": null,
            "ended_at": null,
            "result": "in_progress",
            "cause": null,
            "ivr_path": null,
            "recording": null,
            "queue": null,
            "agent": null,
            "wait_seconds": null,
            "satisfaction": null,
        })
    );

    store
        .end_call(
            id,
            at(2_000),
            CallResult::NoAnswer,
            Some("408 request timeout"),
        )
        .await
        .unwrap();
    let json = serde_json::to_value(get(&store, id).await).unwrap();
    assert_eq!(json["ended_at"], "2026-11-21T21:44:03.123Z");
    assert_eq!(json["result"], "no_answer");
    assert_eq!(json["cause"], "408 request timeout");
}

async fn answer_is_recorded_once(db: Arc<Db>) {
    let store = db.open().await;
    let id = store.start_call(&new_call(1)).await.unwrap();
    assert!(store.answer_call(id, at(100)).await.unwrap());
    assert!(
        !store.answer_call(id, at(200)).await.unwrap(),
        "second answer is ignored"
    );
    assert_eq!(get(&store, id).await.answered_at, Some(at(100)));

    let never_answered = store.start_call(&new_call(2)).await.unwrap();
    store
        .end_call(never_answered, at(300), CallResult::Cancelled, None)
        .await
        .unwrap();
    assert!(
        !store.answer_call(never_answered, at(400)).await.unwrap(),
        "no answer after end"
    );
    assert_eq!(get(&store, never_answered).await.answered_at, None);
}

async fn first_end_wins(db: Arc<Db>) {
    let store = db.open().await;
    let id = store.start_call(&new_call(1)).await.unwrap();
    assert!(
        store
            .end_call(id, at(500), CallResult::Busy, Some("486 busy here"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .end_call(id, at(900), CallResult::Failed, Some("late error"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .end_call(id, at(950), CallResult::Answered, None)
            .await
            .unwrap()
    );
    let record = get(&store, id).await;
    assert_eq!(record.ended_at, Some(at(500)));
    assert_eq!(record.result, CallResult::Busy);
    assert_eq!(record.cause.as_deref(), Some("486 busy here"));

    // in_progress is not an end, and is refused before touching the row.
    let open = store.start_call(&new_call(2)).await.unwrap();
    let refused = store
        .end_call(open, at(600), CallResult::InProgress, None)
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotAFinalResult { id }) if id == open),
        "{refused:?}"
    );
    assert_eq!(get(&store, open).await.ended_at, None);
}

async fn unknown_ids_are_reported(db: Arc<Db>) {
    let store = db.open().await;
    let known = store.start_call(&new_call(1)).await.unwrap();
    let unknown = known + 1_000;
    assert_eq!(store.get_call(unknown).await.unwrap(), None);
    let answer = store.answer_call(unknown, at(1)).await;
    assert!(
        matches!(answer, Err(StoreError::CallNotFound { id }) if id == unknown),
        "{answer:?}"
    );
    let end = store
        .end_call(unknown, at(2), CallResult::Failed, None)
        .await;
    assert!(
        matches!(end, Err(StoreError::CallNotFound { id }) if id == unknown),
        "{end:?}"
    );
    assert_eq!(ids(&store, 10, None).await, [known], "nothing was created");
}

async fn every_final_result_round_trips(db: Arc<Db>) {
    let store = db.open().await;
    for (n, result) in (0..).zip(CallResult::ALL.into_iter().filter(|r| r.is_final())) {
        let id = store.start_call(&new_call(n)).await.unwrap();
        store
            .end_call(id, at(10_000), result, Some(result.as_str()))
            .await
            .unwrap();
        let record = get(&store, id).await;
        assert_eq!(record.result, result);
        assert_eq!(record.cause.as_deref(), Some(result.as_str()));
    }
}

async fn text_is_stored_verbatim(db: Arc<Db>) {
    let store = db.open().await;
    let call = NewCall {
        call_id: "x'); DROP TABLE calls; --".to_owned(),
        from: "\"Zhāng Wěi 张伟\" <sip:%61lice@example.com;transport=tcp>;tag=1928301774"
            .to_owned(),
        to: "tel:+86-10-12345;phone-context=+86".to_owned(),
        transport: "wss".to_owned(),
        started_at: Timestamp::from_unix_ms(-1),
    };
    let id = store.start_call(&call).await.unwrap();
    store
        .end_call(
            id,
            at(0),
            CallResult::Rejected,
            Some("603 décliné\n\"quoted\""),
        )
        .await
        .unwrap();
    let record = get(&store, id).await;
    assert_eq!(
        (
            record.call_id.as_str(),
            record.from.as_str(),
            record.to.as_str()
        ),
        (call.call_id.as_str(), call.from.as_str(), call.to.as_str())
    );
    assert_eq!(record.transport, "wss");
    assert_eq!(record.started_at.to_string(), "1969-12-31T23:59:59.999Z");
    assert_eq!(record.cause.as_deref(), Some("603 décliné\n\"quoted\""));
}

async fn list_is_newest_first_and_paginates(db: Arc<Db>) {
    let store = db.open().await;
    assert!(store.list_calls(10, None).await.unwrap().is_empty());
    let mut started = Vec::new();
    for n in 0..5 {
        started.push(store.start_call(&new_call(n)).await.unwrap());
    }
    assert!(
        started.windows(2).all(|w| w[0] < w[1]),
        "ids increase: {started:?}"
    );
    let newest_first: Vec<i64> = started.iter().rev().copied().collect();

    assert_eq!(ids(&store, 100, None).await, newest_first);
    assert_eq!(ids(&store, 0, None).await, [0_i64; 0]);

    // Page through two at a time with the last id of each page.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = ids(&store, 2, before).await;
        let Some(&last) = page.last() else { break };
        before = Some(last);
        pages.push(page);
    }
    assert_eq!(
        pages,
        [
            &newest_first[0..2],
            &newest_first[2..4],
            &newest_first[4..5]
        ]
    );

    // Full records come back in the same order, with their own data.
    let records = store.list_calls(2, Some(newest_first[1])).await.unwrap();
    assert_eq!(records[0], get(&store, newest_first[2]).await);
    assert_eq!(records[0].call_id, new_call(2).call_id);
}

async fn restart_cuts_unfinished_calls(db: Arc<Db>) {
    let (ringing, talking, done) = {
        let store = db.open().await;
        let ringing = store.start_call(&new_call(1)).await.unwrap();
        let talking = store.start_call(&new_call(2)).await.unwrap();
        store.answer_call(talking, at(5_000)).await.unwrap();
        let done = store.start_call(&new_call(3)).await.unwrap();
        store
            .end_call(done, at(6_000), CallResult::Answered, None)
            .await
            .unwrap();
        // The process dies here: no end for `ringing` and `talking`.
        store.close().await;
        (ringing, talking, done)
    };

    let store = db.open().await;
    let restart = at(60_000);
    assert_eq!(
        store
            .mark_unfinished_as_cut(restart, RESTART_CAUSE)
            .await
            .unwrap(),
        2
    );
    for id in [ringing, talking] {
        let record = get(&store, id).await;
        assert_eq!(record.result, CallResult::Failed);
        assert_eq!(record.ended_at, Some(restart));
        assert_eq!(record.cause.as_deref(), Some("cut: server restart"));
    }
    assert_eq!(get(&store, talking).await.answered_at, Some(at(5_000)));
    let untouched = get(&store, done).await;
    assert_eq!(
        (untouched.result, untouched.ended_at, untouched.cause),
        (CallResult::Answered, Some(at(6_000)), None)
    );

    assert_eq!(
        store
            .mark_unfinished_as_cut(at(70_000), RESTART_CAUSE)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        get(&store, ringing).await.ended_at,
        Some(restart),
        "second run changes nothing"
    );
}

async fn reopen_keeps_data_and_ids_grow(db: Arc<Db>) {
    let first = db.open().await;
    let id = first.start_call(&new_call(1)).await.unwrap();
    first.answer_call(id, at(1_500)).await.unwrap();
    first
        .end_call(id, at(9_000), CallResult::Answered, Some("bye: agent"))
        .await
        .unwrap();
    let before = get(&first, id).await;
    first.close().await;
    assert!(
        first.ping().await.is_err(),
        "a closed store refuses queries"
    );

    if db.backend() == Backend::Sqlite {
        assert!(
            db.data_dir()
                .join(lifeline_store::SQLITE_FILE_NAME)
                .is_file()
        );
    }
    let second = db.open().await; // migrations run again: nothing to do
    assert_eq!(get(&second, id).await, before);
    let next = second.start_call(&new_call(2)).await.unwrap();
    assert!(
        next > id,
        "ids keep growing across restarts ({next} after {id})"
    );
    assert_eq!(ids(&second, 10, None).await, [next, id]);
}

async fn concurrent_calls_get_distinct_ids(db: Arc<Db>) {
    let store = db.open().await;
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = store.start_call(&new_call(n)).await.unwrap();
                store.answer_call(id, at(1)).await.unwrap();
                store
                    .end_call(id, at(2), CallResult::Answered, None)
                    .await
                    .unwrap();
                id
            })
        })
        .collect();
    let mut started = Vec::new();
    for task in tasks {
        started.push(task.await.unwrap());
    }
    started.sort_unstable();
    started.dedup();
    assert_eq!(started.len(), 40);
    let listed = store.list_calls(100, None).await.unwrap();
    assert_eq!(listed.len(), 40);
    assert!(listed.iter().all(|r| r.result == CallResult::Answered));
}

async fn ping_answers(db: Arc<Db>) {
    let store = db.open().await;
    store
        .ping()
        .await
        .unwrap_or_else(|e| panic!("ping: {}", error_chain(&e)));
    assert_eq!(store.backend(), db.backend());
}

// --- opening, SQLite and URL specifics ---------------------------------------------------

#[tokio::test]
async fn sqlite_creates_nested_data_dir_and_uses_wal() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("a/b/data");
    let store = Store::open(None, &data_dir).await.unwrap();
    store.start_call(&new_call(1)).await.unwrap();
    assert!(data_dir.join("lifeline.db").is_file());
    assert!(
        data_dir.join("lifeline.db-wal").is_file(),
        "WAL journal in use"
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_url_is_accepted() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("other.db");
    let url = format!("sqlite://{}", file.display());
    let store = Store::open(Some(&url), &temp.path().join("unused"))
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.ping().await.unwrap();
    assert!(file.is_file());
    assert!(!temp.path().join("unused").exists());
}

#[tokio::test]
async fn unsupported_url_is_refused_without_echoing_it() {
    let temp = tempfile::tempdir().unwrap();
    let err = Store::open(Some("mysql://root:hunter2@db/lifeline"), temp.path())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::UnsupportedUrl { scheme } if scheme == "mysql"),
        "{err:?}"
    );
    assert!(!error_chain(&err).contains("hunter2"));
}

#[tokio::test]
async fn failed_postgres_open_does_not_leak_the_password() {
    // A "server" that hangs up on every connection: sqlx fails at once (a refused
    // connection would instead be retried until the pool's acquire timeout).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hang_up = tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            drop(socket);
        }
    });
    let temp = tempfile::tempdir().unwrap();
    let url = format!("postgres://lifeline:hunter2@127.0.0.1:{port}/lifeline");
    let err = Store::open(Some(&url), temp.path()).await.unwrap_err();
    hang_up.abort();
    assert!(
        matches!(
            err,
            StoreError::Open {
                backend: Backend::Postgres,
                ..
            }
        ),
        "{err:?}"
    );
    let message = error_chain(&err);
    let expected = format!("cannot open postgres database 127.0.0.1:{port}/lifeline: ");
    assert!(message.starts_with(&expected), "{message}");
    assert!(
        !message.contains("hunter2") && !format!("{err:?}").contains("hunter2"),
        "{message}"
    );
}

fn ended(offset_ms: i64, result: CallResult, cause: &str) -> CallEnd {
    CallEnd {
        at: at(offset_ms),
        result,
        cause: Some(cause.to_owned()),
        ivr_path: None,
        recording: None,
        queued: None,
        satisfaction: None,
    }
}

async fn a_batch_writes_whole_calls_and_updates(db: Arc<Db>) {
    let store = db.open().await;
    let open = store.start_call(&new_call(1)).await.unwrap();
    let ids = store
        .write_calls(&[
            // A short call that started and ended within the batch: one row.
            CallWrite::Insert {
                call: new_call(2),
                answered_at: Some(at(2_100)),
                end: Some(ended(2_900, CallResult::Answered, "caller hung up")),
            },
            // A call still in progress.
            CallWrite::Insert {
                call: new_call(3),
                answered_at: None,
                end: None,
            },
            // Changes to a call stored earlier.
            CallWrite::Answer {
                id: open,
                at: at(1_500),
            },
            CallWrite::End {
                id: open,
                end: ended(1_800, CallResult::Answered, "callee hung up"),
            },
        ])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let short = get(&store, ids[0]).await;
    assert_eq!(
        (short.answered_at, short.ended_at),
        (Some(at(2_100)), Some(at(2_900)))
    );
    assert_eq!(
        (short.result, short.cause.as_deref()),
        (CallResult::Answered, Some("caller hung up"))
    );
    let running = get(&store, ids[1]).await;
    assert_eq!(
        (running.result, running.ended_at),
        (CallResult::InProgress, None)
    );
    let earlier = get(&store, open).await;
    assert_eq!(
        (earlier.answered_at, earlier.ended_at),
        (Some(at(1_500)), Some(at(1_800)))
    );
    assert_eq!(earlier.cause.as_deref(), Some("callee hung up"));
}

async fn a_failed_batch_changes_nothing(db: Arc<Db>) {
    let store = db.open().await;
    let before = ids(&store, 100, None).await;
    let refused = store
        .write_calls(&[
            CallWrite::Insert {
                call: new_call(4),
                answered_at: None,
                end: None,
            },
            CallWrite::End {
                id: 1,
                end: ended(5, CallResult::InProgress, "not final"),
            },
        ])
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotAFinalResult { .. })),
        "{refused:?}"
    );
    assert_eq!(ids(&store, 100, None).await, before, "all or nothing");
}

async fn ivr_path_and_recording_kept(db: Arc<Db>) {
    let store = db.open().await;
    let path =
        json!([{"node": "main", "kind": "menu", "digits": "9"}, {"node": "q", "kind": "queue"}]);
    let mut end = ended(900, CallResult::Answered, "caller hung up");
    end.ivr_path = Some(path.clone());
    end.recording = Some("recordings/2026-11-21/x.wav".to_owned());
    let ids = store
        .write_calls(&[CallWrite::Insert {
            call: new_call(5),
            answered_at: Some(at(100)),
            end: Some(end),
        }])
        .await
        .unwrap();
    let rec = get(&store, ids[0]).await;
    assert_eq!(rec.ivr_path, Some(path));
    assert_eq!(
        rec.recording_file.as_deref(),
        Some("recordings/2026-11-21/x.wav")
    );
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(
        json["recording"],
        format!("/api/v1/calls/{}/recording", ids[0])
    );
    assert!(
        json.get("recording_file").is_none(),
        "file paths stay internal"
    );
}

async fn self_service_tables_are_replaced_whole(db: Arc<Db>) {
    let store = db.open().await;
    let rows = |r: &[(&str, &str)]| {
        r.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    store
        .replace_table(
            "balances",
            &rows(&[("110101199001011234", "1024.50"), ("2", "7")]),
        )
        .await
        .unwrap();
    store
        .replace_table("other", &rows(&[("2", "other")]))
        .await
        .unwrap();
    assert_eq!(
        store
            .lookup("balances", "110101199001011234")
            .await
            .unwrap()
            .as_deref(),
        Some("1024.50")
    );
    store
        .replace_table("balances", &rows(&[("3", "9")]))
        .await
        .unwrap();
    assert_eq!(
        store.lookup("balances", "2").await.unwrap(),
        None,
        "old rows are gone"
    );
    assert_eq!(
        store.lookup("other", "2").await.unwrap().as_deref(),
        Some("other"),
        "other tables untouched"
    );
}

async fn voicemails_are_listed_newest_first(db: Arc<Db>) {
    let store = db.open().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let v = lifeline_store::NewVoicemail {
            call_id: format!("vm{n}"),
            caller: "sip:13800000000@carrier".to_owned(),
            dialled: "12333".to_owned(),
            created_at: at(n * 1000),
            duration_ms: 4_200,
            file: format!("voicemail/vm{n}.wav"),
        };
        ids.push(store.add_voicemail(&v).await.unwrap());
    }
    let page = store.list_voicemails(2, None).await.unwrap();
    assert_eq!(
        page.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    let json = serde_json::to_value(&page[0]).unwrap();
    assert_eq!(
        json["audio"],
        format!("/api/v1/voicemails/{}/audio", ids[2])
    );
    assert!(json.get("file").is_none());
    assert_eq!(
        store.get_voicemail(ids[0]).await.unwrap().unwrap().file,
        "voicemail/vm0.wav"
    );
}

async fn queue_outcome_and_queue_log_are_kept(db: Arc<Db>) {
    let store = db.open().await;
    let mut end = ended(9_000, CallResult::Answered, "caller hung up");
    end.queued = Some(Queued {
        queue: "citizen".into(),
        agent: Some("1001".into()),
        wait_ms: 12_345,
    });
    end.satisfaction = Some(5);
    let ids = store
        .write_calls(&[CallWrite::Insert {
            call: new_call(7),
            answered_at: Some(at(1_000)),
            end: Some(end),
        }])
        .await
        .unwrap();
    let rec = get(&store, ids[0]).await;
    assert_eq!(
        (
            rec.queue.as_deref(),
            rec.agent.as_deref(),
            rec.wait_seconds,
            rec.satisfaction
        ),
        (Some("citizen"), Some("1001"), Some(12.345), Some(5))
    );
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(json["wait_seconds"], json!(12.345));
    let entry = |event: &str, call: Option<&str>| QueueLogEntry {
        at: at(2_000),
        call_id: call.map(str::to_owned),
        queue: "citizen".into(),
        agent: Some("1001".into()),
        event: event.into(),
        data: vec!["3".into(), "42".into()],
    };
    store
        .append_queue_log(&[
            entry("ENTERQUEUE", Some("c-7")),
            entry("PAUSE", None),
            entry("CONNECT", Some("c-7")),
        ])
        .await
        .unwrap();
    let of_call = store.queue_log(Some("c-7"), 100).await.unwrap();
    let names: Vec<&str> = of_call.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["ENTERQUEUE", "CONNECT"]);
    assert_eq!(of_call[1], entry("CONNECT", Some("c-7")));
    let newest = store.queue_log(None, 2).await.unwrap();
    let names: Vec<&str> = newest.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["PAUSE", "CONNECT"], "the newest two, oldest first");
}
