//! The audit log's hash chain.
//!
//! Each event's `hash` is the lowercase hex SHA-256 of
//! `prev_hash + "\n" + canonical`, where `canonical` is the JSON array
//! `[id, at, action, actor_user_id, actor_email, actor_role, merchant_id, section, channel,
//! field, old_value, new_value, client_ip]` (absent values as `null`, serialised by serde_json
//! without spaces) and `prev_hash` is the previous event's `hash`, or 64 zeros for the first
//! event. Ids are consecutive and `at` never decreases, so a removed, inserted, edited or
//! reordered event breaks the chain at that event.

use sha2::{Digest, Sha256};

use super::{Actor, AuditRecord};

/// The stored columns of an event, in the order of [`ChainedEvent`]'s fields: the one list
/// that inserts and selects share.
macro_rules! event_columns {
    () => {
        "id, at, action, actor_user_id, actor_email, actor_role, merchant_id, section, channel, \
         field, old_value, new_value, client_ip, prev_hash, hash"
    };
}
pub(crate) use event_columns;

/// `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How far ahead of this server's clock the newest event may be before it is worth a warning.
const CLOCK_SKEW_WARNING_MS: i64 = 5_000;

/// An audit event exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainedEvent {
    pub id: i64,
    pub at: i64,
    pub action: String,
    pub actor_user_id: Option<i64>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub merchant_id: Option<i64>,
    pub section: Option<String>,
    pub channel: Option<String>,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub client_ip: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The newest stored event: where the next one attaches.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainHead {
    pub id: i64,
    pub at: i64,
    pub hash: String,
}

impl ChainHead {
    /// The head once `event` is appended.
    pub fn of(event: &ChainedEvent) -> Self {
        Self {
            id: event.id,
            at: event.at,
            hash: event.hash.clone(),
        }
    }
}

impl ChainedEvent {
    /// The event that follows `head`, stamped no earlier than `head` so time never runs back.
    pub fn next(
        head: Option<ChainHead>,
        now: i64,
        actor: &Actor,
        record: &AuditRecord<'_>,
    ) -> Self {
        let (id, at, prev_hash) = match head {
            Some(head) => {
                if head.at > now + CLOCK_SKEW_WARNING_MS {
                    // Another writer's clock runs ahead: every event now takes its time.
                    tracing::warn!(
                        head_at = head.at,
                        now,
                        "audit chain head is ahead of this clock"
                    );
                }
                (head.id + 1, now.max(head.at), head.hash)
            }
            None => (1, now, GENESIS.to_owned()),
        };
        let mut event = Self {
            id,
            at,
            action: record.action.as_str().to_owned(),
            actor_user_id: actor.user_id,
            actor_email: Some(actor.email.clone()).filter(|e| !e.is_empty()),
            actor_role: actor.role.map(|role| role.as_str().to_owned()),
            merchant_id: record.merchant_id,
            section: record.section.map(str::to_owned),
            channel: record.channel.map(str::to_owned),
            field: record.field.map(str::to_owned),
            old_value: record.old_value.map(str::to_owned),
            new_value: record.new_value.map(str::to_owned),
            client_ip: actor.client_ip.clone(),
            prev_hash,
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }

    /// The documented canonical serialisation of every field but the hashes.
    pub fn canonical(&self) -> String {
        serde_json::json!([
            self.id,
            self.at,
            self.action,
            self.actor_user_id,
            self.actor_email,
            self.actor_role,
            self.merchant_id,
            self.section,
            self.channel,
            self.field,
            self.old_value,
            self.new_value,
            self.client_ip,
        ])
        .to_string()
    }

    /// SHA-256 over `prev_hash`, a newline and the canonical form.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(self.canonical().as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    Intact {
        checked: u64,
    },
    Broken {
        event_id: i64,
        reason: String,
        checked: u64,
    },
}

impl std::fmt::Display for ChainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Intact { checked } => write!(f, "audit chain intact: {checked} events checked"),
            Self::Broken {
                event_id, reason, ..
            } => {
                write!(f, "audit chain broken at event {event_id}: {reason}")
            }
        }
    }
}

/// Where the chain ends, as recorded with every append.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordedHead {
    pub last_id: i64,
    pub last_hash: String,
}

/// Checks events one at a time, oldest first, in constant memory.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    previous: Option<(i64, String)>,
    checked: u64,
}

