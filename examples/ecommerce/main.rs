//! `shop`: the services of the order flow in topologies/ecommerce.yaml,
//! with their state in PostgreSQL. One binary, one subcommand per service
//! process, each using the handler kind that suits it:
//!
//! | service      | kind     | run by                                  |
//! |--------------|----------|-----------------------------------------|
//! | order_api    | (publishes only) | `shop api`, the HTTP API        |
//! | orders       | Rust API | `shop api`, beside the HTTP API         |
//! | inventory    | http     | `shop inventory`, POSTed to by warren   |
//! | payment      | stdio    | `warren run`, which starts `shop payment` |
//! | cod          | stdio    | `warren run`, which starts `shop cod`     |
//! | india_desk   | stdio    | `warren run`, which starts `shop region`  |
//! | notification | stdio    | `warren run`, which starts `shop notify`  |
//! | shipping     | exec     | `warren run`, `shop ship` per message   |
//! | audit        | Rust API | `shop audit`                            |
//!
//! `scripts/shop.sh up` starts them all and places a batch of orders.
//! Settings come from the environment: `SHOP_DATABASE_URL`, `SHOP_SCHEMA`,
//! `SHOP_SPEC`, and warren's own `WARREN_*` for the broker.

mod api;
mod audit;
mod cod;
mod db;
mod inventory;
mod load;
mod notification;
mod order;
mod payment;
mod region;
mod shipping;

use std::time::Instant;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "shop", about = "The e-commerce order flow, run by warren")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the schema and run the migrations it lacks.
    Migrate,
    /// Drop the schema and everything in it.
    Drop,
    /// The order API and the order service's consumer.
    Api {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
    },
    /// The inventory service's HTTP handler.
    Inventory {
        #[arg(long, default_value = "127.0.0.1:8081")]
        addr: String,
    },
    /// The payment service for prepaid orders (a stdio handler; warren
    /// starts it).
    Payment,
    /// Cash-on-delivery orders (a stdio handler; warren starts it).
    Cod,
    /// The India desk, the orders of one region (a stdio handler).
    Region,
    /// The notification service (a stdio handler; warren starts it).
    Notify,
    /// The shipping service (an exec handler: one message on stdin).
    Ship,
    /// The audit service.
    Audit,
    /// Place a batch of orders, wait for all of them, print a summary.
    Load(load::Load),
}

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tokio_postgres=warn".into()),
        )
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    // `ship` answers through its exit code; the others through Result.
    if let Command::Ship = cli.command {
        let outcome = runtime.block_on(shipping::run(&db::Database::from_env()));
        warren::worker::contract::exit_with(outcome);
    }
    if let Err(e) = runtime.block_on(run(cli.command)) {
        eprintln!("shop: {e}");
        std::process::exit(1);
    }
}

fn topology() -> Result<warren::topology::Topology, String> {
    let path = std::env::var("SHOP_SPEC").unwrap_or_else(|_| "topologies/ecommerce.yaml".into());
    let validation =
        warren::validate::validate(&[path.clone().into()]).map_err(|e| e.to_string())?;
    if validation.has_errors() {
        return Err(format!("{path} has errors: run `warren validate {path}`"));
    }
    validation
        .topologies
        .into_iter()
        .next()
        .ok_or_else(|| format!("{path}: no topology"))
}

fn settings() -> Result<warren::broker::Settings, String> {
    warren::broker::Settings::resolve(&Default::default(), |v| std::env::var(v).ok())
        .map_err(|e| e.to_string())
}

/// Cancelled on Ctrl-C or SIGTERM: the servers stop taking work, warren
/// finishes what is in flight.
fn shutdown() -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        token.cancel();
    });
    cancel
}

async fn run(command: Command) -> Result<(), String> {
    let database = db::Database::from_env();
    match command {
        Command::Migrate => {
            let applied = database.migrate().await?;
            if applied.is_empty() {
                println!("schema {}: up to date", database.schema);
            }
            for migration in applied {
                println!("schema {}: applied {migration}", database.schema);
            }
            Ok(())
        }
        Command::Drop => database.drop().await,
        Command::Api { addr } => {
            api::serve(
                database.pool(16)?,
                topology()?,
                settings()?,
                &addr,
                shutdown(),
            )
            .await
        }
        Command::Inventory { addr } => {
            inventory::serve(database.pool(16)?, &addr, shutdown()).await
        }
        Command::Payment => payment::run(database.pool(8)?).await,
        Command::Cod => cod::run(database.pool(4)?).await,
        Command::Region => region::run(database.connect().await?).await,
        Command::Notify => notification::run(database.connect().await?).await,
        Command::Ship => unreachable!("answered in main"),
        Command::Audit => {
            let pool = database.pool(8)?;
            warren::worker::Runner::new(topology()?, settings()?)
                .handler(
                    "audit",
                    warren::worker::handler::function(move |m| audit::record(pool.clone(), m)),
                )
                .map_err(|e| e.to_string())?
                .run(shutdown())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Load(mut load) => {
            if load.batch.is_empty() {
                load.batch = format!("b{}", warren::worker::emit::now_millis() / 1000);
            }
            let (topology, settings) = (topology()?, settings()?);
            let client = database.connect().await?;
            let started = Instant::now();
            let repeated = load::place(&load, load::orders(&load)).await?;
            let placed = started.elapsed();
            let mut summary = load::wait(&load, &client, &settings, &topology, started).await?;
            summary.placed_seconds = placed.as_secs_f64();
            summary.finished_seconds = started.elapsed().as_secs_f64();
            summary.repeated_posts = repeated;
            if load.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            } else {
                load::print(&summary);
            }
            if summary.complete() {
                Ok(())
            } else {
                Err(format!(
                    "{} orders did not finish, {} were charged twice",
                    summary.unfinished, summary.charged_twice
                ))
            }
        }
    }
}
