//! Recover: resend every failed or retrying notification of a range in one go. The page counts
//! them under the log's filters; the form queues one resend each (paced by the workers).
//! Owners and developers only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{CsrfForm, Developer, MerchantUser, RequestMeta};
use crate::catalog::ChannelTarget;
use crate::domain::DAY_MS;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::notifications::LogQuery;
use crate::pages::recover::{RecoverPage, RecoverRange};
use crate::pages::{Layout, render_page};
use crate::state::AppState;
use crate::store::now_ms;
use crate::store::recover::{RecoverFilter, Recovered};

/// The widest range one recover covers.
const MAX_RANGE_DAYS: i64 = 14;

crate::csrf_form!(
    /// The range the page counted, carried by its confirm form.
    RecoverInput { section, channel, environment, from, to }
);

pub async fn recover_page(
    state: web::Data<AppState>,
    Developer(merchant_user): Developer,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = LogQuery::read(req.query_string());
    let (range, filter) = parse_range(query)?;
    let count = state
        .db
        .recoverable(merchant_user.merchant.id, &filter)
        .await?;
    Ok(page(&merchant_user, range, &filter, count, StatusCode::OK))
}

pub async fn recover(
    state: web::Data<AppState>,
    Developer(merchant_user): Developer,
    meta: RequestMeta,
    CsrfForm(input): CsrfForm<RecoverInput>,
) -> Result<HttpResponse, AppError> {
    let query = LogQuery {
        section: Some(input.section),
        channel: Some(input.channel),
        environment: Some(input.environment),
        from: Some(input.from),
        to: Some(input.to),
        ..LogQuery::default()
    };
    let (range, filter) = parse_range(query)?;
    let MerchantUser { user, merchant } = &merchant_user;
    let described = describe(&range, &filter);
    let actor = user.actor(&meta);
    let now = now_ms();
    let recovered = state
        .db
        .recover(merchant.id, &filter, &described, &actor, now)
        .await?;
    let message = match recovered {
        Recovered::TooMany(count) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(page(&merchant_user, range, &filter, count, status));
        }
        Recovered::Queued(0) => t("recover.nothing_queued").to_owned(),
        Recovered::Queued(count) => {
            state.deliveries.wake();
            tracing::info!(merchant = %merchant.code, count, "failed notifications recovered");
            tf("recover.queued", &[&count])
        }
    };
    Ok(redirect_with(&range.log_link(), &message))
}

/// The log's filters as a recover's range: the dates default to the last 14 days and may span
/// at most that; nonsense is a 400 naming the filter, as on the log.
fn parse_range(query: LogQuery) -> Result<(RecoverRange, RecoverFilter), AppError> {
    let (filter, _) = query.filter()?;
    // The reader's calendar: the dates given were read in their zone.
    let zone = crate::i18n::zone();
    let today_end = zone.day_start_ms(&zone.day_of(now_ms())).unwrap_or(0) + DAY_MS;
    let to_ms = filter.to_ms.unwrap_or(today_end);
    let from_ms = filter.from_ms.unwrap_or(to_ms - MAX_RANGE_DAYS * DAY_MS);
    if to_ms - from_ms > MAX_RANGE_DAYS * DAY_MS {
        let rule = t("recover.rule_range");
        let field = t("log.field_to");
        return Err(AppError::BadRequest(tf("log.bad_filter", &[&field, &rule])));
    }
    let range = RecoverRange {
        section: filter.section.unwrap_or_default().to_owned(),
        channel: filter.channel.unwrap_or_default().to_owned(),
        environment: filter
            .environment
            .map(|e| e.to_string())
            .unwrap_or_default(),
        from: zone.day_of(from_ms),
        to: zone.day_of(to_ms - DAY_MS),
    };
    let filter = RecoverFilter {
        section: filter.section,
        channel: filter.channel,
        environment: filter.environment,
        from_ms,
        to_ms,
    };
    Ok((range, filter))
}

/// The range in words, for the page and the audit event.
fn describe(range: &RecoverRange, filter: &RecoverFilter) -> String {
    let channel = match (filter.section, filter.channel) {
        (Some(section), Some(channel)) => ChannelTarget::find(section, channel)
            .map(|target| format!("{} · {}", target.section.local_title(), target.channel.name))
            .unwrap_or_default(),
        (Some(section), None) => crate::catalog::Section::find(section)
            .map(|section| section.local_title().to_owned())
            .unwrap_or_default(),
        _ => t("recover.any_channel").to_owned(),
    };
    let environment = match filter.environment {
        Some(environment) => t(&format!("common.{environment}_lower")),
        None => t("recover.any_environment"),
    };
    tf(
        "recover.range",
        &[
            &channel,
            &environment,
            &range.from,
            &range.to,
            &crate::i18n::zone().as_str(),
        ],
    )
}

fn page(
    merchant_user: &MerchantUser,
    range: RecoverRange,
    filter: &RecoverFilter,
    count: i64,
    status: StatusCode,
) -> HttpResponse {
    let described = describe(&range, filter);
    let page = RecoverPage {
        layout: Layout::for_user(t("recover.title"), &merchant_user.user),
        range,
        described,
        count,
    };
    render_page(status, &page)
}
