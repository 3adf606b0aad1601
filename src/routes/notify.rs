//! Test notifications: `POST /settings/payment/{section}/{channel}/test`.

use actix_web::{HttpResponse, web};

use crate::auth::{CsrfForm, MerchantUser, RequestMeta};
use crate::catalog::ChannelTarget;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::Layout;
use crate::pages::notify::TestResultPage;
use crate::state::AppState;
use crate::url_policy::Environment;

crate::csrf_form!(
    /// The "Send test notification" form.
    TestInput { environment }
);

pub async fn send_test_notification(
    state: web::Data<AppState>,
    MerchantUser { user, merchant }: MerchantUser,
    meta: RequestMeta,
    target: ChannelTarget,
    CsrfForm(input): CsrfForm<TestInput>,
) -> Result<HttpResponse, AppError> {
    let environment: Environment = input.environment.parse()?;
    let actor = user.actor(&meta);
    let outcome = crate::notify::run_test(
        &state.db,
        &state.settings,
        &state.metrics,
        merchant.id,
        target,
        environment,
        &actor,
    )
    .await?;
    let layout = Layout::for_user(t("test.title"), &user);
    Ok(TestResultPage::answer(
        layout,
        target,
        environment,
        None,
        outcome,
    ))
}
