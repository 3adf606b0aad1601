//! The log lines of this test binary, captured to read what the server wrote.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged by this test binary, once [`capture_logs`] was called.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of this test binary (debug level and up) to a buffer.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(move || SharedWriter(writer.clone()))
            .with_ansi(false)
            .init();
        buffer
    });
}

/// The log so far.
pub fn logs() -> String {
    let buffer = LOGS.get().expect("capture_logs first");
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}
