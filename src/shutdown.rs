//! The stop signal: SIGTERM (what service managers send) or Ctrl-C.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::notify::worker::StopClaiming;

/// Resolves on SIGTERM or Ctrl-C: the server then stops accepting and drains, and the delivery
/// workers stop claiming at the same moment rather than once the last request is answered.
pub async fn stop_signal(stop_claiming: StopClaiming, asked: Arc<OnceLock<Instant>>) {
    wait_for_termination().await;
    let _ = asked.set(Instant::now());
    tracing::info!("stop asked: finishing the requests and delivery attempts in flight");
    stop_claiming.stop();
}

async fn wait_for_termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot listen for SIGTERM"),
        }
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "cannot listen for Ctrl-C");
        std::future::pending::<()>().await;
    }
}
