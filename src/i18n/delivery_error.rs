//! A delivery error in words: `DeliveryError`'s stable code and values as a sentence in the
//! reader's language. The receiver's own words (a transport's detail) are kept as they came.

use std::borrow::Cow;

use super::Lang;
use crate::domain::DeliveryError;

impl DeliveryError {
    /// A stored error in words in `lang`; text that is no encoded error is shown as it is.
    pub fn describe_stored(stored: &str, lang: Lang) -> Cow<'_, str> {
        match Self::decode(stored) {
            Some(error) => Cow::Owned(error.describe(lang)),
            None => Cow::Borrowed(stored),
        }
    }

    /// The error in words in `lang`.
    pub fn describe(&self, lang: Lang) -> String {
        self.reasons(lang).join(" ")
    }

    /// The error in words in `lang`, one sentence per broken rule of a refusal (a list shows
    /// them one by one).
    pub fn reasons(&self, lang: Lang) -> Vec<String> {
        let sentence = match self {
            Self::NotAccepted { status } => lang.tf("delivery_error.not_accepted", &[status]),
            Self::RedirectNotFollowed { status, location } => lang.tf(
                "delivery_error.redirect_not_followed",
                &[status, &location.as_deref().unwrap_or("-")],
            ),
            Self::TimedOut { seconds } => {
                lang.tf("delivery_error.timed_out", &[&seconds_in(*seconds, lang)])
            }
            Self::ConnectFailed { detail } => lang.tf("delivery_error.connect_failed", &[detail]),
            Self::TlsFailed { detail } => lang.tf("delivery_error.tls_failed", &[detail]),
            Self::TransportFailed { detail } => {
                lang.tf("delivery_error.transport_failed", &[detail])
            }
            Self::ReadFailed { detail } => lang.tf("delivery_error.read_failed", &[detail]),
            Self::NotSent { detail } => lang.tf("delivery_error.not_sent", &[detail]),
            Self::DnsUnanswered => lang.t("delivery.dns_unanswered").to_owned(),
            Self::Refused { rules } => {
                return rules
                    .iter()
                    .map(|code| {
                        // A code this version does not know is shown as it is, not lost.
                        let key = format!("violation.{code}");
                        lang.lookup(&key)
                            .map_or_else(|| code.clone(), str::to_owned)
                    })
                    .collect();
            }
        };
        vec![sentence]
    }
}

