//! A notification URL typed into a form, judged by the whole policy (rules 1–9, DNS included
//! when a resolver is given) with the rules and warnings in the reader's language.

use crate::dns::{Resolver, VettedUrl, vet};
use crate::domain::Environment;
use crate::url_policy::{NotificationUrl, UrlPolicy};

/// One form field judged by the whole policy: `url` is `None` when the field was left empty
/// (which clears the URL) or broke a rule; the rules and warnings are in the reader's language.
#[derive(Debug, Default)]
pub struct FieldVerdict {
    pub url: Option<NotificationUrl>,
    pub errors: Vec<&'static str>,
    pub warnings: Vec<&'static str>,
}

/// Judges one form field for `environment`, rule 9 included when `resolver` is given.
pub async fn judge(
    input: &str,
    environment: Environment,
    policy: &UrlPolicy,
    resolver: Option<&Resolver>,
) -> FieldVerdict {
    if input.trim().is_empty() {
        return FieldVerdict::default();
    }
    match vet(input, environment, policy, resolver).await {
        Ok(VettedUrl { url, warnings, .. }) => FieldVerdict {
            url: Some(url),
            errors: Vec::new(),
            warnings: warnings.iter().map(|w| w.code.local_message()).collect(),
        },
        Err(violations) => FieldVerdict {
            url: None,
            errors: violations.iter().map(|v| v.code.local_message()).collect(),
            warnings: Vec::new(),
        },
    }
}
