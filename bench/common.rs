//! What both benchmarks need: signing in over HTTP and reading a form field.

use reqwest::redirect;

pub const PASSWORD: &str = "benchmark password";

/// A client signed in as `email` (cookies kept, redirects reported).
pub async fn sign_in(base: &str, email: &str) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()?;
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let token = field(&login, "csrf_token");
    let form = [
        ("email", email),
        ("password", PASSWORD),
        ("csrf_token", &token),
    ];
    let response = client
        .post(format!("{base}/login"))
        .form(&form)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 303, "sign-in failed");
    Ok(client)
}

/// The value of the hidden or text input `name` in `html`.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field present") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}
