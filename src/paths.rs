//! Every path the Rust code routes, builds or matches, in one place: the route table in
//! `startup` registers these patterns, so a renamed route renames every link and check with it.

pub const HOME: &str = "/";
pub const HEALTHZ: &str = "/healthz";
pub const METRICS: &str = "/metrics";
pub const STATIC_FILE: &str = "/static/{name}";
pub const LANGUAGE: &str = "/language/{code}";
/// Where the language switch never sends anyone back to.
pub const LANGUAGE_PREFIX: &str = "/language/";

pub const LOGIN: &str = "/login";
pub const SIGNED_OUT: &str = "/login?signed_out=1";
pub const LOGOUT: &str = "/logout";
pub const ACCOUNT_PASSWORD: &str = "/account/password";

pub const PAYMENT_SETTINGS: &str = "/settings/payment";
pub const SECTION: &str = "/settings/payment/{section}";
pub const CHANNEL: &str = "/settings/payment/{section}/{channel}";
pub const CHANNEL_TEST: &str = "/settings/payment/{section}/{channel}/test";
pub const CHANNEL_HISTORY: &str = "/settings/payment/{section}/{channel}/history";

pub const API_KEYS: &str = "/integration/api-keys";
pub const API_KEYS_ROTATE: &str = "/integration/api-keys/rotate";
pub const NOTIFICATIONS: &str = "/integration/notifications";
pub const NOTIFICATION: &str = "/integration/notifications/{id}";
pub const NOTIFICATION_RESEND: &str = "/integration/notifications/{id}/resend";

pub const ADMIN: &str = "/admin";
pub const ADMIN_MERCHANTS: &str = "/admin/merchants";
pub const ADMIN_MERCHANT: &str = "/admin/merchants/{code}";
pub const ADMIN_AUDIT: &str = "/admin/audit";
pub const ADMIN_AUDIT_CSV: &str = "/admin/audit.csv";
pub const ADMIN_AUDIT_VERIFY: &str = "/admin/audit/verify";
pub const ADMIN_USERS: &str = "/admin/users";
pub const ADMIN_USER_CHANGE: &str = "/admin/users/{id}/{change}";

/// The sandbox payment API (JSON, HTTP Basic): everything under it answers JSON.
pub const API_PREFIX: &str = "/api/";
pub const API_PAYMENTS: &str = "/api/v1/payments";
pub const API_PAYMENT: &str = "/api/v1/payments/{id}";
pub const API_SIMULATE: &str = "/api/v1/payments/{id}/simulate";
pub const API_OPENAPI: &str = "/api/v1/openapi.json";

/// Paths a user holding a one-time password may still use: choosing a new one, signing out.
pub const OPEN_TO_ONE_TIME_PASSWORD: [&str; 2] = [ACCOUNT_PASSWORD, LOGOUT];

/// A section's channel table.
pub fn section(section: &str) -> String {
    format!("{PAYMENT_SETTINGS}/{section}")
}

/// One delivery of the notification log.
pub fn notification(id: i64) -> String {
    format!("{NOTIFICATIONS}/{id}")
}

/// One merchant's read-only settings in the admin area.
pub fn admin_merchant(code: &str) -> String {
    format!("{ADMIN_MERCHANTS}/{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_paths_match_their_route_patterns() {
        assert_eq!(section("va"), SECTION.replace("{section}", "va"));
        assert_eq!(
            admin_merchant("acme"),
            ADMIN_MERCHANT.replace("{code}", "acme")
        );
        assert!(SIGNED_OUT.starts_with(LOGIN));
    }
}
