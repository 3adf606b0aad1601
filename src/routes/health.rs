//! `/healthz`: whether the database answers, and how the delivery queue and the email outbox
//! stand. One read, no
//! write, within a second or two, so load balancers may ask often.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::state::AppState;
use crate::store::now_ms;

/// Longer than this and the database counts as unavailable: a probe must not hang.
const PROBE_LIMIT: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct Health {
    database: &'static str,
    queue: Option<Queue>,
    email: Option<Outbox>,
}

#[derive(Serialize)]
struct Outbox {
    /// How long the oldest email not sent yet has waited since it was queued, once that is
    /// [`EMAIL_WAIT_SHOWN_FROM`] or more, else 0.
    oldest_unsent_seconds: i64,
}

/// An email waiting less than this is shown as none waiting: a relay that stopped taking mail
/// shows, while the one email a reset request queued (for an account, and not for an unknown
/// address) does not tell anyone asking this public endpoint that the account exists. How many
/// wait is for `/metrics`, which only allowed addresses read.
const EMAIL_WAIT_SHOWN_FROM: i64 = 60;

#[derive(Serialize)]
struct Queue {
    /// Deliveries due for an attempt.
    due: i64,
    /// How long the oldest of them has waited (0 when none is due).
    oldest_due_seconds: i64,
}

/// 200 `{"database":"ok","queue":{...},"email":{...}}`, or 503
/// `{"database":"unavailable","queue":null,"email":null}`.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(PROBE_LIMIT, state.db.queue_depth(now_ms())).await {
        Ok(Ok(depth)) => HttpResponse::Ok().json(Health {
            database: "ok",
            queue: Some(Queue {
                due: depth.due,
                oldest_due_seconds: depth.oldest_due_ms / 1000,
            }),
            email: Some(Outbox {
                oldest_unsent_seconds: Some(depth.oldest_unsent_email_ms / 1000)
                    .filter(|&seconds| seconds >= EMAIL_WAIT_SHOWN_FROM)
                    .unwrap_or(0),
            }),
        }),
        outcome => {
            if let Ok(Err(error)) = outcome {
                tracing::warn!(%error, "health check: the database did not answer");
            } else {
                tracing::warn!("health check: the database did not answer in time");
            }
            HttpResponse::ServiceUnavailable().json(Health {
                database: "unavailable",
                queue: None,
                email: None,
            })
        }
    }
}
