//! The language switch in the header: remembers the choice in a cookie for a year.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::i18n::{COOKIE, Lang};
use crate::paths;
use crate::state::AppState;

/// `GET /language/{code}`: switches, then returns to the page the switch was pressed on. A
/// signed-in user's choice is also kept with the account: their emails are written in it.
pub async fn switch(
    state: web::Data<AppState>,
    request: HttpRequest,
    user: Option<CurrentUser>,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::from_code(&code).ok_or(AppError::NotFound)?;
    if let Some(user) = user {
        state.db.set_user_language(user.id, lang.code()).await?;
    }
    let cookie = Cookie::build(COOKIE, lang.code())
        .path("/")
        .max_age(Duration::days(365))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.settings.cookie_secure)
        .finish();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, back_to(&request)))
        .finish())
}

/// The path (and query) of the referring page on this site; only ever a local path, so the
/// switch cannot be used to send anyone elsewhere.
fn back_to(request: &HttpRequest) -> String {
    let referer = request
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok());
    let Some(url) = referer.and_then(|r| url::Url::parse(r).ok()) else {
        return "/".into();
    };
    let path = url.path();
    if !path.starts_with('/') || path.starts_with("//") || path.starts_with(paths::LANGUAGE_PREFIX)
    {
        return "/".into();
    }
    match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}
