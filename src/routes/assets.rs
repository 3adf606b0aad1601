//! Static files, compiled into the binary (the app runs from any directory, offline) and served
//! under names carrying a hash of their content, so browsers cache them for a year and still
//! fetch every new version.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

/// One static file and the content-addressed path pages link to.
pub struct Asset {
    /// Name in `static/`, e.g. `app.css`.
    pub file: &'static str,
    pub href: String,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    fn new(file: &'static str, content_type: &'static str, body: &'static str) -> Self {
        let digest = hex::encode(Sha256::digest(body.as_bytes()));
        let (stem, extension) = file
            .rsplit_once('.')
            .expect("asset names have an extension");
        Self {
            file,
            href: format!("/static/{stem}.{}.{extension}", &digest[..16]),
            content_type,
            body,
        }
    }
}

pub static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
});

pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    )
});

const YEAR: &str = "public, max-age=31536000, immutable";

/// `/static/app.<hash>.css` for a year; the plain name too (old bookmarks, tools) but revalidated.
pub async fn static_file(name: web::Path<String>) -> HttpResponse {
    for asset in [&*STYLESHEET, &*SCRIPT] {
        let cache = if asset.href.rsplit('/').next() == Some(name.as_str()) {
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