impl ChainVerifier {
    /// Checks the next event; `Err` describes the first break.
    pub fn check(&mut self, event: &ChainedEvent) -> Result<(), ChainReport> {
        let broken = |reason: String| ChainReport::Broken {
            event_id: event.id,
            reason,
            checked: self.checked,
        };
        let (expected_id, expected_prev) = match &self.previous {
            Some((id, hash)) => (id + 1, hash.as_str()),
            None => (1, GENESIS),
        };
        if event.prev_hash != expected_prev {
            return Err(broken(format!(
                "event {} does not follow event {}: an event was removed, inserted or reordered",
                event.id,
                expected_id - 1
            )));
        }
        if event.compute_hash() != event.hash {
            return Err(broken(format!(
                "event {} was modified after it was written",
                event.id
            )));
        }
        if event.id != expected_id {
            return Err(broken(format!(
                "event {} follows event {} out of sequence: events were renumbered",
                event.id,
                expected_id - 1
            )));
        }
        self.previous = Some((event.id, event.hash.clone()));
        self.checked += 1;
        Ok(())
    }

    /// Ends the walk: the last event must be the one the chain head records, or events were
    /// cut off the end of the log.
    pub fn finish(self, recorded: Option<RecordedHead>) -> ChainReport {
        let checked = self.checked;
        let (last_id, last_hash) = self.previous.unwrap_or_else(|| (0, GENESIS.to_owned()));
        let broken = |event_id: i64, reason: String| ChainReport::Broken {
            event_id,
            reason,
            checked,
        };
        match recorded {
            None if checked == 0 => ChainReport::Intact { checked },
            None => broken(
                last_id,
                "the record of where the chain ends is missing".into(),
            ),
            Some(head) if head.last_id == last_id && head.last_hash == last_hash => {
                ChainReport::Intact { checked }
            }
            Some(head) if head.last_id > last_id => broken(
                last_id + 1,
                format!(
                    "events {} to {} were removed from the end of the log",
                    last_id + 1,
                    head.last_id
                ),
            ),
            Some(head) => broken(
                head.last_id,
                format!(
                    "event {} is not the event the chain head records",
                    head.last_id
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<ChainedEvent> {
        let actor = Actor {
            email: "a@b.co".into(),
            ..Actor::default()
        };
        let mut events: Vec<ChainedEvent> = Vec::new();
        for i in 0..n {
            let head = events.last().map(ChainHead::of);
            let record = AuditRecord::of(crate::store::AuditAction::SignIn);
            events.push(ChainedEvent::next(head, 1000 - i as i64, &actor, &record));
        }
        events
    }

    /// Walks `events` against a head recording `recorded` as the chain's end.
    fn verify_until(events: &[ChainedEvent], recorded: &ChainedEvent) -> ChainReport {
        let mut verifier = ChainVerifier::default();
        for event in events {
            if let Err(report) = verifier.check(event) {
                return report;
            }
        }
        verifier.finish(Some(RecordedHead {
            last_id: recorded.id,
            last_hash: recorded.hash.clone(),
        }))
    }

    fn verify(events: &[ChainedEvent]) -> ChainReport {
        verify_until(events, events.last().unwrap())
    }

    #[test]
    fn events_cut_off_the_end_are_named_by_the_recorded_head() {
        let events = chain(5);
        let report = verify_until(&events[..3], &events[4]);
        assert!(
            matches!(&report, ChainReport::Broken { event_id: 4, reason, .. } if reason.contains("4 to 5 were removed")),
            "{report:?}"
        );
        let empty = ChainVerifier::default().finish(None);
        assert_eq!(empty, ChainReport::Intact { checked: 0 });
    }

    #[test]
    fn an_untouched_chain_verifies_and_time_never_runs_back() {
        let events = chain(5);
        assert_eq!(verify(&events), ChainReport::Intact { checked: 5 });
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(events[0].prev_hash, GENESIS);
    }

    #[test]
    fn an_edit_a_removal_and_a_swap_are_each_named() {
        let mut edited = chain(5);
        edited[2].new_value = Some("https://evil.example.com".into());
        assert!(matches!(
            verify(&edited),
            ChainReport::Broken { event_id: 3, .. }
        ));

        let mut removed = chain(5);
        removed.remove(1);
        assert!(matches!(
            verify(&removed),
            ChainReport::Broken { event_id: 3, .. }
        ));

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert!(matches!(
            verify(&swapped),
            ChainReport::Broken { event_id: 3, .. }
        ));
    }
}
