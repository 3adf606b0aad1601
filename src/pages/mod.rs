//! One askama template struct per page, in a file named as the route file that answers with
//! it, and here the layout and helpers every page shares.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

use crate::auth::CurrentUser;
use crate::domain::Role;
use crate::i18n::Lang;
use crate::paths;

pub mod account;
pub mod admin;
pub mod apply_section;
pub mod error;
pub mod integration;
pub mod invitations;
pub mod login;
pub mod notifications;
pub mod password;
pub mod recover;
pub mod settings;
pub mod team;
pub mod test_notification;
pub mod two_factor;

/// Renders `template` with `status`; a rendering failure becomes a plain 500, never a panic.
pub fn render_page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(error) => {
            tracing::error!(%error, "template rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// The filters given (blank ones left out) as a query string, for a filtered page's links.
pub fn query_string(fields: &[(&str, &Option<String>)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if let Some(value) = given(value) {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

/// A filter's value when one was given (blank counts as none).
pub fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A filter's value as its form field shows it again.
pub fn typed(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or("")
}

/// The query of a link to another page of a filtered list: `filters` (a query string, maybe
/// empty), then `cursor=id`.
pub fn page_query(filters: &str, cursor: &str, id: i64) -> String {
    let join = if filters.is_empty() { "" } else { "&" };
    format!("?{filters}{join}{cursor}={id}")
}

/// A 303 redirect, the answer to every successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `response` with `cookie` set, when there is one (an anonymous form's CSRF cookie).
pub fn with_cookie(
    mut response: HttpResponse,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    if let Some(cookie) = cookie
        && let Err(error) = response.add_cookie(&cookie)
    {
        tracing::warn!(%error, "could not set a form's cookie");
    }
    response
}

/// A page whose address holds a live token (a reset link, an invitation): the requests it makes
/// (its stylesheet, its script, a link followed) name only this site in their `Referer`, never
/// the address. (`no-referrer` would also blank the form's `Origin`, which the CSRF check reads.)
pub fn origin_referrer_only(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("strict-origin"),
    );
    response
}

/// `response` with `Retry-After: seconds`: when a 429 or a 503 is worth trying again.
pub fn retry_after(mut response: HttpResponse, seconds: u64) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    response
}

/// What the page frame shows: title, the signed-in user, the CSRF token, a one-time message.
pub struct Layout {
    pub lang: Lang,
    /// The request's path, to mark the current page in the navigation.
    pub path: String,
    pub title: String,
    pub user: Option<UserBar>,
    pub csrf_token: String,
    pub flash: Option<String>,
    /// The merchant's failing channels, named in a banner above every page.
    pub failing: Vec<FailingLink>,
    /// The zone the page's times are shown in.
    pub zone: crate::domain::TimeZone,
}

/// A failing channel and environment in the banner, linking to its filtered log.
pub struct FailingLink {
    pub name: String,
    pub environment: &'static str,
    pub href: String,
}

impl FailingLink {
    fn of(failing: &crate::store::health::FailingChannel) -> Self {
        Self {
            name: notifications::channel_name(&failing.section, &failing.channel),
            environment: crate::i18n::t(match failing.environment {
                crate::domain::Environment::Sandbox => "common.sandbox",
                crate::domain::Environment::Production => "common.production",
            }),
            href: paths::channel_log(
                &failing.section,
                &failing.channel,
                failing.environment.as_str(),
            ),
        }
    }
}

/// The header's view of the signed-in user.
pub struct UserBar {
    pub email: String,
    pub merchant_name: Option<String>,
    pub role: Role,
}

impl UserBar {
    /// The gateway's staff: the navigation shows the admin area instead of the merchant's.
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }
}

impl Layout {
    /// A frame with no signed-in user (sign-in and error pages).
    pub fn anonymous(title: &str) -> Self {
        Self {
            lang: Lang::current(),
            path: crate::i18n::current_path(),
            title: title.to_owned(),
            user: None,
            csrf_token: String::new(),
            flash: None,
            failing: Vec::new(),
            zone: crate::i18n::zone(),
        }
    }

    /// A frame for a signed-in user, taking the session's pending flash message.
    pub fn for_user(title: &str, user: &CurrentUser) -> Self {
        Self {
            lang: Lang::current(),
            path: crate::i18n::current_path(),
            title: title.to_owned(),
            user: Some(UserBar {
                email: user.email.to_string(),
                merchant_name: user.merchant.as_ref().map(|m| m.name.clone()),
                role: user.role,
            }),
            csrf_token: crate::auth::csrf_token(&user.session),
            flash: crate::flash::current(),
            failing: user.failing.iter().map(FailingLink::of).collect(),
            zone: user.time_zone,
        }
    }
}

impl Layout {
    /// The page's language's text for `key`.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// The text of `key` with the page's time zone (`WIB`) in its `{}`.
    pub fn tz(&self, key: &str) -> String {
        self.lang.tf(key, &[&self.zone.as_str()])
    }

    /// ` aria-current="page"` when the navigation link `href` leads to the current area.
    pub fn current(&self, href: &str) -> &'static str {
        let below = |rest: &str| href != paths::ADMIN && rest.starts_with('/');
        let here = self
            .path
            .strip_prefix(href)
            .is_some_and(|rest| rest.is_empty() || below(rest));
        if here { " aria-current=page" } else { "" }
    }

    /// A stored action code as words (`sign_in` → "Sign-in"); an unknown code as itself.
    pub fn action<'a>(&self, code: &'a str) -> &'a str {
        self.lang.lookup(&format!("action.{code}")).unwrap_or(code)
    }

    /// An audit event as a sentence in the page's language.
    pub fn event(&self, event: &crate::store::ChainedEvent) -> admin::audit::Sentence {
        admin::audit::Sentence::of(event, self.lang)
    }

    /// `t` with its `{}` placeholders filled in order.
    pub fn tf<S: AsRef<str>>(&self, key: &str, values: &[S]) -> String {
        let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
        let shown: Vec<&dyn std::fmt::Display> =
            values.iter().map(|v| v as &dyn std::fmt::Display).collect();
        self.lang.tf(key, &shown)
    }
}

pub use crate::i18n::time_html;
