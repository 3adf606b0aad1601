//! Email settings: the relay (`PAYHOOK_SMTP_URL`), the sender (`PAYHOOK_MAIL_FROM`) and the base
//! of every link an email carries (`PAYHOOK_PUBLIC_URL`).

use std::fmt;

use anyhow::{Context, bail};
use lettre::message::Mailbox;

use super::redact_url;

/// The sender when `PAYHOOK_MAIL_FROM` is not set.
pub const DEFAULT_FROM: &str = "payhook <no-reply@localhost>";

/// Where emails go, who sends them, and where their links lead.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `None`: emails are written to the log (development).
    pub relay: Option<SmtpRelay>,
    pub from: Mailbox,
    /// The site's address as its users reach it (`https://backoffice.example.com`, no trailing
    /// slash); required with a relay.
    pub public_url: Option<String>,
}

/// An SMTP relay URL in lettre's form (`smtp://host:587?tls=required`, `smtps://user:pass@host`).
/// It is shown with its password masked.
#[derive(Clone)]
pub struct SmtpRelay(String);

impl SmtpRelay {
    /// The URL itself, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// TLS from the start (`smtps://`) or required before anything is sent (`tls=required`);
    /// `tls=opportunistic` is not: whoever sits on the path can strip the STARTTLS offer.
    fn encrypted(&self) -> bool {
        let Ok(url) = url::Url::parse(&self.0) else {
            return false;
        };
        url.scheme() == "smtps"
            || url
                .query_pairs()
                .any(|(name, value)| name == "tls" && value == "required")
    }

    fn on_this_machine(&self) -> bool {
        url::Url::parse(&self.0).is_ok_and(|url| is_loopback(&url))
    }
}

/// `localhost` or a loopback address: traffic to it never leaves the machine.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        // `smtp://` is no special scheme to the URL standard: its host stays text.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl fmt::Display for SmtpRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpRelay({self})")
    }
}

impl MailSettings {
    /// No relay: emails are written to the log.
    pub fn log_only() -> Self {
        Self {
            relay: None,
            from: DEFAULT_FROM
                .parse()
                .expect("the default sender is an address"),
            public_url: None,
        }
    }

    /// The three variables, as given (blank ones count as unset).
    pub fn parse(
        smtp_url: Option<String>,
        from: Option<String>,
        public_url: Option<String>,
    ) -> anyhow::Result<Self> {
        let from = from.as_deref().unwrap_or(DEFAULT_FROM).trim();
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("PAYHOOK_MAIL_FROM: {from:?} is not an address"))?;
        let public_url = public_url.map(|url| parse_public_url(&url)).transpose()?;
        let Some(smtp_url) = smtp_url else {
            return Ok(Self {
                relay: None,
                from,
                public_url,
            });
        };
        let relay = SmtpRelay(smtp_url.trim().to_owned());
        if let Err(error) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&relay.0)
        {
            bail!("PAYHOOK_SMTP_URL: {relay} is not a relay URL ({error})");
        }
        if !relay.encrypted() && !relay.on_this_machine() {
            bail!(
                "PAYHOOK_SMTP_URL: {relay} would send emails (and the relay's password) in the \
                 clear: use smtps://host:465, or smtp://host:587?tls=required; only a relay on \
                 this machine may go without TLS"
            );
        }
        if public_url.is_none() {
            bail!(
                "PAYHOOK_PUBLIC_URL must be set when PAYHOOK_SMTP_URL is: it is the base of every \
                 link in an email, such as https://backoffice.example.com"
            );
        }
        Ok(Self {
            relay: Some(relay),
            from,
            public_url,
        })
    }

    /// `path` (`/password/reset/…`) as a link in an email: under `PAYHOOK_PUBLIC_URL`, or without
    /// it (development, no relay) under this server's own address.
    pub fn link(&self, path: &str, bind: &str) -> String {
        match &self.public_url {
            Some(base) => format!("{base}{path}"),
            None => format!("http://{bind}{path}"),
        }
    }
}

/// An absolute https URL (http only on this machine) without user, query or fragment, kept
/// without a trailing slash.
fn parse_public_url(text: &str) -> anyhow::Result<String> {
    let text = text.trim();
    let invalid = |why: &str| anyhow::anyhow!("PAYHOOK_PUBLIC_URL: {text:?} {why}");
    let url = url::Url::parse(text).map_err(|_| invalid("is not an absolute URL"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(invalid("must be an https address"));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(invalid(
            "must be an https address: a link in an email carries a live token",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not hold a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_needs_a_public_url_and_its_password_is_never_shown() {
        let relay = Some("smtps://mailer:s3cret@smtp.example.com:465".to_owned());
        for clear in [
            "smtp://mailer:s3cret@smtp.example.com:587",
            "smtp://smtp.example.com:587?tls=opportunistic",
        ] {
            let public = Some("https://backoffice.example.com".to_owned());
            let error = MailSettings::parse(Some(clear.into()), None, public).unwrap_err();
            let said = error.to_string();
            assert!(
                said.contains("in the clear") && !said.contains("s3cret"),
                "{said}"
            );
        }
        for fine in [
            "smtp://smtp.example.com:587?tls=required",
            "smtp://127.0.0.1:2525",
            "smtp://localhost:25",
        ] {
            let public = Some("https://backoffice.example.com".to_owned());
            assert!(
                MailSettings::parse(Some(fine.into()), None, public).is_ok(),
                "{fine}"
            );
        }
        let error = MailSettings::parse(relay.clone(), None, None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("PAYHOOK_PUBLIC_URL must be set"),
            "{error}"
        );
        let public = Some("https://backoffice.example.com/".to_owned());
        let mail = MailSettings::parse(relay, None, public).unwrap();
        let shown = format!("{} {:?}", mail.relay.as_ref().unwrap(), mail);
        assert!(
            !shown.contains("s3cret") && shown.contains("mailer:***@"),
            "{shown}"
        );
        assert_eq!(
            mail.link("/password/reset/abc", "127.0.0.1:8080"),
            "https://backoffice.example.com/password/reset/abc"
        );
        assert_eq!(mail.from.to_string(), DEFAULT_FROM);
    }

    #[test]
    fn nonsense_is_refused_naming_its_variable() {
        let public = Some("https://backoffice.example.com".to_owned());
        let bad_relay = MailSettings::parse(Some("ftp://x".into()), None, public.clone());
        assert!(
            bad_relay
                .unwrap_err()
                .to_string()
                .starts_with("PAYHOOK_SMTP_URL: ")
        );
        let bad_from = MailSettings::parse(None, Some("not an address".into()), None);
        assert!(
            bad_from
                .unwrap_err()
                .to_string()
                .starts_with("PAYHOOK_MAIL_FROM: ")
        );
        for url in [
            "backoffice.example.com",
            "ftp://x.com",
            "https://u:p@x.com",
            "https://x.com/?a=1",
        ] {
            let error = MailSettings::parse(None, None, Some(url.into())).unwrap_err();
            assert!(
                error.to_string().starts_with("PAYHOOK_PUBLIC_URL: "),
                "{url}: {error}"
            );
        }
        let local = MailSettings::parse(None, None, Some("http://127.0.0.1:8080".into()));
        assert!(local.is_ok(), "plain http on this machine");
        let development = MailSettings::parse(None, None, None).unwrap();
        assert_eq!(
            development.link("/password/forgot", "127.0.0.1:8080"),
            "http://127.0.0.1:8080/password/forgot"
        );
    }
}
