//! A Postgres server of the test's own (initdb and pg_ctl on a free port in a temp dir), so a
//! test can stop and start it without touching the shared one.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private Postgres cluster, stopped and removed when dropped.
pub struct ScratchCluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

/// The newest installed server's programs.
fn bin(program: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server programs under /usr/lib/postgresql")
        .map(|entry| entry.unwrap().path())
        .collect();
    versions.sort_by_key(|path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        name.parse::<u32>().unwrap_or(0)
    });
    versions
        .pop()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(program)
}

/// Runs a server program; as the `postgres` user when this process is root, which initdb and
/// the server refuse to be.
fn run(program: &str, args: &[&str]) -> std::process::Output {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut command = if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin(program));
        command
    } else {
        Command::new(bin(program))
    };
    let output = command
        .args(args)
        .output()
        .expect("run a PostgreSQL program");
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl ScratchCluster {
    /// Creates and starts a cluster trusting local connections as `postgres`.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The server runs as `postgres` and must own its files.
        let _ = Command::new("chown")
            .args(["postgres:postgres", &dir.path().display().to_string()])
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        run(
            "initdb",
            &["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        let cluster = Self { dir, port };
        cluster.resume();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.path().display()
        );
        let log = self.path().join("server.log").display().to_string();
        run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server the quick way an operator would (`fast`: sessions are ended, open
    /// transactions rolled back).
    pub fn stop(&self) {
        run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        let data = self.data();
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let mut command = if root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(bin("pg_ctl"));
            command
        } else {
            Command::new(bin("pg_ctl"))
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
