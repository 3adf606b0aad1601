//! A browser-like HTTP client with its own cookies, and readers of the pages it gets.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode, redirect};

/// A fresh client: its own cookie jar, redirects reported rather than followed.
pub fn new_client() -> reqwest::Client {
    client_with(Arc::new(Jar::default()))
}

fn client_with(jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// A browser-like client of one server: its own cookies, redirects reported rather than followed.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    pub fn new(address: String) -> Self {
        let jar = Arc::new(Jar::default());
        Self {
            address,
            client: client_with(jar.clone()),
            jar,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// This browser, with its cookies, talking to another server of the same site (as a load
    /// balancer would send it there; the process-level tests use it).
    pub fn on(&self, address: &str) -> Browser {
        Browser {
            address: address.to_owned(),
            client: self.client.clone(),
            jar: self.jar.clone(),
        }
    }

    /// The `Cookie` header this client sends, as someone who copied it would replay it.
    pub fn cookie_header(&self) -> String {
        let url = self.address.parse().unwrap();
        let value = self.jar.cookies(&url).expect("client has cookies");
        value.to_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// GETs `page` and POSTs `form` to `action` with the CSRF token the page carried.
    pub async fn submit(&self, page: &str, action: &str, form: &[(&str, &str)]) -> Response {
        let token = csrf_token(&self.get_text(page).await);
        let mut fields = form.to_vec();
        fields.push(("csrf_token", &token));
        self.post(action, &fields).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs in through a proxy that reports the client as `forwarded_for`
    /// (`X-Forwarded-For`, as sent).
    pub async fn login_via_proxy(
        &self,
        forwarded_for: &str,
        email: &str,
        password: &str,
    ) -> Response {
        let token = csrf_token(&self.get_text("/login").await);
        self.client
            .post(self.url("/login"))
            .header("x-forwarded-for", forwarded_for)
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .expect("POST /login")
    }

    /// Saves a channel's URLs through the CONFIGURE form as a browser would.
    pub async fn save(
        &self,
        section: &str,
        channel: &str,
        sandbox: &str,
        production: &str,
    ) -> Response {
        let path = format!("/settings/payment/{section}/{channel}");
        let page = self.get_text(&path).await;
        let version = hidden_value(&page, "version");
        self.submit(
            &path,
            &path,
            &[
                ("sandbox_url", sandbox),
                ("production_url", production),
                ("version", &version),
            ],
        )
        .await
    }
}

/// The value of the hidden input `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in page"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn csrf_token(html: &str) -> String {
    hidden_value(html, "csrf_token")
}

pub fn location(response: &Response) -> &str {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The ids of the audit rows (`data-id`) on an admin audit page, in page order.
pub fn event_ids(html: &str) -> Vec<i64> {
    html.split("class=\"event\" data-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// The `rel="next"` link of a page, with HTML entities undone.
pub fn next_link(html: &str) -> Option<String> {
    rel_link(html, "next")
}

/// The href of a page's link with `rel` (`next`, `prev`), with HTML entities undone.
pub fn rel_link(html: &str, rel: &str) -> Option<String> {
    let end = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(html[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

/// A merchant code written in a test.
pub fn code(code: &str) -> payhook::domain::MerchantCode {
    payhook::domain::MerchantCode::parse(code).expect("a valid merchant code")
}

/// An email address written in a test.
pub fn email(email: &str) -> payhook::domain::EmailAddress {
    payhook::domain::EmailAddress::parse(email).expect("a valid email address")
}
