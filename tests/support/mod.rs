//! A builder over assert_cmd for running the `warren` binary.

use assert_cmd::Command;

/// `Warren::new().args(["validate", "x.yaml"]).status(1)`
#[must_use]
pub struct Warren {
    command: Command,
}

pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Assertions on what a run printed, showing all of it when they fail.
impl Ran {
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Ran {
        self.expect("stdout", &self.stdout, text, true)
    }

    #[track_caller]
    pub fn stdout_lacks(&self, text: &str) -> &Ran {
        self.expect("stdout", &self.stdout, text, false)
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Ran {
        self.expect("stderr", &self.stderr, text, true)
    }

    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Ran {
        self.expect("stderr", &self.stderr, text, false)
    }

    #[track_caller]
    fn expect(&self, stream: &str, printed: &str, text: &str, present: bool) -> &Ran {
        let verb = if present { "lacks" } else { "has" };
        assert!(
            printed.contains(text) == present,
            "{stream} {verb} {text:?}:\n{printed}"
        );
        self
    }
}

impl Warren {
    pub fn new() -> Warren {
        let mut command =
            Command::cargo_bin("warren").expect("the warren binary is built by cargo test");
        command.env("NO_COLOR", "1").env_remove("WARREN_PASSWORD");
        Warren { command }
    }

    pub fn args<I, S>(mut self, args: I) -> Warren
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Warren {
        self.command.env(key, value);
        self
    }

    pub fn arg_path(mut self, path: &std::path::Path) -> Warren {
        self.command.arg(path);
        self
    }

    /// Runs; returns the exit code and what was printed.
    pub fn status_any(mut self) -> Ran {
        let output = self.command.output().expect("warren runs");
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs and asserts the exit code; returns what was printed.
    pub fn status(self, code: i32) -> Ran {
        let ran = self.status_any();
        assert_eq!(
            ran.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            ran.stdout,
            ran.stderr
        );
        ran
    }

    pub fn success(self) -> Ran {
        self.status(0)
    }
}

/// The definitions corpus (tests/corpus/definitions/*.json), in name order.
pub fn corpus() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("tests/corpus/definitions")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "corpus has {} files", files.len());
    files
}

/// A worker metric of `service` in Prometheus text, summed over its other
/// labels.
pub fn metric(text: &str, name: &str, service: &str) -> f64 {
    let label = format!("service=\"{service}\"");
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub mod broker;
pub mod node;
pub mod rng;
