//! Test notifications: `POST /settings/payment/{section}/{channel}/test`, and the result page
//! that "Save & test" shares.

use crate::i18n::{t, tf};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};

use crate::auth::{CsrfForm, MerchantUser, RequestMeta};
use crate::catalog::ChannelRef;
use crate::error::AppError;
use crate::notify::{Outcome, TestError};
use crate::pages::notify::{TestResult, TestResultPage};
use crate::pages::{Layout, render_page};
use crate::startup::AppState;
use crate::url_policy::Environment;

crate::csrf_form!(
    /// The "Send test notification" form.
    TestInput { environment }
);

#[post("/settings/payment/{section}/{channel}/test")]
pub async fn send_test_notification(
    state: web::Data<AppState>,
    merchant_user: MerchantUser,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    CsrfForm(input): CsrfForm<TestInput>,
) -> Result<HttpResponse, AppError> {
    let target = ChannelRef::find(&path.0, &path.1).ok_or(AppError::NotFound)?;
    let environment = parse_environment(&input.environment)?;
    test_and_render(&state, &merchant_user, &meta, target, environment, None).await
}

/// Test notifications a merchant may send per minute.
const TESTS_PER_MINUTE: i64 = 10;

/// The `environment` field: exactly `sandbox` or `production`.
pub fn parse_environment(value: &str) -> Result<Environment, AppError> {
    Environment::parse(value)
        .ok_or_else(|| AppError::BadRequest(t("test.choose_environment").into()))
}

/// Sends the test notification and renders its result: 200 when it was sent (whatever the
/// merchant's server answered), 422 when nothing could be sent.
pub async fn test_and_render(
    state: &AppState,
    merchant_user: &MerchantUser,
    meta: &RequestMeta,
    target: ChannelRef,
    environment: Environment,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let MerchantUser { user, merchant } = merchant_user;
    // Each test may hold a worker for seconds and sends a signed POST out: keep it a test.
    let since = crate::store::now_ms() - 60_000;
    if state
        .db
        .recent_tests(merchant.id, since, TESTS_PER_MINUTE)
        .await?
        >= TESTS_PER_MINUTE
    {
        let page = TestResultPage {
            layout: Layout::for_user(t("test.title"), user),
            section: target.section,
            channel: target.channel,
            notice,
            result: None,
            problem: Some(tf("test.too_many", &[&TESTS_PER_MINUTE])),
        };
        return Ok(render_page(StatusCode::TOO_MANY_REQUESTS, &page));
    }
    let report = crate::notify::send_test(
        &state.db,
        &state.settings,
        merchant.id,
        target,
        environment,
        &user.actor(meta),
    )
    .await;
    let (status, result, problem) = match report {
        Ok(report) => {
            tracing::info!(
                merchant = %merchant.code,
                section = target.section.code,
                channel = target.channel.code,
                %environment,
                outcome = report.outcome.as_str(),
                delivery = report.delivery_id,
                "test notification"
            );
            let status = if report.outcome == Outcome::Refused {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            (status, Some(TestResult::from_report(&report)), None)
        }
        Err(TestError::NoUrl) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(tf(
                "test.no_url",
                &[
                    &t(&format!("common.{}_lower", environment.as_str())),
                    &target.channel.name,
                ],
            )),
        ),
        Err(TestError::Unexpected(error)) => return Err(error.into()),
    };
    let page = TestResultPage {
        layout: Layout::for_user(t("test.title"), user),
        section: target.section,
        channel: target.channel,
        notice,
        result,
        problem,
    };
    Ok(render_page(status, &page))
}