/// Seconds as the language writes a number: `10`, `2.5` or `2,5`.
fn seconds_in(seconds: f64, lang: Lang) -> String {
    let text = seconds.to_string();
    match lang {
        Lang::En => text,
        Lang::Id => text.replace('.', ","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<DeliveryError> {
        vec![
            DeliveryError::NotAccepted { status: 503 },
            DeliveryError::RedirectNotFollowed {
                status: 302,
                location: Some("https://elsewhere.example/x?a=\"b\"".into()),
            },
            DeliveryError::RedirectNotFollowed {
                status: 301,
                location: None,
            },
            DeliveryError::TimedOut { seconds: 2.5 },
            DeliveryError::ConnectFailed {
                detail: "tcp connect error: Connection refused (os error 111)".into(),
            },
            DeliveryError::TlsFailed {
                detail: "received corrupt message".into(),
            },
            DeliveryError::TransportFailed {
                detail: "connection closed before message completed".into(),
            },
            DeliveryError::ReadFailed {
                detail: "error decoding response body".into(),
            },
            DeliveryError::NotSent {
                detail: "builder error".into(),
            },
            DeliveryError::Refused {
                rules: vec!["non_public_address".into(), "port_not_allowed".into()],
            },
            DeliveryError::DnsUnanswered,
        ]
    }

    #[test]
    fn every_kind_survives_its_stored_form() {
        for error in every_kind() {
            let stored = error.encode();
            assert_eq!(DeliveryError::decode(&stored), Some(error), "{stored}");
        }
    }

    #[test]
    fn the_stored_form_is_compact_json_tagged_by_code() {
        assert_eq!(
            DeliveryError::NotAccepted { status: 503 }.encode(),
            r#"{"code":"not_accepted","status":503}"#
        );
        assert_eq!(
            DeliveryError::Refused {
                rules: vec!["tunnel_domain".into()]
            }
            .encode(),
            r#"{"code":"refused","rules":["tunnel_domain"]}"#
        );
        assert_eq!(
            DeliveryError::DnsUnanswered.encode(),
            r#"{"code":"dns_unanswered"}"#
        );
    }

    #[test]
    fn an_old_english_sentence_is_shown_as_it_was_stored() {
        let old = "HTTP 500: the notification was not accepted (expected 2xx).";
        assert_eq!(DeliveryError::decode(old), None);
        assert_eq!(DeliveryError::describe_stored(old, Lang::Id), old);
        let unknown = r#"{"code":"something_new","status":1}"#;
        assert_eq!(DeliveryError::describe_stored(unknown, Lang::En), unknown);
    }

    #[test]
    fn a_status_not_accepted_reads_in_the_readers_language() {
        let stored = DeliveryError::NotAccepted { status: 503 }.encode();
        assert_eq!(
            DeliveryError::describe_stored(&stored, Lang::En),
            "HTTP 503: the notification was not accepted (expected 2xx)."
        );
        assert_eq!(
            DeliveryError::describe_stored(&stored, Lang::Id),
            "HTTP 503: notifikasi tidak diterima (diharapkan 2xx)."
        );
    }

    #[test]
    fn a_redirect_and_a_timeout_read_in_both_languages() {
        let redirect = DeliveryError::RedirectNotFollowed {
            status: 302,
            location: Some("https://b.example/n".into()),
        };
        assert_eq!(
            redirect.describe(Lang::En),
            "HTTP 302 redirect to https://b.example/n was not followed: notification URLs must \
             answer directly."
        );
        assert_eq!(
            redirect.describe(Lang::Id),
            "Pengalihan HTTP 302 ke https://b.example/n tidak diikuti: URL notifikasi harus \
             menjawab langsung."
        );
        let timeout = DeliveryError::TimedOut { seconds: 2.5 };
        assert_eq!(
            timeout.describe(Lang::En),
            "No answer within 2.5 s: the request timed out."
        );
        assert_eq!(
            timeout.describe(Lang::Id),
            "Tidak ada jawaban dalam 2,5 detik: waktu permintaan habis."
        );
        let whole = DeliveryError::TimedOut { seconds: 10.0 };
        assert!(
            whole
                .describe(Lang::En)
                .starts_with("No answer within 10 s")
        );
    }

    #[test]
    fn a_transport_failure_keeps_its_raw_detail_in_both_languages() {
        let detail = "tcp connect error: Connection refused (os error 111)";
        let error = DeliveryError::ConnectFailed {
            detail: detail.into(),
        };
        assert_eq!(
            error.describe(Lang::En),
            format!("Could not connect to the receiver: {detail}")
        );
        assert_eq!(
            error.describe(Lang::Id),
            format!("Tidak dapat terhubung ke penerima: {detail}")
        );
    }

    #[test]
    fn a_refusal_names_each_rule_in_the_readers_language() {
        let error = DeliveryError::Refused {
            rules: vec!["tunnel_domain".into(), "no_such_rule".into()],
        };
        assert_eq!(
            error.reasons(Lang::En),
            [
                "ngrok tunnels are not accepted as notification URLs; use a public domain you \
                 control.",
                "no_such_rule",
            ]
        );
        assert!(
            error
                .describe(Lang::Id)
                .starts_with("Tunnel ngrok tidak diterima")
        );
    }

    #[test]
    fn every_kind_has_words_in_both_languages() {
        for error in every_kind() {
            for lang in Lang::ALL {
                let text = error.describe(lang);
                assert!(
                    !text.is_empty() && !text.starts_with('?'),
                    "{error:?}: {text}"
                );
                assert!(!text.contains("{}"), "{error:?}: {text}");
            }
            assert_ne!(
                error.describe(Lang::En),
                error.describe(Lang::Id),
                "{error:?}"
            );
        }
    }
}
