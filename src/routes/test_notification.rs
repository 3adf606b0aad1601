//! Test notifications: `POST /settings/payment/{section}/{channel}/test`.

use actix_web::{HttpResponse, web};

use crate::auth::{CsrfForm, Developer, RequestMeta};
use crate::catalog::ChannelTarget;
use crate::domain::Environment;
use crate::error::AppError;
use crate::notify::run_test;
use crate::pages::test_notification::TestResultPage;
use crate::state::AppState;

crate::csrf_form!(
    /// The "Send test notification" form.
    TestInput { environment }
);

pub async fn send_test_notification(
    state: web::Data<AppState>,
    Developer(who): Developer,
    meta: RequestMeta,
    target: ChannelTarget,
    CsrfForm(input): CsrfForm<TestInput>,
) -> Result<HttpResponse, AppError> {
    let environment: Environment = input.environment.parse()?;
    let actor = who.user.actor(&meta);
    let outcome = run_test(&state, who.merchant.id, target, environment, &actor).await?;
    Ok(TestResultPage::answer(
        &who.user,
        target,
        environment,
        None,
        outcome,
    ))
}
