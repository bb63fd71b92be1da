//! `openstopcovid serve`: the backend, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

/// Runs the server: the codes, keys and check-in APIs, signed export downloads, the
/// physicians' pages at /authority and the venue owners' pages at /venues.
///
/// Settings come from built-in defaults, then the TOML file of --config, then
/// OPENSTOPCOVID_* environment variables (e.g. OPENSTOPCOVID_RELEASE_BUCKET_SECONDS), then
/// these flags. On first start the data directory receives the SQLite database and the
/// signing keys (mode 0600).
///
/// Example: openstopcovid serve --data-dir /var/lib/openstopcovid --listen 0.0.0.0:8080
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TOML configuration file (keys as in the README's operator section).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the SQLite database, the signing keys and local export files.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// PostgreSQL (postgres://…) instead of the SQLite file in the data directory.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Publish keys in buckets of this many seconds (default 7200; 0 for tests).
    #[arg(long, value_name = "N")]
    release_bucket_seconds: Option<u64>,
    /// The address people reach this server at (https://…; http:// only for localhost):
    /// venue codes then open the citizen web app at {URL}/app/.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

/// Loads the configuration: defaults, file, environment, then these flags.
pub(crate) fn load_config(
    config: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<server::Config> {
    let mut loaded = server::Config::load(config)?;
    if let Some(data_dir) = data_dir {
        loaded.data_dir = data_dir;
    }
    Ok(loaded)
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = load_config(args.config.as_deref(), args.data_dir)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = args.database_url {
        config.database_url = Some(url);
    }
    if let Some(seconds) = args.release_bucket_seconds {
        config.release_bucket_seconds = seconds;
    }
    if let Some(url) = args.public_url {
        config.public_url = Some(url);
    }
    // Logs carry no client addresses, codes, tokens or keys (see the server crate).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async {
        let handle = server::spawn(config, Arc::new(server::RealClock)).await?;
        // Scripts read the address from here (useful with port 0).
        println!("listening on {}", handle.base_url());
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.shutdown().await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
