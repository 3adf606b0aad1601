//! What a signed-in merchant does through the pages, as steps other tests build on.

use super::{PASSWORD, TestApp};

/// Reveals `environment`'s secret key through the API keys page, as a merchant would.
pub async fn reveal_secret(app: &TestApp, environment: &str) -> String {
    let response = app
        .submit(
            "/integration/api-keys",
            "/integration/api-keys",
            &[("environment", environment), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let id = format!("secret-{environment}");
    element_text(&response.text().await.unwrap(), &id).expect("the secret is shown")
}

/// The signed-in merchant's sandbox Client-Id and secret key, as Integration > API keys shows
/// them.
pub async fn sandbox_credentials(app: &TestApp) -> (String, String) {
    let secret = reveal_secret(app, "sandbox").await;
    let page = app.get_text("/integration/api-keys").await;
    let client_id = page
        .split("class=\"client-id\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the sandbox Client-Id is listed first")
        .to_owned();
    (client_id, secret)
}

/// The text inside the element with `id` (no nested tags), if present.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker)?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].to_owned())
}

/// Sends a test notification for the saved `environment` URL of a channel.
pub async fn send_test(
    app: &TestApp,
    section: &str,
    channel: &str,
    environment: &str,
) -> reqwest::Response {
    let page = format!("/settings/payment/{section}/{channel}");
    app.submit(
        &page,
        &format!("{page}/test"),
        &[("environment", environment)],
    )
    .await
}
