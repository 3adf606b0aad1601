//! The notification log as CSV: the log's filters, every matching notification newest first,
//! streamed in batches of 1,000 in constant memory, at most 100,000 of them (a wider export is
//! refused on the log page, naming the cap), and audited like the audit log's export.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{RequestMeta, Scoped};
use crate::csv::push_row;
use crate::domain::DeliveryError;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{Lang, tf};
use crate::pages::notifications::LogQuery;
use crate::paths;
use crate::state::AppState;
use crate::store::delivery_log::{Cursor, LogRow};
use crate::store::{AuditAction, AuditRecord};

/// The most notifications one export holds.
pub const MAX_EXPORT_ROWS: i64 = 100_000;
const BATCH: i64 = 1_000;

const HEADER: &str = "id,created_at_utc,section,channel,environment,kind,payment_id,\
invoice_number,url,status,attempts,last_http_status,last_attempt_at_utc,next_attempt_at_utc,\
last_error\r\n";

pub async fn notifications_csv(
    state: web::Data<AppState>,
    Scoped { user, scope }: Scoped,
    meta: RequestMeta,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = LogQuery::read(req.query_string());
    let (filter, _cursor) = query.filter()?;
    let db = &state.db;
    // The export is of the notifications there when it began: counted and streamed below the
    // newest one's place, so one arriving meanwhile neither pushes an old one out nor counts.
    let newest = db
        .delivery_log(scope.merchant_id, &filter, Cursor::Newest, 1)
        .await?;
    let below = newest.rows.first().map_or(0, |row| row.position + 1);
    let count = db
        .count_log(scope.merchant_id, &filter, below, MAX_EXPORT_ROWS + 1)
        .await?;
    let filters = query.filters_query();
    if count > MAX_EXPORT_ROWS {
        let back = format!("{}?{filters}", paths::NOTIFICATIONS);
        return Ok(redirect_with(
            &back,
            &tf("log.export_too_many", &[&MAX_EXPORT_ROWS]),
        ));
    }
    // Who took a copy of a merchant's notifications, and of which part, is in the audit log.
    let shown = if filters.is_empty() { "all" } else { &filters };
    let what = format!(
        "{} ({count})",
        crate::csv::with_zone(shown, &[&query.from, &query.to])
    );
    let record = AuditRecord {
        merchant_id: Some(scope.merchant_id),
        new_value: Some(&what),
        ..AuditRecord::of(AuditAction::NotificationsExported)
    };
    db.record_audit(&user.actor(&meta), &record).await?;

    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, AppError>>(2);
    let db = db.clone();
    let merchant_id = scope.merchant_id;
    actix_web::rt::spawn(async move {
        if sender
            .send(Ok(Bytes::from_static(HEADER.as_bytes())))
            .await
            .is_err()
        {
            return;
        }
        let mut cursor = Cursor::Before(below);
        let mut left = count;
        while left > 0 {
            let page = match db
                .delivery_log(merchant_id, &filter, cursor, BATCH.min(left))
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    let _ = sender.send(Err(error.into())).await;
                    return;
                }
            };
            let mut chunk = String::with_capacity(page.rows.len() * 256);
            page.rows
                .iter()
                .for_each(|row| push_csv_row(&mut chunk, row));
            left -= page.rows.len() as i64;
            // A closed channel means the client went away: stop reading the database.
            if sender.send(Ok(Bytes::from(chunk))).await.is_err() || !page.older {
                return;
            }
            match page.rows.last() {
                Some(last) => cursor = Cursor::Before(last.position),
                None => return,
            }
        }
    });
    Ok(crate::csv::download("payhook-notifications.csv", receiver))
}

/// A time (ms) as ISO 8601 in UTC (`2026-12-06T05:14:05.123Z`).
pub fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn push_csv_row(out: &mut String, row: &LogRow) {
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let time = |ms: Option<i64>| ms.map(utc).unwrap_or_default();
    // In English whatever the page's language: an export is read by scripts and compared.
    let last_error = row
        .last_error
        .as_deref()
        .map(|e| DeliveryError::describe_stored(e, Lang::En))
        .unwrap_or_default();
    push_row(
        out,
        [
            row.id.to_string().as_str(),
            &utc(row.created_at),
            &row.section,
            &row.channel,
            row.environment.as_str(),
            row.kind.as_str(),
            row.payment_id.as_deref().unwrap_or(""),
            row.invoice_number.as_deref().unwrap_or(""),
            &row.url,
            row.status.as_str(),
            &row.attempts.to_string(),
            &number(row.last_http_status),
            &time(row.last_attempt_at),
            &time(row.next_attempt_at),
            &last_error,
        ],
    );
}
