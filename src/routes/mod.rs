//! Request handlers, one file per area. The route table is in `startup.rs`.

pub mod account;
pub mod admin;
pub mod admin_users;
pub mod assets;
pub mod health;
pub mod integration;
pub mod language;
pub mod login;
pub mod notify;
pub mod settings;

use actix_web::HttpResponse;
use actix_web::http::header;

/// A 303 redirect, the answer to every successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
