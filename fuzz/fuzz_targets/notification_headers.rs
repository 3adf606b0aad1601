//! A payment's notification targets from arbitrary `X-Override-Notification`,
//! `X-Append-Notification` and body override values: never a panic, never more than the
//! configured URL and three from a header, every target one the policy accepts.

#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use payhook::payments::targets::{MAX_HEADER_URLS, resolve};
use payhook::payments::{TargetError, TargetRequest};
use payhook::domain::Environment;
use payhook::url_policy::{NotificationUrl, UrlPolicy};
use payhook_fuzz::block_on;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    configured: Option<&'a str>,
    body_override: Option<&'a str>,
    override_header: Option<&'a str>,
    append_header: Option<&'a str>,
    allow_private_targets: bool,
}

fuzz_target!(|input: Input<'_>| {
    let policy = UrlPolicy {
        allow_private_targets: input.allow_private_targets,
        ..UrlPolicy::default()
    };
    // The configured URL comes from the database, where only a URL the policy accepted (in
    // its normalised form) is ever saved.
    let configured = input
        .configured
        .and_then(|url| NotificationUrl::parse(url, Environment::Sandbox, &policy).ok())
        .map(|(url, _)| url.as_str().to_owned());
    let request = TargetRequest {
        configured: configured.as_deref(),
        body_override: input.body_override,
        override_header: input.override_header,
        append_header: input.append_header,
    };
    match block_on(resolve(request, &policy, None)) {
        Ok(targets) => {
            assert!(!targets.is_empty());
            assert!(targets.len() <= MAX_HEADER_URLS + 1);
            if input.override_header.is_some() {
                assert!(targets.len() <= MAX_HEADER_URLS);
            }
            for (n, url) in targets.iter().enumerate() {
                let parsed = NotificationUrl::parse(url, Environment::Sandbox, &policy);
                let (parsed, _) = parsed.expect("every target passes the sandbox policy");
                assert_eq!(parsed.as_str(), url);
                assert!(!targets[..n].contains(url), "each target once");
            }
        }
        Err(TargetError::Header { item, rules, .. }) => {
            assert!((1..=MAX_HEADER_URLS + 1).contains(&item));
            assert!(!rules.is_empty());
        }
        Err(TargetError::BodyOverride { rules }) => assert!(!rules.is_empty()),
        Err(_) => {}
    }
});
