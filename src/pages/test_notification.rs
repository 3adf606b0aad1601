//! The result of a test notification, sent from a channel's CONFIGURE form or section page.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use super::{Layout, render_page};
use crate::auth::CurrentUser;
use crate::catalog::{Channel, ChannelTarget, Section};
use crate::domain::{Environment, Outcome};
use crate::i18n::{Lang, t, tf};
use crate::notify::in_flight::TESTS_IN_FLIGHT;
use crate::notify::test::TESTS_PER_MINUTE;
use crate::notify::{TestOutcome, TestReport};
use crate::paths;

/// A test notification's result, ready to show.
pub struct TestResult {
    pub environment: &'static str,
    pub url: String,
    /// Stable English outcome, for machines (`data-outcome`).
    pub outcome: &'static str,
    /// The outcome in the reader's language.
    pub outcome_label: &'static str,
    pub delivered: bool,
    pub status: Option<u16>,
    pub location: Option<String>,
    pub latency_ms: Option<i64>,
    pub response_start: String,
    pub truncated: bool,
    /// Why the answer was not accepted, in the reader's language.
    pub error: Option<String>,
    /// Why nothing was sent, one reason a line, in the reader's language.
    pub refusals: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub curl: String,
}

/// How much of the answer the page shows.
const SHOWN_RESPONSE_CHARS: usize = 2000;

impl TestResult {
    pub fn from_report(test: &TestReport) -> Self {
        let report = &test.report;
        let exchange = report.exchange.as_ref();
        let response = exchange.map_or("", |e| e.response_body.as_str());
        let response_start = crate::notify::first_chars(response, SHOWN_RESPONSE_CHARS);
        Self {
            environment: test.environment.as_str(),
            url: test.url.clone(),
            outcome_label: super::notifications::outcome_label(report.outcome),
            outcome: match report.outcome {
                Outcome::Delivered => "Delivered",
                Outcome::Failed => "Failed",
                Outcome::TimedOut => "Timed out",
                Outcome::Refused => "Refused: not sent",
            },
            delivered: report.outcome == Outcome::Delivered,
            status: exchange.and_then(|e| e.status),
            location: exchange.and_then(|e| e.location.clone()),
            latency_ms: exchange.map(|e| crate::notify::millis(e.latency)),
            truncated: exchange.is_some_and(|e| e.truncated)
                || response_start.len() < response.len(),
            response_start: response_start.to_owned(),
            error: exchange
                .and_then(|e| e.error.as_ref())
                .map(|e| e.describe(Lang::current())),
            refusals: report
                .refusal
                .as_ref()
                .map(|e| e.reasons(Lang::current()))
                .unwrap_or_default(),
            headers: report
                .request
                .as_ref()
                .map(|r| r.headers.clone())
                .unwrap_or_default(),
            body: report
                .request
                .as_ref()
                .map(|r| r.body.clone())
                .unwrap_or_default(),
            curl: report
                .request
                .as_ref()
                .map(|r| crate::notify::curl::command(&r.url, &r.headers, &r.body))
                .unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "test_result.html")]
pub struct TestResultPage {
    pub layout: Layout,
    pub section: &'static Section,
    pub channel: &'static Channel,
    /// What the save before the test did ("Save & test").
    pub notice: Option<String>,
    /// `None` when no test could be sent (no URL saved).
    pub result: Option<TestResult>,
    pub problem: Option<String>,
}

impl TestResultPage {
    /// The page answering a test notification: 200 when it was sent (whatever the merchant's
    /// server answered), 422 when nothing could be sent, 429 over a limit. `notice` is what
    /// the save before it did ("Save & test").
    pub fn answer(
        user: &CurrentUser,
        target: ChannelTarget,
        environment: Environment,
        notice: Option<String>,
        outcome: TestOutcome,
    ) -> HttpResponse {
        let (status, result, problem) = match outcome {
            TestOutcome::Sent(report) => {
                let status = if report.report.outcome == Outcome::Refused {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::OK
                };
                (status, Some(TestResult::from_report(&report)), None)
            }
            TestOutcome::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some(tf("test.too_many", &[&TESTS_PER_MINUTE])),
            ),
            TestOutcome::Busy => (
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some(tf("test.busy", &[&TESTS_IN_FLIGHT])),
            ),
            TestOutcome::NoScheduledSecret => (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(t("test.no_scheduled_secret").to_owned()),
            ),
            TestOutcome::NoUrl => {
                let environment = t(&format!("common.{}_lower", environment.as_str()));
                let problem = tf("test.no_url", &[&environment, &target.channel.name]);
                (StatusCode::UNPROCESSABLE_ENTITY, None, Some(problem))
            }
        };
        let page = TestResultPage {
            layout: Layout::for_user(t("test.title"), user),
            section: target.section,
            channel: target.channel,
            notice,
            result,
            problem,
        };
        render_page(status, &page)
    }
}
