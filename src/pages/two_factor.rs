//! Two-factor sign-in on one's own account: whether it is on, setting it up, the recovery codes
//! shown once, and a merchant team's rule.

use askama::Template;

use super::Layout;
use crate::auth::two_factor::Setup;
use crate::paths;

/// Which form of the page a refusal belongs to, so its message shows beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TwoFactorForm {
    #[default]
    None,
    Setup,
    Disable,
    RecoveryCodes,
}

/// A refused form's broken rules, by field.
#[derive(Default)]
pub struct TwoFactorErrors {
    pub form: TwoFactorForm,
    pub password: Option<&'static str>,
    pub code: Option<&'static str>,
    /// A rule of the form as a whole (the team rule).
    pub general: Option<&'static str>,
}

impl TwoFactorErrors {
    pub fn is_empty(&self) -> bool {
        self.password.is_none() && self.code.is_none() && self.general.is_none()
    }

    /// The refused form's message for `field`, when `form` is that form.
    pub fn of(
        &self,
        form: impl std::borrow::Borrow<TwoFactorForm>,
        field: &str,
    ) -> Option<&'static str> {
        if self.form != *form.borrow() {
            return None;
        }
        match field {
            "password" => self.password,
            "code" => self.code,
            _ => self.general,
        }
    }
}

#[derive(Template)]
#[template(path = "two_factor.html")]
pub struct TwoFactorPage {
    pub layout: Layout,
    pub on: bool,
    pub codes_left: i64,
    /// Why two-factor is required of this user, when it is (an i18n key).
    pub required_because: Option<&'static str>,
    pub errors: TwoFactorErrors,
}

#[derive(Template)]
#[template(path = "two_factor_setup.html")]
pub struct SetupPage {
    pub layout: Layout,
    pub setup: Setup,
    pub error: Option<&'static str>,
}

/// New recovery codes, shown once.
#[derive(Template)]
#[template(path = "two_factor_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    /// The codes as a `data:` link to a `.txt` file.
    pub download: String,
    /// Two-factor was just turned on (rather than the codes replaced): what to say of it.
    pub just_enabled: Option<&'static str>,
}

impl RecoveryCodesPage {
    pub fn new(
        layout: Layout,
        codes: Vec<String>,
        account: &str,
        just_enabled: Option<&'static str>,
    ) -> Self {
        let mut text = format!("payhook recovery codes for {account}\n\n");
        for code in &codes {
            text.push_str(code);
            text.push('\n');
        }
        let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        // form encoding writes spaces as `+`, which a data URL keeps as a plus sign.
        let download = format!(
            "data:text/plain;charset=utf-8,{}",
            encoded.replace('+', "%20")
        );
        Self {
            layout,
            codes,
            download,
            just_enabled,
        }
    }
}
