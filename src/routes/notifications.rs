//! Integration > HTTP Notification: the delivery log with its filters and the last 24 hours in
//! one line, delivery health, the log as CSV, one delivery with every attempt, and resend.
//! Admins read any merchant's log (`?merchant=CODE`) but cannot resend; a merchant asking for
//! another merchant's delivery gets 404.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{CsrfForm, Developer, MerchantUser, RequestMeta, Scoped};
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::notifications::chart::{day_window_start, last_day, window_start};
use crate::pages::notifications::{
    DeliveryPage, Health, HealthPage, LogQuery, NotificationsPage, Retries,
};
use crate::pages::{Layout, render_page};
use crate::paths;
use crate::state::AppState;
use crate::store::delivery_hours::HOUR_MS;
use crate::store::delivery_log::LogPage;
use crate::store::resends::MAX_PENDING_RESENDS;
use crate::store::{ResendRequest, now_ms};

crate::csrf_form!(
    /// Resend: `to` is `sent` (the URL it was sent to, the default) or `saved` (the URL saved
    /// now for its channel and environment).
    ResendInput { to }
);

pub const LOG_PAGE_SIZE: i64 = 50;
/// A notification's page shows its newest attempts, however often it was resent.
const SHOWN_ATTEMPTS: i64 = 50;

pub async fn notification_log(
    state: web::Data<AppState>,
    Scoped { user, scope }: Scoped,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let mut query = LogQuery::read(req.query_string());
    let db = &state.db;
    // A refused filter is shown on the log itself, beside the filters as typed.
    let (status, page, filter_error) = match query.filter() {
        Ok((filter, cursor)) => {
            query.section = filter.section.map(str::to_owned);
            query.channel = filter.channel.map(str::to_owned);
            let page = db.delivery_log(scope.merchant_id, &filter, cursor, LOG_PAGE_SIZE);
            (StatusCode::OK, page.await?, None)
        }
        Err(bad) => (StatusCode::BAD_REQUEST, LogPage::default(), Some(bad)),
    };
    let now = now_ms();
    let hours = db
        .delivery_hours(scope.merchant_id, day_window_start(now))
        .await?;
    let page = NotificationsPage {
        layout: Layout::for_user(t("log.title"), &user),
        last_day: last_day(&hours),
        scope,
        query,
        page,
        filter_error,
        retries: Retries::new(&state.settings.retry_schedule, now),
    };
    Ok(render_page(status, &page))
}

/// Delivery health: the week's payment notifications per hour (or day), per day and per
/// channel, from the hourly roll-up alone.
pub async fn delivery_health(
    state: web::Data<AppState>,
    Scoped { user, scope }: Scoped,
) -> Result<HttpResponse, AppError> {
    let since = window_start(now_ms());
    let rows = state
        .db
        .delivery_hours(scope.merchant_id, since / HOUR_MS)
        .await?;
    let page = HealthPage {
        layout: Layout::for_user(t("log.health_title"), &user),
        health: Health::build(since, &rows, crate::i18n::zone()),
        scope,
    };
    Ok(render_page(StatusCode::OK, &page))
}

pub async fn notification_detail(
    state: web::Data<AppState>,
    Scoped { user, scope }: Scoped,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = delivery_id(&path)?;
    let delivery = state
        .db
        .logged_delivery(scope.merchant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (attempts, total) = state.db.delivery_attempts(id, SHOWN_ATTEMPTS).await?;
    // The URL saved since is offered only beside a resend form: not to admins reading, nor
    // while a resend waits.
    let row = &delivery.row;
    let saved_elsewhere = if scope.read_only || row.resend_queued {
        None
    } else {
        let setting = state
            .db
            .channel_setting(scope.merchant_id, &row.section, &row.channel)
            .await?;
        let saved = setting.url(row.environment);
        saved.filter(|saved| *saved != row.url).map(str::to_owned)
    };
    let page = DeliveryPage::new(
        Layout::for_user(&tf("log.delivery_title", &[&id]), &user),
        scope,
        delivery,
        (attempts, total),
        saved_elsewhere,
        Retries::new(&state.settings.retry_schedule, now_ms()),
    );
    Ok(render_page(StatusCode::OK, &page))
}

pub async fn resend(
    state: web::Data<AppState>,
    Developer(MerchantUser { user, merchant }): Developer,
    meta: RequestMeta,
    path: web::Path<String>,
    CsrfForm(input): CsrfForm<ResendInput>,
) -> Result<HttpResponse, AppError> {
    let id = delivery_id(&path)?;
    let actor = user.actor(&meta);
    let to_saved = match input.to.as_str() {
        "" | "sent" => false,
        "saved" => true,
        _ => return Err(AppError::BadRequest(t("log.resend_choose").to_owned())),
    };
    let requested = state.db.request_resend(merchant.id, id, to_saved, &actor);
    let message = match requested.await? {
        ResendRequest::NotFound => return Err(AppError::NotFound),
        ResendRequest::AlreadyQueued => t("log.resend_already").to_owned(),
        ResendRequest::TooMany => tf("log.resend_too_many", &[&MAX_PENDING_RESENDS]),
        ResendRequest::NoSavedUrl => t("log.resend_no_saved_url").to_owned(),
        ResendRequest::Queued => {
            state.deliveries.wake();
            t("log.resend_queued").to_owned()
        }
    };
    Ok(redirect_with(&paths::notification(&id), &message))
}

/// A delivery's number from the path; anything else is 404.
fn delivery_id(path: &str) -> Result<i64, AppError> {
    path.parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or(AppError::NotFound)
}
