//! PostgreSQL: one schema per shop (a test makes its own), reached through
//! a small pool, and the migrations that build it.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

/// The shop's migrations, in order. Each names the service owning it.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "orders", include_str!("migrations/001_orders.sql")),
    (2, "inventory", include_str!("migrations/002_inventory.sql")),
    (3, "payment", include_str!("migrations/003_payment.sql")),
    (4, "shipping", include_str!("migrations/004_shipping.sql")),
    (
        5,
        "notification",
        include_str!("migrations/005_notification.sql"),
    ),
    (6, "audit", include_str!("migrations/006_audit.sql")),
    (
        7,
        "orders",
        include_str!("migrations/007_orders_country_payment.sql"),
    ),
    (
        8,
        "india_desk",
        include_str!("migrations/008_regional_desk.sql"),
    ),
];

/// Where the shop's data lives: `SHOP_DATABASE_URL` (a libpq connection
/// string) and `SHOP_SCHEMA`.
#[derive(Clone, Debug)]
pub struct Database {
    pub url: String,
    pub schema: String,
}

impl Database {
    pub fn from_env() -> Database {
        Database {
            url: std::env::var("SHOP_DATABASE_URL")
                .unwrap_or_else(|_| "host=127.0.0.1 user=shop password=shop dbname=shop".into()),
            schema: std::env::var("SHOP_SCHEMA").unwrap_or_else(|_| "shop".into()),
        }
    }

    fn config(&self) -> Result<tokio_postgres::Config, String> {
        if !self
            .schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "SHOP_SCHEMA {:?}: use letters, digits and underscores",
                self.schema
            ));
        }
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| format!("SHOP_DATABASE_URL: {e}"))?;
        config.options(format!("-c search_path={}", self.schema));
        config.application_name("shop");
        Ok(config)
    }

    /// One connection, for a process that lives for one message.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, String> {
        let (client, connection) = self
            .config()?
            .connect(NoTls)
            .await
            .map_err(|e| format!("connect to PostgreSQL: {}", with_cause(&e)))?;
        tokio::spawn(connection);
        Ok(client)
    }

    pub fn pool(&self, size: usize) -> Result<Pool, String> {
        let manager = Manager::from_config(
            self.config()?,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(size)
            .build()
            .map_err(|e| format!("PostgreSQL pool: {e}"))
    }

    /// Creates the schema and runs the migrations it has not had yet, under
    /// an advisory lock so that two processes starting at once do not race.
    pub async fn migrate(&self) -> Result<Vec<String>, String> {
        let mut client = self.connect().await?;
        let sql = |e: tokio_postgres::Error| format!("migrate schema {}: {e}", self.schema);
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {0}; SELECT pg_advisory_lock(hashtext('shop-migrate'));
                 CREATE TABLE IF NOT EXISTS {0}.schema_migrations (
                     version integer PRIMARY KEY, service text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now())",
                self.schema
            ))
            .await
            .map_err(sql)?;
        let mut applied = Vec::new();
        for (version, service, text) in MIGRATIONS {
            let transaction = client.transaction().await.map_err(sql)?;
            let done = transaction
                .query_opt(
                    "SELECT 1 FROM schema_migrations WHERE version = $1",
                    &[version],
                )
                .await
                .map_err(sql)?;
            if done.is_none() {
                transaction.batch_execute(text).await.map_err(sql)?;
                transaction
                    .execute(
                        "INSERT INTO schema_migrations (version, service) VALUES ($1, $2)",
                        &[version, service],
                    )
                    .await
                    .map_err(sql)?;
                applied.push(format!("{version:03} {service}"));
            }
            transaction.commit().await.map_err(sql)?;
        }
        client
            .batch_execute("SELECT pg_advisory_unlock(hashtext('shop-migrate'))")
            .await
            .map_err(sql)?;
        Ok(applied)
    }

    /// Drops the schema and everything in it.
    pub async fn drop(&self) -> Result<(), String> {
        let client = self.connect().await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .map_err(|e| format!("drop schema {}: {e}", self.schema))
    }
}

/// A PostgreSQL error with the server's own words: the error itself often
/// says only "db error".
pub fn with_cause(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {}", db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}
