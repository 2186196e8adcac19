use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tokio_util::sync::CancellationToken;

use super::connection::{ConnectionArgs, duration, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::worker::{Runner, metrics};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Spec files or directories (one vhost).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Run this service (repeat for several) [default: every service with a handler].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Serve /metrics (Prometheus) and /healthz on this address, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// How long deliveries in flight may take to finish after SIGTERM or SIGINT.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "30s")]
    pub shutdown_timeout: Duration,
    /// How long a message whose retry or dead-letter queue refuses its
    /// copy is held, its service paused, before it returns to its queue.
    /// Keep it below the broker's consumer_timeout (30m by default).
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "10m")]
    pub hold_limit: Duration,
    /// How logs are written to stderr (the level comes from RUST_LOG, default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Starts the workers and runs them until a signal.
pub fn run(args: &RunArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let Some(topology) = super::one_topology(&args.paths, args.connection.vhost.as_ref(), out)?
    else {
        return Ok(Outcome::Findings);
    };
    let settings = args.connection.settings()?;
    logs(args.log_format, out.color);
    if args.hold_limit >= Duration::from_secs(30 * 60) {
        tracing::warn!(
            "--hold-limit {:?} is not below RabbitMQ's default consumer timeout (30 minutes): unless the broker's consumer_timeout is longer, it closes the channel of a held message first",
            args.hold_limit
        );
    }
    let runner = Runner::new(topology, settings)
        .spec_handlers(&args.services)?
        .shutdown_timeout(args.shutdown_timeout)
        .hold_limit(args.hold_limit);
    let rt = runtime()?;
    rt.block_on(async {
        let cancel = CancellationToken::new();
        let server = match args.metrics_addr {
            Some(addr) => {
                let prometheus = metrics::recorder()?;
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| CliError::Serve { addr, source })?;
                tracing::info!(%addr, "serving /metrics and /healthz");
                Some(tokio::spawn(metrics::serve(
                    listener,
                    prometheus,
                    runner.health(),
                    cancel.clone(),
                )))
            }
            None => None,
        };
        tokio::spawn(stop_on_signal(cancel.clone()));
        tracing::info!(services = ?runner.services(), "starting");
        let result = runner.run(cancel.clone()).await;
        cancel.cancel();
        if let Some(server) = server {
            let _ = server.await;
        }
        Ok::<_, CliError>(result?)
    })?;
    Ok(Outcome::Success)
}

/// Cancels on the first SIGTERM or SIGINT.
async fn stop_on_signal(cancel: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("signal received: finishing the deliveries in flight");
    cancel.cancel();
}

fn logs(format: LogFormat, color: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(color).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
