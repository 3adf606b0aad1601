//! A notification URL typed into a form, judged by the whole policy (rules 1–9, DNS included
//! when a resolver is given) with the rules and warnings in the reader's language.

use crate::config::Settings;
use crate::dns::{Resolver, VettedUrl, vet};
use crate::domain::Environment;
use crate::i18n::tf;
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

/// A form's sandbox and production URL fields, each judged by the whole policy with the DNS
/// check the settings call for, against the merchant's own resolver.
#[derive(Debug, Default)]
pub struct JudgedUrls {
    pub sandbox: FieldVerdict,
    pub production: FieldVerdict,
}

impl JudgedUrls {
    /// Judges both fields at once (their DNS lookups run side by side).
    pub async fn of(
        sandbox: &str,
        production: &str,
        settings: &Settings,
        merchant_id: i64,
    ) -> Self {
        let resolver = settings.dns_resolver().map(|r| r.for_merchant(merchant_id));
        let (policy, resolver) = (&settings.url_policy, resolver.as_ref());
        let (sandbox, production) = tokio::join!(
            judge(sandbox, Environment::Sandbox, policy, resolver),
            judge(production, Environment::Production, policy, resolver),
        );
        Self {
            sandbox,
            production,
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.sandbox.errors.is_empty() || !self.production.errors.is_empty()
    }

    /// The accepted sandbox URL as it is stored (`None` clears it).
    pub fn sandbox_url(&self) -> Option<String> {
        self.sandbox.url.as_ref().map(|u| u.as_str().to_owned())
    }

    /// The accepted production URL as it is stored (`None` clears it).
    pub fn production_url(&self) -> Option<String> {
        self.production.url.as_ref().map(|u| u.as_str().to_owned())
    }

    /// `message` followed by each warning the accepted URLs earned.
    pub fn with_warnings(&self, message: String) -> String {
        let warnings = self
            .sandbox
            .warnings
            .iter()
            .chain(&self.production.warnings);
        warnings.fold(message, |text, warning| {
            tf("settings.with_warning", &[&text, warning])
        })
    }
}
