//! Which messages may be hurting the others in flight, and running those
//! alone until it is known.
//!
//! Two failures are shared by every message in flight, not only by the one
//! that caused them: a stdio handler process that dies, and a connection
//! the broker closes. Charging each message an attempt for them would
//! retry innocent messages on the culprit's schedule, crash with it again,
//! and dead-letter them with it. So such a failure only marks the messages
//! it touched as *suspects*; a suspect runs alone (every other delivery of
//! the service waits), and only a failure it meets alone counts against it.
//!
//! The marks live for the worker's life, across reconnections (a lost
//! connection brings its messages back as new deliveries), keyed by the
//! message's id and body.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How many connections a message may lose while it runs alone before it
/// is dead-lettered as one that kills the connection.
pub const MAX_SOLO_LOSSES: u32 = 2;

/// Marks kept at most; past this the oldest knowledge is dropped (a
/// suspect then runs with the others again, and is found again).
const MAX_MARKS: usize = 10_000;

#[derive(Default)]
pub struct Suspects {
    marks: Mutex<HashMap<u64, u32>>,
    alone: RwLock<()>,
}

/// A message's identity across redeliveries.
pub fn identity(message_id: Option<&str>, body: &[u8]) -> u64 {
    // DefaultHasher::new() has fixed keys: the same message, the same id.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    message_id.hash(&mut h);
    body.hash(&mut h);
    h.finish()
}

/// A delivery's permission to run: shared with the others, or alone.
pub enum Turn<'a> {
    Shared(#[allow(dead_code)] RwLockReadGuard<'a, ()>),
    Alone(#[allow(dead_code)] RwLockWriteGuard<'a, ()>),
}

impl Turn<'_> {
    pub fn alone(&self) -> bool {
        matches!(self, Turn::Alone(_))
    }
}

impl Suspects {
    /// Waits for this message's turn: alone when it is a suspect, else
    /// beside the others (but never beside a suspect).
    pub async fn turn(&self, id: u64) -> Turn<'_> {
        if self.losses(id).is_some() {
            Turn::Alone(self.alone.write().await)
        } else {
            Turn::Shared(self.alone.read().await)
        }
    }

    /// The connections the message lost while alone, when it is a suspect.
    pub fn losses(&self, id: u64) -> Option<u32> {
        self.marks.lock().ok()?.get(&id).copied()
    }

    /// Marks the message a suspect (it was in flight when a shared failure
    /// struck), and, when `alone`, counts a connection lost against it.
    pub fn suspect(&self, id: u64, lost_alone: bool) {
        if let Ok(mut marks) = self.marks.lock() {
            if marks.len() >= MAX_MARKS && !marks.contains_key(&id) {
                marks.clear();
            }
            let losses = marks.entry(id).or_default();
            if lost_alone {
                *losses = losses.saturating_add(1);
            }
        }
    }

    /// The message is settled: nothing more to know about it.
    pub fn clear(&self, id: u64) {
        if let Ok(mut marks) = self.marks.lock() {
            marks.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_suspect_runs_alone_and_losses_count_only_when_alone() {
        let s = Suspects::default();
        let (a, b) = (identity(Some("a"), b"1"), identity(Some("b"), b"1"));
        assert_ne!(a, b);
        assert_eq!(a, identity(Some("a"), b"1"));
        let first = s.turn(a).await;
        assert!(!first.alone());
        // Another innocent runs beside it.
        let second = s.turn(b).await;
        drop((first, second));
        s.suspect(a, false);
        assert_eq!(s.losses(a), Some(0));
        let turn = s.turn(a).await;
        assert!(turn.alone());
        // Nobody else runs while a suspect does.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), s.turn(b))
                .await
                .is_err()
        );
        drop(turn);
        s.suspect(a, true);
        s.suspect(a, true);
        assert_eq!(s.losses(a), Some(2));
        s.clear(a);
        assert_eq!(s.losses(a), None);
        assert!(!s.turn(a).await.alone());
    }
}
