//! A guess at the vhost of spec files without loading them, so that `plan`
//! can start reading the broker while the spec is still being parsed and
//! checked. Only a guess: the caller compares it with the vhost the spec
//! compiles to and reads again when they differ, so a wrong guess costs
//! time, never correctness.

use std::path::{Path, PathBuf};

/// The one vhost the files at `paths` name at their top level (`vhost:`,
/// or "/" for a file without one); none when they name several, or when a
/// path is not a regular file or a directory of them (a pipe must be read
/// once, by the loader).
pub fn peek_vhost(paths: &[PathBuf]) -> Option<String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut vhost: Option<String> = None;
    for file in &files {
        let this = file_vhost(file)?;
        match &vhost {
            Some(v) if *v != this => return None,
            _ => vhost = Some(this),
        }
    }
    vhost
}

fn file_vhost(path: &Path) -> Option<String> {
    if !std::fs::symlink_metadata(path).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines().skip_while(|l| !l.starts_with("vhost:"));
    let Some(line) = lines.next() else {
        return Some("/".into());
    };
    // `vhost: NAME`, `vhost: { name: NAME, .. }`, or a block whose
    // indented `name:` line follows.
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Vhost {
        Name(String),
        Settings { name: String },
    }
    let one_line: Option<std::collections::BTreeMap<String, Option<Vhost>>> =
        serde_saphyr::from_str(line).ok();
    match one_line?.remove("vhost")? {
        Some(Vhost::Name(name) | Vhost::Settings { name }) => Some(name),
        None => {
            let name = lines
                .take_while(|l| l.starts_with(' ') || l.trim().is_empty())
                .map(str::trim)
                .find(|l| l.starts_with("name:"))?;
            let map: std::collections::BTreeMap<String, String> =
                serde_saphyr::from_str(name).ok()?;
            map.get("name").cloned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_the_vhost_a_spec_names() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let shop = write("a.yaml", "version: 1\nvhost: \"shop\" # quoted\n");
        let plain = write("b.yaml", "version: 1\n");
        let other = write("c.yml", "version: 1\nvhost: other\n");
        let long = write(
            "d.yaml",
            "version: 1\nvhost:\n  description: x\n  name: shop\nexchanges: {}\n",
        );
        let flow = write("e.yaml", "version: 1\nvhost: { name: shop, tags: [a] }\n");
        assert_eq!(peek_vhost(&[long, flow]).as_deref(), Some("shop"));
        assert_eq!(
            peek_vhost(std::slice::from_ref(&shop)).as_deref(),
            Some("shop")
        );
        assert_eq!(
            peek_vhost(std::slice::from_ref(&plain)).as_deref(),
            Some("/")
        );
        assert_eq!(peek_vhost(&[shop.clone(), other.clone()]), None);
        assert_eq!(peek_vhost(&[dir.path().to_path_buf()]), None);
        assert_eq!(peek_vhost(&[dir.path().join("missing.yaml")]), None);
    }
}
