//! A `payhook serve` process on a free port of 127.0.0.1, started with only the environment it
//! is given and killed when dropped. Shared by the process-level tests and `bench/load.rs`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer `/healthz` after it was started.
const START_LIMIT: Duration = Duration::from_secs(30);

pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
}

impl ServeProcess {
    /// Starts `bin serve` in `dir` with `env` (and `PATH`) only and its stderr to `stderr`;
    /// returns once `/healthz` answers 200.
    pub async fn start(
        bin: &Path,
        dir: &Path,
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(bin)
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .env("PAYHOOK_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut process = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + START_LIMIT;
        loop {
            let health = reqwest::get(format!("{}/healthz", process.address)).await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(process);
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!("payhook serve stopped at start: {status}"));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "payhook serve did not answer within {START_LIMIT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, as a crash would end it.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
