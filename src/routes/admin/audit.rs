//! `/admin/audit`: the audit log with filters and keyset pages, its CSV export and the chain
//! check.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};

use crate::auth::{CsrfForm, EmptyForm, RequestMeta, Staff};
use crate::catalog::{SECTIONS, Section};
use crate::domain::DAY_MS;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::admin::audit::{AuditPage, AuditQuery};
use crate::pages::{Layout, render_page};
use crate::paths;
use crate::state::AppState;
use crate::store::{AuditAction, AuditEntry, AuditFilter, AuditRecord, ChainReport};

pub const AUDIT_PAGE_SIZE: i64 = 50;
const CSV_BATCH: i64 = 1000;

/// Turns the typed filters into a query. Nonsense (an unknown section or action, a malformed
/// date or cursor) is a 400 naming the field; a merchant code or an email is the start of one,
/// trimmed and lower-cased as both are stored, and one that starts none is an empty result.
fn parse_filter(query: &AuditQuery) -> Result<AuditFilter, AppError> {
    let given = |value: &Option<String>| crate::pages::given(value).map(str::to_owned);
    let bad = |what: &str| AppError::BadRequest(tf("audit.bad_filter", &[&what]));
    let mut filter = AuditFilter {
        merchant: given(&query.merchant).map(|m| m.to_lowercase()),
        exact_merchant: given(&query.exact).is_some_and(|exact| exact == "1"),
        section: given(&query.section),
        channel: given(&query.channel),
        actor: given(&query.actor).map(|a| a.to_lowercase()),
        ..AuditFilter::default()
    };
    if filter
        .section
        .as_deref()
        .is_some_and(|s| Section::find(s).is_none())
    {
        return Err(bad("section"));
    }
    let known_channel = |c: &str| SECTIONS.iter().any(|s| s.channel(c).is_some());
    if filter.channel.as_deref().is_some_and(|c| !known_channel(c)) {
        return Err(bad("channel"));
    }
    filter.action = given(&query.action)
        .map(|a| a.parse::<AuditAction>().map_err(|_| bad("action")))
        .transpose()?;
    filter.from_ms = given(&query.from)
        .map(|d| {
            crate::i18n::zone()
                .day_start_ms(&d)
                .ok_or_else(|| bad("from"))
        })
        .transpose()?;
    filter.to_ms = given(&query.to)
        .map(|d| {
            crate::i18n::zone()
                .day_start_ms(&d)
                .map(|ms| ms + DAY_MS)
                .ok_or_else(|| bad("to"))
        })
        .transpose()?;
    filter.before = given(&query.before)
        .map(|b| {
            b.parse::<i64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad("before"))
        })
        .transpose()?;
    Ok(filter)
}

pub async fn audit(
    state: web::Data<AppState>,
    Staff(user): Staff,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let filter = parse_filter(&query)?;
    let mut entries = state.db.audit_page(&filter, AUDIT_PAGE_SIZE + 1).await?;
    let next = (entries.len() as i64 > AUDIT_PAGE_SIZE).then(|| {
        entries.truncate(AUDIT_PAGE_SIZE as usize);
        let last = entries.last().map_or(0, |e| e.event.id);
        let link = crate::pages::page_query(&query.filters_query(), "before", last);
        format!("{}{link}", paths::ADMIN_AUDIT)
    });
    let page = AuditPage {
        layout: Layout::for_user(t("nav.audit_log"), &user),
        query,
        entries,
        next,
        actions: AuditAction::ALL,
    };
    Ok(render_page(StatusCode::OK, &page))
}

/// Walks the whole chain now and reports the outcome on the audit page.
pub async fn verify_chain(
    state: web::Data<AppState>,
    _staff: Staff,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    let report = state.db.verify_audit_chain().await?;
    Ok(redirect_with(paths::ADMIN_AUDIT, &chain_message(&report)))
}

/// The chain report in the reader's language.
fn chain_message(report: &ChainReport) -> String {
    match report {
        ChainReport::Intact { checked } => tf("audit.chain_intact", &[checked]),
        ChainReport::Broken {
            event_id, reason, ..
        } => tf("audit.chain_broken", &[event_id, reason]),
    }
}

const CSV_HEADER: &str = "id,time_utc,actor_email,actor_role,action,merchant,section,channel,field,old_value,new_value,client_ip,hash\r\n";

/// The audit log as CSV with the page's filters, streamed batch by batch in constant memory.
pub async fn audit_csv(
    state: web::Data<AppState>,
    Staff(user): Staff,
    meta: RequestMeta,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let mut filter = parse_filter(&query)?;
    // Who took a copy of the log, and of which part, is itself part of the log.
    let filters = crate::csv::with_zone(&query.filters_query(), &[&query.from, &query.to]);
    let record = AuditRecord {
        new_value: Some(if filters.is_empty() { "all" } else { &filters }),
        ..AuditRecord::of(AuditAction::AuditExport)
    };
    state.db.record_audit(&user.actor(&meta), &record).await?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, AppError>>(2);
    let db = state.db.clone();
    actix_web::rt::spawn(async move {
        if sender
            .send(Ok(Bytes::from_static(CSV_HEADER.as_bytes())))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let batch = match db.audit_page(&filter, CSV_BATCH).await {
                Ok(batch) => batch,
                Err(error) => {
                    let _ = sender.send(Err(error.into())).await;
                    return;
                }
            };
            let mut chunk = String::with_capacity(batch.len() * 256);
            batch
                .iter()
                .for_each(|entry| push_csv_row(&mut chunk, entry));
            // A closed channel means the client went away: stop reading the database.
            if sender.send(Ok(Bytes::from(chunk))).await.is_err()
                || (batch.len() as i64) < CSV_BATCH
            {
                return;
            }
            filter.before = batch.last().map(|e| e.event.id);
        }
    });
    Ok(crate::csv::download("payhook-audit.csv", receiver))
}

fn push_csv_row(out: &mut String, entry: &AuditEntry) {
    let e = &entry.event;
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let id = e.id.to_string();
    fn text(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or("")
    }
    crate::csv::push_row(
        out,
        [
            id.as_str(),
            &time,
            text(&e.actor_email),
            text(&e.actor_role),
            &e.action,
            text(&entry.merchant_code),
            text(&e.section),
            text(&e.channel),
            text(&e.field),
            text(&e.old_value),
            text(&e.new_value),
            text(&e.client_ip),
            &e.hash,
        ],
    );
}
