//! Where one payment's notifications go (README, "Sandbox payment API"), decided by these rules in order:
//! `additional_info.override_notification_url` (one URL, DOKU's rule) replaces the channel's
//! sandbox URL and must keep its path; `X-Override-Notification` replaces it; otherwise
//! `X-Append-Notification` adds to it (the configured URL first). Both headers sent: only the
//! override counts, as Midtrans does. Each header holds at most 3 comma-separated URLs, each
//! judged by the notification URL policy for sandbox. Duplicates are sent once.

use crate::dns::{Resolver, vet};
use crate::domain::Environment;
use crate::url_policy::{NotificationUrl, UrlPolicy, ViolationCode};

pub const OVERRIDE_HEADER: &str = "X-Override-Notification";
pub const APPEND_HEADER: &str = "X-Append-Notification";
/// URLs a header may hold.
pub const MAX_HEADER_URLS: usize = 3;
/// The rule a fourth URL in a header breaks.
pub const TOO_MANY_URLS: &str = "too_many_urls";

/// What the request says about its notification targets.
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetRequest<'a> {
    /// The channel's configured sandbox URL.
    pub configured: Option<&'a str>,
    pub body_override: Option<&'a str>,
    pub override_header: Option<&'a str>,
    pub append_header: Option<&'a str>,
}

/// Why the targets could not be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// An item of a header broke `rules` (codes as `check-url` prints them); `item` is 1-based.
    Header {
        header: &'static str,
        item: usize,
        rules: Vec<&'static str>,
    },
    /// The body's override URL broke `rules`.
    BodyOverride { rules: Vec<&'static str> },
    /// The body's override URL needs a configured URL whose path it keeps.
    NothingToOverride,
    /// The body's override URL has another path than the configured one.
    OtherPath { expected: String },
    /// No URL at all to notify.
    NoTarget,
}

/// The URLs to notify, in order, normalised and each once.
pub async fn resolve(
    request: TargetRequest<'_>,
    policy: &UrlPolicy,
    resolver: Option<&Resolver>,
) -> Result<Vec<String>, TargetError> {
    let mut base = request.configured.map(str::to_owned);
    if let Some(input) = request.body_override {
        let url = judge(input, policy, resolver)
            .await
            .map_err(|rules| TargetError::BodyOverride { rules })?;
        let configured = request
            .configured
            .and_then(|c| NotificationUrl::parse(c, Environment::Sandbox, policy).ok())
            .map(|(url, _)| url)
            .ok_or(TargetError::NothingToOverride)?;
        if url.path() != configured.path() {
            return Err(TargetError::OtherPath {
                expected: configured.path().to_owned(),
            });
        }
        base = Some(url.as_str().to_owned());
    }
    let mut targets = match (request.override_header, request.append_header) {
        (Some(header), _) => header_urls(OVERRIDE_HEADER, header, policy, resolver).await?,
        (None, Some(header)) => {
            let appended = header_urls(APPEND_HEADER, header, policy, resolver).await?;
            base.into_iter().chain(appended).collect()
        }
        (None, None) => base.into_iter().collect(),
    };
    let mut seen = std::collections::HashSet::new();
    targets.retain(|url| seen.insert(url.clone()));
    if targets.is_empty() {
        return Err(TargetError::NoTarget);
    }
    Ok(targets)
}

/// The URLs of one header, each judged; the first broken item is the error.
async fn header_urls(
    header: &'static str,
    value: &str,
    policy: &UrlPolicy,
    resolver: Option<&Resolver>,
) -> Result<Vec<String>, TargetError> {
    let items: Vec<&str> = value.split(',').map(str::trim).collect();
    if items.len() > MAX_HEADER_URLS {
        return Err(TargetError::Header {
            header,
            item: MAX_HEADER_URLS + 1,
            rules: vec![TOO_MANY_URLS],
        });
    }
    let mut urls = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let url = judge(item, policy, resolver)
            .await
            .map_err(|rules| TargetError::Header {
                header,
                item: index + 1,
                rules,
            })?;
        urls.push(url.as_str().to_owned());
    }
    Ok(urls)
}

