//! What the fuzz targets share.

use std::future::Future;
use std::sync::OnceLock;

/// Runs `future` to completion on one current-thread runtime kept for the whole run (the
/// parsers' futures never wait on I/O without a resolver, so this stays cheap).
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime")
        })
        .block_on(future)
}
