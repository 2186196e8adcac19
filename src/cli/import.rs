use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::{CliError, Output};
use crate::definitions::{DefinitionsError, from_definitions};
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
    let bytes = crate::spec::read_file(&args.file)?;
    let invalid = |e: &dyn std::fmt::Display| {
        CliError::Failed(format!(
            "{} is not a RabbitMQ definitions export: {e}",
            args.file.display()
        ))
    };
    // Editors on some systems start a UTF-8 file with a byte-order mark.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let doc: serde_json::Value = serde_json::from_slice(text).map_err(|e| invalid(&e))?;
    let imported = from_definitions(&doc, &args.vhost).map_err(|e| match e {
        DefinitionsError::Invalid(why) => CliError::Failed(format!(
            "{}: {why}\n  help: fix the value in the file; RabbitMQ refuses it too",
            args.file.display()
        )),
        shape => invalid(&shape),
    })?;
    for line in &imported.unsupported {
        writeln!(
            out.stderr,
            "warning: not imported: {}",
            crate::printable::for_people(line)
        )?;
    }
    match (&args.out_dir, imported.topologies.as_slice()) {
        (None, [one]) => out.stdout.write_all(to_spec_yaml(one)?.as_bytes())?,
        (None, many) => {
            return Err(CliError::Usage(format!(
                "{} holds {} vhosts: give --out-dir DIR for one file per vhost",
                args.file.display(),
                many.len()
            )));
        }
        (Some(dir), topologies) => {
            std::fs::create_dir_all(dir).map_err(CliError::write_file(dir))?;
            let vhosts: Vec<&str> = topologies.iter().map(|t| t.vhost.as_str()).collect();
            for (t, stem) in topologies.iter().zip(file_stems(&vhosts)) {
                let path = dir.join(format!("{stem}.yaml"));
                std::fs::write(&path, to_spec_yaml(t)?).map_err(CliError::write_file(&path))?;
                writeln!(
                    out.stderr,
                    "wrote {} (vhost {:?})",
                    path.display(),
                    crate::printable::clip(&t.vhost)
                )?;
            }
        }
    }
    Ok(Outcome::Success)
}

/// One file name per vhost, each different from the others even on a
/// case-insensitive file system, and each one `validate DIR` reads (no
/// leading dot). "/" is `default`; characters outside `[A-Za-z0-9._-]`
/// become `_`; a name taken already gets `-2`, `-3`, ... (the vhost itself
/// is written inside the file, so the name only has to be unique).
fn file_stems(vhosts: &[&str]) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    vhosts
        .iter()
        .map(|vhost| {
            let base = file_stem(vhost);
            let mut stem = base.clone();
            let mut n = 1;
            while !taken.insert(stem.to_lowercase()) {
                n += 1;
                stem = format!("{base}-{n}");
            }
            stem
        })
        .collect()
}

fn file_stem(vhost: &str) -> String {
    let mut stem: String = vhost
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
    if stem.starts_with('.') {
        // Hidden files are not read by `validate DIR`.
        stem.replace_range(..1, "_");
    }
    // File names stop at 255 bytes; leave room for a suffix and `.yaml`.
    stem.truncate(200);
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
        assert_eq!(super::file_stem(".hidden"), "_hidden");
    }

    #[test]
    fn every_vhost_gets_its_own_file() {
        let stems = super::file_stems(&["/", "Default", "default", "a b", "a_b", ".x", "_x"]);
        assert_eq!(
            stems,
            [
                "default",
                "Default-2",
                "default-3",
                "a_b",
                "a_b-2",
                "_x",
                "_x-2"
            ]
        );
    }
}
