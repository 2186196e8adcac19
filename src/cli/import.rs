use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::{CliError, Output};
use crate::definitions::from_definitions;
use crate::spec::to_spec_yaml;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A RabbitMQ definitions export (JSON), of the cluster or of one vhost.
    pub file: PathBuf,
    /// Directory for the spec files, one per vhost (`default.yaml` for "/").
    /// Without it a single-vhost file is written to standard output.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// The vhost of a one-vhost export, whose objects name none.
    #[arg(long, default_value = "/")]
    pub vhost: String,
}

/// Turns a definitions export into spec YAML.
pub fn run(args: &ImportArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let text =
        std::fs::read_to_string(&args.file).map_err(|source| crate::spec::LoadError::Io {
            path: args.file.clone(),
            source,
        })?;
    let invalid = |e: &dyn std::fmt::Display| {
        CliError::Usage(format!(
            "{} is not a RabbitMQ definitions export: {e}",
            args.file.display()
        ))
    };
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid(&e))?;
    let imported = from_definitions(&doc, &args.vhost).map_err(|e| invalid(&e))?;
    for line in &imported.unsupported {
        writeln!(out.stderr, "warning: not imported: {line}")?;
    }
    match (&args.out_dir, imported.topologies.as_slice()) {
        (None, [one]) => out
            .stdout
            .write_all(to_spec_yaml(one).map_err(CliError::Serialize)?.as_bytes())?,
        (None, many) => {
            return Err(CliError::Usage(format!(
                "{} holds {} vhosts: give --out-dir DIR for one file per vhost",
                args.file.display(),
                many.len()
            )));
        }
        (Some(dir), topologies) => {
            std::fs::create_dir_all(dir)?;
            for t in topologies {
                let path = dir.join(format!("{}.yaml", file_stem(&t.vhost)));
                std::fs::write(&path, to_spec_yaml(t).map_err(CliError::Serialize)?)?;
                writeln!(out.stderr, "wrote {} (vhost {:?})", path.display(), t.vhost)?;
            }
        }
    }
    Ok(Outcome::Success)
}

/// A file name for a vhost: "/" is `default`, other characters outside
/// `[A-Za-z0-9._-]` become `_`.
fn file_stem(vhost: &str) -> String {
    let stem: String = vhost
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "default".into()
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vhost_file_names() {
        assert_eq!(super::file_stem("/"), "default");
        assert_eq!(super::file_stem("/agents"), "agents");
        assert_eq!(super::file_stem("shop eu"), "shop_eu");
    }
}