/// One URL judged by the whole sandbox policy, DNS included when `resolver` is given.
async fn judge(
    input: &str,
    policy: &UrlPolicy,
    resolver: Option<&Resolver>,
) -> Result<NotificationUrl, Vec<&'static str>> {
    if input.trim().is_empty() {
        return Err(vec![ViolationCode::Empty.as_str()]);
    }
    vet(input, Environment::Sandbox, policy, resolver)
        .await
        .map(|vetted| vetted.url)
        .map_err(|violations| violations.iter().map(|v| v.code.as_str()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIGURED: &str = "https://shop.co.id/notify";

    async fn targets(request: TargetRequest<'_>) -> Result<Vec<String>, TargetError> {
        resolve(request, &UrlPolicy::default(), None).await
    }

    fn with(configured: Option<&'static str>) -> TargetRequest<'static> {
        TargetRequest {
            configured,
            ..TargetRequest::default()
        }
    }

    #[tokio::test]
    async fn override_replaces_append_adds_and_override_wins_over_append() {
        let plain = targets(with(Some(CONFIGURED))).await.unwrap();
        assert_eq!(plain, [CONFIGURED]);
        let replaced = targets(TargetRequest {
            override_header: Some("https://a.co.id/x, https://b.co.id/y"),
            ..with(Some(CONFIGURED))
        })
        .await
        .unwrap();
        assert_eq!(replaced, ["https://a.co.id/x", "https://b.co.id/y"]);
        let appended = targets(TargetRequest {
            append_header: Some("https://a.co.id/x,https://shop.co.id/notify"),
            ..with(Some(CONFIGURED))
        })
        .await
        .unwrap();
        assert_eq!(
            appended,
            [CONFIGURED, "https://a.co.id/x"],
            "duplicates once"
        );
        let both = targets(TargetRequest {
            override_header: Some("https://a.co.id/x"),
            append_header: Some("not even a url"),
            ..with(Some(CONFIGURED))
        })
        .await
        .unwrap();
        assert_eq!(both, ["https://a.co.id/x"]);
    }

    #[tokio::test]
    async fn each_broken_header_item_is_named_with_its_rules() {
        let four = targets(TargetRequest {
            append_header: Some("https://a.co.id,https://b.co.id,https://c.co.id,https://d.co.id"),
            ..with(Some(CONFIGURED))
        })
        .await;
        assert_eq!(
            four,
            Err(TargetError::Header {
                header: APPEND_HEADER,
                item: 4,
                rules: vec![TOO_MANY_URLS]
            })
        );
        let empty = targets(TargetRequest {
            override_header: Some("https://a.co.id,,https://c.co.id"),
            ..with(None)
        })
        .await;
        assert_eq!(
            empty,
            Err(TargetError::Header {
                header: OVERRIDE_HEADER,
                item: 2,
                rules: vec!["empty"]
            })
        );
        let tunnel = targets(TargetRequest {
            override_header: Some("https://x.ngrok.io/n"),
            ..with(None)
        })
        .await;
        assert_eq!(
            tunnel,
            Err(TargetError::Header {
                header: OVERRIDE_HEADER,
                item: 1,
                rules: vec!["tunnel_domain"]
            })
        );
    }

    #[tokio::test]
    async fn the_body_override_keeps_the_configured_path() {
        let moved = targets(TargetRequest {
            body_override: Some("https://other.co.id/notify"),
            ..with(Some(CONFIGURED))
        })
        .await;
        assert_eq!(moved.unwrap(), ["https://other.co.id/notify"]);
        let other_path = targets(TargetRequest {
            body_override: Some("https://other.co.id/elsewhere"),
            ..with(Some(CONFIGURED))
        })
        .await;
        assert_eq!(
            other_path,
            Err(TargetError::OtherPath {
                expected: "/notify".into()
            })
        );
        let nothing = targets(TargetRequest {
            body_override: Some("https://other.co.id/notify"),
            ..with(None)
        })
        .await;
        assert_eq!(nothing, Err(TargetError::NothingToOverride));
        assert_eq!(targets(with(None)).await, Err(TargetError::NoTarget));
    }
}
