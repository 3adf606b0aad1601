//! Static files, compiled into the binary (the app runs from any directory, offline), each with
//! a path carrying a hash of its content, so browsers cache them for a year and still fetch
//! every new version. Pages link to [`STYLESHEET`] and [`SCRIPT`]; `routes::assets` serves them.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One static file and the content-addressed path pages link to.
pub struct Asset {
    /// Name in `static/`, e.g. `app.css`.
    pub file: &'static str,
    pub href: String,
    pub content_type: &'static str,
    pub body: &'static str,
}

impl Asset {
    fn new(file: &'static str, content_type: &'static str, body: &'static str) -> Self {
        let digest = hex::encode(Sha256::digest(body.as_bytes()));
        let (stem, extension) = file
            .rsplit_once('.')
            .expect("asset names have an extension");
        let name = format!("{stem}.{}.{extension}", &digest[..16]);
        Self {
            file,
            href: crate::paths::static_file(&name),
            content_type,
            body,
        }
    }

    /// The name its content-addressed path ends with.
    pub fn hashed_name(&self) -> &str {
        self.href.rsplit('/').next().unwrap_or_default()
    }
}

pub static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../static/app.css"),
    )
});

pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/app.js"),
    )
});

/// Every static file.
pub fn all() -> [&'static Asset; 2] {
    [&*STYLESHEET, &*SCRIPT]
}
