//! Journeys through a real headless Chromium against the real server on a random loopback port,
//! each with JavaScript and without it, on SQLite and on Postgres.

mod chrome;
mod journeys;
mod native;
mod teams;

use std::time::Duration;

use chrome::Chrome;
use payhook::config::{RetrySchedule, Settings};
use payhook::dns::Resolver;
use payhook_testing::{Backend, SmtpServer, StaticResolver, TestApp, spawn_app_with, use_relay};

/// One run of a journey: the app, the relay its emails go to, and whether the browser runs
/// JavaScript.
pub struct Run {
    pub app: TestApp,
    pub smtp: SmtpServer,
    pub javascript: bool,
    _slot: chrome::Slot,
}

impl Run {
    /// `adjust` changes the app's settings before it starts.
    pub async fn with(
        backend: Backend,
        javascript: bool,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let slot = chrome::Slot::take();
        let smtp = SmtpServer::start().await;
        let relay = smtp.url();
        Self {
            // The merchant's domain resolves to a public address, as it would in production.
            app: spawn_app_with(backend, |settings| {
                use_relay(settings, &relay);
                settings.resolver = Resolver::new(StaticResolver::new([
                    ("acme.co.id", "34.101.2.3"),
                    ("first.acme.co.id", "34.101.2.4"),
                    ("second.acme.co.id", "34.101.2.5"),
                ]));
                adjust(settings);
            })
            .await,
            smtp,
            javascript,
            _slot: slot,
        }
    }

    /// A fresh browser (its own profile and cookies) on this run's server.
    pub async fn browser(&self, journey: &str) -> Chrome {
        let backend = match self.app.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        Chrome::start(
            &self.app.address,
            self.javascript,
            &format!("{journey}-{backend}"),
        )
        .await
    }
}

/// Notifications may go to receivers on 127.0.0.1 and leave within 50 ms; a failed one is
/// retried only after an hour, so nothing but the journey sends it again.
pub fn loopback_notifications(settings: &mut Settings) {
    settings.url_policy.allow_private_targets = true;
    settings.notification_timeout = Duration::from_secs(5);
    settings.retry_schedule = RetrySchedule::parse("1h").unwrap();
    settings.delivery_poll = Duration::from_millis(50);
}

/// Defines each journey four times: SQLite and Postgres, with and without JavaScript;
/// `name with adjust` has `adjust` change the app's settings first.
macro_rules! journeys {
    ($($name:ident $(with $adjust:path)?),* $(,)?) => {$(
        mod $name {
            use payhook_testing::Backend;
            use $crate::Run;
            async fn run(backend: Backend, javascript: bool) -> Run {
                Run::with(backend, javascript, |_settings| {
                    $($adjust(_settings);)?
                })
                .await
            }
            #[tokio::test]
            async fn sqlite_with_javascript() {
                $crate::journeys::$name(run(Backend::Sqlite, true).await).await;
            }
            #[tokio::test]
            async fn sqlite_without_javascript() {
                $crate::journeys::$name(run(Backend::Sqlite, false).await).await;
            }
            #[tokio::test]
            async fn postgres_with_javascript() {
                $crate::journeys::$name(run(Backend::Postgres, true).await).await;
            }
            #[tokio::test]
            async fn postgres_without_javascript() {
                $crate::journeys::$name(run(Backend::Postgres, false).await).await;
            }
        }
    )*};
}

journeys!(
    a_merchant_configures_a_channel,
    a_keyboard_only_save,
    two_sessions_conflict_and_the_second_sees_both_versions,
    an_admin_reads_the_audit_log_and_signs_out,
    the_same_error_reads_in_indonesian_after_the_switch,
    a_failed_notification_is_found_resent_and_delivered with crate::loopback_notifications,
    a_merchant_who_forgot_the_password_chooses_a_new_one_by_email,
    an_admin_sets_up_two_factor_and_signs_in_with_a_code with crate::journeys::admins_need_two_factor,
    an_owner_invites_a_developer_then_demotes_and_removes_them,
    a_merchant_reads_the_log_in_wib_at_a_desk_and_on_a_phone with crate::loopback_notifications,
);
