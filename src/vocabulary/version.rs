//! RabbitMQ release lines (major.minor), the unit in which the broker's
//! behaviour changes and in which checks speak of it.

use std::fmt;

/// A RabbitMQ release line such as 3.13 or 4.0. Patch releases do not
/// change which settings the broker accepts, so they are not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// The major version: 4 in 4.1.
    pub major: u16,
    /// The minor version: 1 in 4.1.
    pub minor: u16,
}

impl Version {
    /// The release line `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Version {
        Version { major, minor }
    }

    /// Reads "3.13", "3.13.7", "4.0.5+1.gabc" or "v4.1": the first two
    /// numbers count.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches(['v', 'V']);
        let mut parts = text.split(['.', '+', '-', ' ']);
        let major = parts.next()?.parse().ok()?;
        let minor = match parts.next() {
            Some(m) => m.parse().ok()?,
            None => 0,
        };
        Some(Version { major, minor })
    }
}

/// Written as "3.13", as the spec writes it.
impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The release lines warren knows, oldest first. A spec that states no
/// version, checked without a broker, is checked for all of them.
pub const SUPPORTED: &[Version] = &[
    Version::new(3, 10),
    Version::new(3, 11),
    Version::new(3, 12),
    Version::new(3, 13),
    Version::new(4, 0),
    Version::new(4, 1),
    Version::new(4, 2),
    Version::new(4, 3),
];

/// The versions a topology is meant for: those the spec names, the live
/// broker's, or, when neither is known, every supported one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    versions: Vec<Version>,
    /// Whether the versions were stated or observed, rather than assumed.
    known: bool,
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            versions: SUPPORTED.to_vec(),
            known: false,
        }
    }
}

impl Targets {
    /// The given versions; none means every supported one.
    pub fn of(versions: impl IntoIterator<Item = Version>) -> Targets {
        let mut versions: Vec<Version> = versions.into_iter().collect();
        if versions.is_empty() {
            return Targets::default();
        }
        versions.sort();
        versions.dedup();
        Targets {
            versions,
            known: true,
        }
    }

    /// Whether the versions were stated by the spec or read from the broker,
    /// rather than assumed.
    pub fn is_known(&self) -> bool {
        self.known
    }

    /// The versions, oldest first, each once.
    pub fn versions(&self) -> &[Version] {
        &self.versions
    }

    /// The targeted versions at or after `from`, if any: the releases a
    /// rule that starts there concerns.
    pub fn from(&self, from: Version) -> Option<Concerned<'_>> {
        let hit: Vec<Version> = self
            .versions
            .iter()
            .copied()
            .filter(|v| *v >= from)
            .collect();
        (!hit.is_empty()).then_some(Concerned {
            versions: hit,
            targets: self,
        })
    }

    /// The targeted versions before `until`, if any.
    pub fn before(&self, until: Version) -> Option<Concerned<'_>> {
        let hit: Vec<Version> = self
            .versions
            .iter()
            .copied()
            .filter(|v| *v < until)
            .collect();
        (!hit.is_empty()).then_some(Concerned {
            versions: hit,
            targets: self,
        })
    }
}

/// The targeted versions a finding concerns, for its text.
#[derive(Debug)]
pub struct Concerned<'t> {
    versions: Vec<Version>,
    targets: &'t Targets,
}

impl Concerned<'_> {
    /// Whether the versions were assumed (every supported one), not stated
    /// or observed.
    pub fn assumed(&self) -> bool {
        !self.targets.known
    }

    /// The oldest concerned version.
    pub fn first(&self) -> Version {
        self.versions[0]
    }

    /// Whether every targeted version is concerned, and the targets were
    /// stated or observed: the finding is certain, not a caution.
    pub fn certain(&self) -> bool {
        self.targets.known && self.versions.len() == self.targets.versions.len()
    }
}

impl fmt::Display for Concerned<'_> {
    /// "RabbitMQ 4.0" for one version, "RabbitMQ 3.13 and 4.0" for
    /// a few, "RabbitMQ 4.0 and later" when they run to the newest
    /// supported release unstated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.versions;
        if !self.targets.known {
            let last = SUPPORTED[SUPPORTED.len() - 1];
            return match (v.first(), v.last()) {
                (Some(first), Some(l)) if *l == last && *first == SUPPORTED[0] => {
                    write!(f, "every RabbitMQ version")
                }
                (Some(first), Some(l)) if *l == last => write!(f, "RabbitMQ {first} and later"),
                (Some(_), Some(l)) => write!(f, "RabbitMQ {l} and earlier"),
                _ => Ok(()),
            };
        }
        let names: Vec<String> = v.iter().map(Version::to_string).collect();
        match names.as_slice() {
            [one] => write!(f, "RabbitMQ {one}"),
            [rest @ .., last] => write!(f, "RabbitMQ {} and {last}", rest.join(", ")),
            [] => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_strings() {
        assert_eq!(Version::parse("3.13"), Some(Version::new(3, 13)));
        assert_eq!(Version::parse("3.10.8"), Some(Version::new(3, 10)));
        assert_eq!(Version::parse("4.0.5+2.g1"), Some(Version::new(4, 0)));
        assert_eq!(Version::parse("v4"), Some(Version::new(4, 0)));
        assert_eq!(Version::parse("four"), None);
        assert_eq!(Version::parse("3.x"), None);
    }

    #[test]
    fn names_the_versions_a_rule_concerns() {
        let any = Targets::default();
        let four = Version::new(4, 0);
        assert_eq!(
            any.from(four).unwrap().to_string(),
            "RabbitMQ 4.0 and later"
        );
        assert!(!any.from(four).unwrap().certain());
        assert_eq!(
            any.before(Version::new(3, 12)).unwrap().to_string(),
            "RabbitMQ 3.11 and earlier"
        );
        let stated = Targets::of([Version::new(3, 13), four]);
        let hit = stated.from(four).unwrap();
        assert_eq!(hit.to_string(), "RabbitMQ 4.0");
        assert!(!hit.certain());
        assert!(stated.from(Version::new(4, 3)).is_none());
        let one = Targets::of([Version::new(4, 3)]);
        assert!(one.from(four).unwrap().certain());
        assert_eq!(one.from(four).unwrap().to_string(), "RabbitMQ 4.3");
    }
}
