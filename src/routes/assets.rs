//! `GET /static/{name}`: the static files of `crate::assets`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::assets;

const YEAR: &str = "public, max-age=31536000, immutable";

/// `/static/app.<hash>.css` for a year; the plain name too (old bookmarks, tools) but revalidated.
pub async fn static_file(name: web::Path<String>) -> HttpResponse {
    for asset in assets::all() {
        let cache = if asset.hashed_name() == name.as_str() {
            YEAR
        } else if asset.file == name.as_str() {
            "no-cache"
        } else {
            continue;
        };
        return HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, cache))
            .body(asset.body);
    }
    HttpResponse::NotFound().finish()
}
