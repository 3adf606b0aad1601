//! What every test binary (and the benchmarks) share: the real app spawned on a random port with
//! a fresh database (SQLite or Postgres), a browser-like client, stand-ins for the outside world
//! the product talks to (a notification receiver, name resolution), and reads straight on the
//! database.

mod app;
mod browser;
mod dns_double;
mod logs;
mod merchant;
mod probe;
mod receiver;
mod signatures;
mod smtp;
mod totp;

pub mod bench;
pub mod ledger;
pub mod queue;
pub mod rollup;
pub mod serve_process;

pub use app::*;
pub use browser::*;
pub use dns_double::*;
pub use logs::*;
pub use merchant::*;
pub use probe::*;
pub use receiver::*;
pub use signatures::*;
pub use smtp::*;
pub use totp::*;

/// Defines `mod $name { sqlite(); postgres() }`, so each test runs on both databases:
///
/// - `on_both_backends!(app: name, ...)`: `name(app)` gets a fresh app on each database;
/// - `on_both_backends!(name, ...)`: `name(backend)` spawns what it needs itself;
/// - `on_both_backends!(multi_thread: name, ...)`: the same on a runtime of two threads, for
///   tests that drive real server processes and block while doing so.
#[macro_export]
macro_rules! on_both_backends {
    (app: $($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::{Backend, spawn_app};
            #[tokio::test]
            async fn sqlite() {
                super::$name(spawn_app(Backend::Sqlite).await).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(spawn_app(Backend::Postgres).await).await;
            }
        }
    )*};
    (multi_thread: $($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Backend::Postgres).await;
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::Backend;
            #[tokio::test]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(Backend::Postgres).await;
            }
        }
    )*};
}
