//! Why an attempt did not deliver, as a stable code and its values. It is stored as compact
//! JSON (`{"code":"not_accepted","status":503}`) in the attempt's and the delivery's text
//! columns and put into words only when shown, in the reader's language (`i18n::delivery_error`):
//! the worker that records it has no reader.

use serde::{Deserialize, Serialize};

/// Why one attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DeliveryError {
    /// The receiver answered with a status other than 2xx or 3xx.
    NotAccepted { status: u16 },
    /// The receiver answered with a redirect, which is never followed.
    RedirectNotFollowed {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
    /// No complete answer within the time limit.
    TimedOut { seconds: f64 },
    /// No connection to the receiver; `detail` is the transport's own text.
    ConnectFailed { detail: String },
    /// The TLS handshake failed; `detail` is the transport's own text.
    TlsFailed { detail: String },
    /// Any other failure on the way; `detail` is the transport's own text.
    TransportFailed { detail: String },
    /// A 2xx answer whose body broke off; `detail` is the transport's own text.
    ReadFailed { detail: String },
    /// The request could not be prepared, so nothing was sent.
    NotSent { detail: String },
    /// The URL broke these rules of the URL policy when re-checked (their stable codes, as
    /// `url_policy::ViolationCode::as_str` gives them); nothing was sent.
    Refused { rules: Vec<String> },
    /// DNS did not answer, so the address could not be vetted; nothing was sent.
    DnsUnanswered,
}

impl DeliveryError {
    /// The stored form: compact JSON tagged by `code`.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a delivery error is plain data")
    }

    /// Reads a stored error back; `None` for text that is not one (rows written before errors
    /// had codes hold an English sentence).
    pub fn decode(stored: &str) -> Option<Self> {
        if !stored.starts_with('{') {
            return None;
        }
        serde_json::from_str(stored).ok()
    }
}
