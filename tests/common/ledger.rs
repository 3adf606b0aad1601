//! What a load of CONFIGURE saves must leave behind, checked against the database after the
//! load (and after a crash): every acknowledged save is stored, and every settings version has
//! exactly its audit events and no event lacks its version. Shared by the crash tests and
//! `bench/load.rs`; the loads change both URLs on every save, so each save is one pair of
//! `settings_change` events.

use std::collections::BTreeMap;

use payhook::store::Db;

/// A save the server acknowledged (a 303 or 200 reached the client).
#[derive(Debug, Clone)]
pub struct AckedSave {
    pub merchant_id: i64,
    pub section: String,
    pub channel: String,
    pub sandbox_url: String,
    pub production_url: String,
}

type ChannelKey = (i64, String, String);
/// A channel's (sandbox URL, production URL).
type Urls = (Option<String>, Option<String>);

#[derive(sqlx::FromRow)]
struct Event {
    id: i64,
    at: i64,
    merchant_id: i64,
    section: String,
    channel: String,
    field: String,
    old_value: Option<String>,
    new_value: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    merchant_id: i64,
    section: String,
    channel: String,
    sandbox_url: Option<String>,
    production_url: Option<String>,
    version: i64,
}

/// What [`check_saves`] found.
#[derive(Debug, Default)]
pub struct SavesReport {
    pub channels: usize,
    pub versions: i64,
    pub events: usize,
    pub acknowledged: usize,
}

/// Checks every settings row against its `settings_change` events and every acknowledged save
/// against both; names the first discrepancy.
pub async fn check_saves(db: &Db, acked: &[AckedSave]) -> Result<SavesReport, String> {
    let (events, rows) = read(db).await.map_err(|e| format!("reading: {e}"))?;
    let mut by_channel: BTreeMap<ChannelKey, Vec<Event>> = BTreeMap::new();
    let events_count = events.len();
    for event in events {
        let key = (
            event.merchant_id,
            event.section.clone(),
            event.channel.clone(),
        );
        by_channel.entry(key).or_default().push(event);
    }
    let mut report = SavesReport {
        events: events_count,
        acknowledged: acked.len(),
        ..SavesReport::default()
    };
    // (sandbox, production) of every save the events record, per channel, oldest first.
    let mut saves: BTreeMap<ChannelKey, Vec<Urls>> = BTreeMap::new();
    for row in &rows {
        let key = (row.merchant_id, row.section.clone(), row.channel.clone());
        let events = by_channel.remove(&key).unwrap_or_default();
        let recorded = pairs(&key, &events)?;
        if recorded.len() as i64 != row.version {
            return Err(format!(
                "{key:?} is at version {} but its audit events record {} saves",
                row.version,
                recorded.len()
            ));
        }
        let stored = (row.sandbox_url.clone(), row.production_url.clone());
        if recorded.last() != Some(&stored) {
            return Err(format!(
                "{key:?} holds {stored:?}, its last audit events say {:?}",
                recorded.last()
            ));
        }
        report.channels += 1;
        report.versions += row.version;
        saves.insert(key, recorded);
    }
    if let Some((key, events)) = by_channel.into_iter().next() {
        return Err(format!(
            "{} audit events for {key:?}, which has no settings row",
            events.len()
        ));
    }
    for save in acked {
        let key = (save.merchant_id, save.section.clone(), save.channel.clone());
        let wanted = (
            Some(save.sandbox_url.clone()),
            Some(save.production_url.clone()),
        );
        if !saves.get(&key).is_some_and(|s| s.contains(&wanted)) {
            return Err(format!("acknowledged save lost: {save:?}"));
        }
    }
    Ok(report)
}

/// The saves one channel's events record: pairs of adjacent events (sandbox URL, then
/// production URL) with one time, each field's old value the one the save before left.
fn pairs(key: &ChannelKey, events: &[Event]) -> Result<Vec<Urls>, String> {
    if !events.len().is_multiple_of(2) {
        return Err(format!("{key:?}: {} events, not pairs", events.len()));
    }
    let mut current: Urls = (None, None);
    let mut saves = Vec::with_capacity(events.len() / 2);
    for pair in events.chunks(2) {
        let [sandbox, production] = pair else {
            unreachable!("chunks of two")
        };
        let whole = sandbox.field == "sandbox_url"
            && production.field == "production_url"
            && production.id == sandbox.id + 1
            && production.at == sandbox.at;
        if !whole {
            return Err(format!(
                "{key:?}: events {} and {} are not one save",
                sandbox.id, production.id
            ));
        }
        if (sandbox.old_value.clone(), production.old_value.clone()) != current {
            return Err(format!(
                "{key:?}: event {} starts from a value no save left",
                sandbox.id
            ));
        }
        current = (sandbox.new_value.clone(), production.new_value.clone());
        saves.push(current.clone());
    }
    Ok(saves)
}

/// Both tables as of one moment: saves committing meanwhile cannot tear the two reads apart.
async fn read(db: &Db) -> sqlx::Result<(Vec<Event>, Vec<Row>)> {
    const EVENTS: &str = "SELECT id, at, merchant_id, section, channel, field, old_value, \
         new_value FROM audit_events WHERE action = 'settings_change' ORDER BY id";
    const ROWS: &str = "SELECT merchant_id, section, channel, sandbox_url, production_url, \
         version FROM channel_settings";
    match db {
        // A deferred transaction reads one WAL snapshot from its first SELECT on.
        Db::Sqlite(pools) => {
            let mut tx = pools.write.begin().await?;
            let events = sqlx::query_as(EVENTS).fetch_all(&mut *tx).await?;
            let rows = sqlx::query_as(ROWS).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok((events, rows))
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let events = sqlx::query_as(EVENTS).fetch_all(&mut *tx).await?;
            let rows = sqlx::query_as(ROWS).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok((events, rows))
        }
    }
}
