//! Notifications to merchants' servers: the sample message, its signature, the SSRF-safe
//! client, and the test notification that ties them together.

pub mod attempt;
pub mod client;
pub mod curl;
pub mod in_flight;
pub mod message;
pub mod sign;
pub mod test;
pub mod worker;

pub use client::Exchange;
pub use message::OutgoingRequest;
pub use test::{Signing, TestOutcome, TestReport, run_test};

pub use crate::store::millis;

/// The first `n` characters of `text`.
pub fn first_chars(text: &str, n: usize) -> &str {
    text.char_indices().nth(n).map_or(text, |(i, _)| &text[..i])
}
