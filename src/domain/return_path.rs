//! Where a sign-in goes back to: the page that was asked for while signed out.

/// A path on this site to return to after signing in, never another origin: it starts with a
/// single `/` (`//host` and `/\host` are read by browsers as another host), holds no control
/// character or backslash, and is not a sign-in page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    /// Longer is no page of ours.
    const MAX_BYTES: usize = 512;

    pub fn parse(text: &str) -> Option<Self> {
        let same_origin = text.starts_with('/') && !text.starts_with("//");
        let plain = !text.contains('\\') && !text.chars().any(char::is_control);
        let fits = text.len() <= Self::MAX_BYTES;
        let sign_in = text.starts_with(crate::paths::LOGIN);
        (same_origin && plain && fits && !sign_in && text != "/").then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ReturnPath;

    #[test]
    fn only_paths_of_this_site_are_returned_to() {
        let kept = ReturnPath::parse("/integration/notifications/5?merchant=acme");
        assert_eq!(
            kept.map(|p| p.as_str().to_owned()),
            Some("/integration/notifications/5?merchant=acme".to_owned())
        );
        for refused in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "/login?next=/x",
            "/login/two-factor",
            "/a\nb",
            "",
            "/",
        ] {
            assert_eq!(ReturnPath::parse(refused), None, "{refused:?}");
        }
        assert_eq!(ReturnPath::parse(&format!("/{}", "a".repeat(600))), None);
    }
}
