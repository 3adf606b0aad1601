//! The language switch in the header: remembers the choice in a cookie for a year, and for a
//! signed-in user with the account (their emails' language), through a form: a GET link never
//! writes to the database.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{CsrfForm, CurrentUser, EmptyForm};
use crate::error::AppError;
use crate::i18n::{COOKIE, Lang};
use crate::paths;
use crate::state::AppState;

/// `GET /language/{code}`: a visitor's switch, remembered in a cookie; then back to the page the
/// switch was pressed on. It writes nothing else.
pub async fn switch(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::from_code(&code).ok_or(AppError::NotFound)?;
    Ok(switched(&state, &request, lang))
}

/// `POST /language/{code}`: a signed-in user's switch (the header's form), also kept with the
/// account: their emails are written in it.
pub async fn switch_and_remember(
    state: web::Data<AppState>,
    request: HttpRequest,
    user: Option<CurrentUser>,
    code: web::Path<String>,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::from_code(&code).ok_or(AppError::NotFound)?;
    if let Some(user) = user {
        state.db.set_user_language(user.id, lang.code()).await?;
    }
    Ok(switched(&state, &request, lang))
}

/// The cookie that remembers `lang` for a year, and the way back.
fn switched(state: &AppState, request: &HttpRequest, lang: Lang) -> HttpResponse {
    let cookie = Cookie::build(COOKIE, lang.code())
        .path("/")
        .max_age(Duration::days(365))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.settings.cookie_secure)
        .finish();
    HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, back_to(request)))
        .finish()
}

/// The path (and query) of the referring page on this site; only ever a local path, so the
/// switch cannot be used to send anyone elsewhere.
fn back_to(request: &HttpRequest) -> String {
    let referer = request
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok());
    let Some(url) = referer.and_then(|r| url::Url::parse(r).ok()) else {
        return paths::HOME.into();
    };
    let path = url.path();
    if !path.starts_with('/') || path.starts_with("//") || path.starts_with(paths::LANGUAGE_PREFIX)
    {
        return paths::HOME.into();
    }
    match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}
