//! Test notifications: `POST /settings/payment/{section}/{channel}/test`.

use actix_web::{HttpResponse, web};

use crate::auth::{CsrfForm, Developer, RequestMeta};
use crate::catalog::ChannelTarget;
use crate::domain::Environment;
use crate::error::AppError;
use crate::i18n::t;
use crate::notify::{Signing, run_test};
use crate::pages::test_notification::TestResultPage;
use crate::state::AppState;

crate::csrf_form!(
    /// The "Send test notification" form: `secret` is `current` (the default) or `scheduled`
    /// (a scheduled rotation's new secret).
    TestInput { environment, secret }
);

pub async fn send_test_notification(
    state: web::Data<AppState>,
    Developer(who): Developer,
    meta: RequestMeta,
    target: ChannelTarget,
    CsrfForm(input): CsrfForm<TestInput>,
) -> Result<HttpResponse, AppError> {
    let environment: Environment = input.environment.parse()?;
    let signing = match input.secret.as_str() {
        "" | "current" => Signing::Current,
        "scheduled" => Signing::Scheduled,
        _ => return Err(AppError::BadRequest(t("test.rule_secret").to_owned())),
    };
    let actor = who.user.actor(&meta);
    let merchant_id = who.merchant.id;
    let outcome = run_test(&state, merchant_id, target, environment, signing, &actor).await?;
    Ok(TestResultPage::answer(
        &who.user,
        target,
        environment,
        None,
        outcome,
    ))
}
