//! The `lifeline` binary: command line, logging, and wiring the config, the store, the
//! engine and the HTTP API together.
//!
//! `lifeline serve` prints one line to standard output once every socket is bound and
//! the database is open — `lifeline ready sip_udp=ADDR sip_tcp=ADDR http=ADDR` — so
//! scripts and tests started with port 0 learn the real ports. Logs go to standard
//! error (`RUST_LOG` filters them).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lifeline_config::PortRange;
use lifeline_engine::{CoreSettings, Engine, EngineOptions, default_advertised_ip};
use lifeline_store::Store;

#[derive(Parser)]
#[command(
    name = "lifeline",
    version,
    about = "Call center and emergency dispatch engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Lifeline.
    Serve(ServeArgs),
    /// Load and validate a configuration, then exit (non-zero with the errors if bad).
    CheckConfig {
        /// The entry file, such as sip-config/lifeline.toml.
        path: PathBuf,
    },
}

/// Flags of `serve`; each overrides the same setting of the config file's `[server]`.
#[derive(Args)]
struct ServeArgs {
    /// The configuration entry file.
    #[arg(long, default_value = "sip-config/lifeline.toml")]
    config: PathBuf,
    /// SIP listen address, UDP and TCP (config: server.sip_listen).
    #[arg(long, value_name = "ADDR:PORT")]
    sip_listen: Option<SocketAddr>,
    /// HTTP API listen address (config: server.http_listen).
    #[arg(long, value_name = "ADDR:PORT")]
    http_listen: Option<SocketAddr>,
    /// The shared WebRTC UDP port for browser agents (config: server.webrtc_listen;
    /// default: the SIP address with a free port).
    #[arg(long, value_name = "ADDR:PORT")]
    webrtc_listen: Option<SocketAddr>,
    /// RTP port range, LO-HI (config: server.rtp_ports).
    #[arg(long, value_name = "LO-HI")]
    rtp_ports: Option<PortRange>,
    /// Data directory for the SQLite database and recordings (config: server.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL; SQLite under the data directory when unset.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Hang up calls whose media has been silent this many seconds (0: never).
    #[arg(long, default_value_t = 60)]
    rtp_timeout_secs: u64,
    /// SIP timer T1 in milliseconds (RFC 3261: the round-trip estimate every
    /// retransmission and transaction timeout is derived from).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    sip_t1_ms: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { path } => match lifeline_config::load(&path) {
            Ok(_) => {
                println!("{}: ok", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(args) => {
            init_tracing();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("lifeline: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("lifeline: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = lifeline_config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let server = config.server().clone();
    let sip_listen = args.sip_listen.unwrap_or(server.sip_listen);
    let http_listen = args.http_listen.unwrap_or(server.http_listen);
    let rtp = args.rtp_ports.unwrap_or(server.rtp_ports);
    let data_dir = args.data_dir.unwrap_or(server.data_dir);
    let advertised_ip = server
        .public_address
        .unwrap_or_else(|| default_advertised_ip(sip_listen.ip()));

    let store = Store::open(args.database_url.as_deref(), &data_dir)
        .await
        .with_context(|| format!("opening the database (data dir {})", data_dir.display()))?;
    let now = lifeline_store::Timestamp::from_system_time(std::time::SystemTime::now());
    let cut = store
        .mark_unfinished_as_cut(now, lifeline_store::RESTART_CAUSE)
        .await?;
    if cut > 0 {
        tracing::warn!(
            calls = cut,
            "calls in progress at the last stop recorded as cut"
        );
    }

    let config = Arc::new(config);
    let accounts = Arc::new(lifeline_web::auth::Accounts::new(&config));
    let engine = Engine::start(
        EngineOptions {
            config,
            sip_listen,
            rtp_ports: (rtp.start(), rtp.end()),
            webrtc_listen: Some(
                args.webrtc_listen
                    .or(server.webrtc_listen)
                    .unwrap_or_else(|| SocketAddr::new(sip_listen.ip(), 0)),
            ),
            settings: CoreSettings {
                advertised_ip,
                rtp_timeout: (args.rtp_timeout_secs > 0)
                    .then(|| Duration::from_secs(args.rtp_timeout_secs)),
                ring_timeout: Duration::from_secs(60),
                t1: Duration::from_millis(args.sip_t1_ms),
                data_dir: data_dir.clone(),
            },
        },
        store.clone(),
    )
    .await?;
    let app = lifeline_web::router(lifeline_web::AppState {
        store,
        engine: engine.handle(),
        data_dir: data_dir.clone(),
        accounts,
    });
    let listener = tokio::net::TcpListener::bind(http_listen)
        .await
        .with_context(|| format!("binding HTTP on {http_listen}"))?;
    let http = listener.local_addr()?;
    let bound = engine.bound();
    let webrtc = engine
        .webrtc_addr()
        .map_or_else(|| "off".to_owned(), |a| a.to_string());
    tracing::info!(sip_udp = %bound.udp, sip_tcp = %bound.tcp, %http, %webrtc, %advertised_ip, "lifeline ready");
    println!(
        "lifeline ready sip_udp={} sip_tcp={} http={http} webrtc={webrtc}",
        bound.udp, bound.tcp
    );

    let http_task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
    });
    shutdown_signal().await;
    tracing::info!("shutting down: ending calls and flushing records");
    engine.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), http_task).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
