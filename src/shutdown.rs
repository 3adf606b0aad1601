//! The stop signal: SIGTERM (what service managers send) or Ctrl-C.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Tells the workers (notifications, emails) to claim nothing more, as soon as a stop is asked
/// for; what they have in flight goes on.
#[derive(Clone)]
pub struct StopClaiming(Arc<watch::Sender<bool>>);

impl Default for StopClaiming {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl StopClaiming {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// What a worker watches: `true` once the stop came.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// Waits up to `within` for a worker's `task` (told to stop claiming) to finish what it has in
/// flight; past that, `what` is abandoned and the task aborted.
pub async fn finish_within(task: &mut JoinHandle<()>, within: Duration, what: &str) {
    if tokio::time::timeout(within, &mut *task).await.is_err() {
        tracing::warn!("{what} still in flight at shutdown were abandoned");
        task.abort();
        let _ = task.await;
    }
}

/// Resolves on SIGTERM or Ctrl-C: the server then stops accepting and drains, and the workers
/// stop claiming at the same moment rather than once the last request is answered.
pub async fn stop_signal(stop_claiming: StopClaiming, asked: Arc<OnceLock<Instant>>) {
    wait_for_termination().await;
    let _ = asked.set(Instant::now());
    tracing::info!("stop asked: finishing the requests, delivery attempts and emails in flight");
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
