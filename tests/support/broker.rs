//! A vhost of its own for each broker test.

use std::sync::atomic::{AtomicUsize, Ordering};

use rabbitmq_http_client::requests::VirtualHostParams;
use warren::broker::{Http, Settings, SettingsInput, http_client};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Settings for the local test broker (guest on localhost, or the
/// WARREN_* variables when set).
pub fn settings() -> Settings {
    Settings::resolve(&SettingsInput::default(), |k| std::env::var(k).ok())
        .expect("broker settings")
}

/// `warren-test.<name>.<pid>-<n>`: created empty with guest's full
/// permissions, deleted on drop (also when the test panics), so tests run
/// in parallel and never see what another run left.
pub struct TestVhost {
    pub name: String,
    pub http: Http,
    pub settings: Settings,
}

impl TestVhost {
    pub async fn new(name: &str) -> TestVhost {
        let name = format!(
            "warren-test.{name}.{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let settings = settings();
        let http = http_client(&settings).expect("http client");
        let _ = http.api().delete_vhost(&name, true).await;
        http.api()
            .create_vhost(&VirtualHostParams::named(&name))
            .await
            .unwrap_or_else(|e| {
                panic!("create vhost {name}: {e} (is the broker up? run scripts/broker.sh)")
            });
        http.api()
            .grant_full_permissions(&settings.user, &name)
            .await
            .expect("grant permissions");
        TestVhost {
            name,
            http,
            settings,
        }
    }

    /// Loads a definitions document into this vhost.
    pub async fn import(&self, definitions: serde_json::Value) {
        self.http
            .api()
            .import_vhost_definitions(&self.name, definitions)
            .await
            .unwrap_or_else(|e| panic!("import definitions into {}: {e:?}", self.name));
    }
}

impl Drop for TestVhost {
    fn drop(&mut self) {
        let name = self.name.clone();
        let settings = self.settings.clone();
        // Drop cannot await; a short-lived runtime on its own thread can.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(http) = http_client(&settings) {
                    let _ = http.api().delete_vhost(&name, true).await;
                }
            });
        })
        .join();
    }
}
