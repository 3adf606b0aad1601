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
pub const ACCOUNT_ALERTS: &str = "/account/alerts";
pub const ACCOUNT_TIME_ZONE: &str = "/account/time-zone";
pub const LOGIN_TWO_FACTOR: &str = "/login/two-factor";
/// Where a sign-in that ended at its second step starts again.
pub const SIGN_IN_ENDED: &str = "/login?ended=1";
pub const TWO_FACTOR: &str = "/account/two-factor";
pub const TWO_FACTOR_SETUP: &str = "/account/two-factor/setup";
pub const TWO_FACTOR_CONFIRM: &str = "/account/two-factor/confirm";
pub const TWO_FACTOR_DISABLE: &str = "/account/two-factor/disable";
pub const TWO_FACTOR_RECOVERY_CODES: &str = "/account/two-factor/recovery-codes";
pub const PASSWORD_FORGOT: &str = "/password/forgot";
pub const PASSWORD_RESET: &str = "/password/reset/{token}";
/// Where a reset link sends its user once the new password is set.
pub const PASSWORD_WAS_RESET: &str = "/login?reset=1";
pub const INVITATION: &str = "/invitations/{token}";
/// Routes whose path holds a secret token: logs show their pattern, not the path.
pub const TOKEN_ROUTES: [&str; 2] = [PASSWORD_RESET, INVITATION];

pub const PAYMENT_SETTINGS: &str = "/settings/payment";
pub const SECTION: &str = "/settings/payment/{section}";
/// Registered before [`CHANNEL`], whose pattern it also matches (no channel is called `apply`).
pub const SECTION_APPLY: &str = "/settings/payment/{section}/apply";
pub const SECTION_APPLY_CONFIRM: &str = "/settings/payment/{section}/apply/confirm";
pub const CHANNEL: &str = "/settings/payment/{section}/{channel}";
pub const CHANNEL_TEST: &str = "/settings/payment/{section}/{channel}/test";
pub const CHANNEL_HISTORY: &str = "/settings/payment/{section}/{channel}/history";

pub const TEAM: &str = "/settings/team";
pub const TEAM_INVITATIONS: &str = "/settings/team/invitations";
pub const TEAM_INVITATION_REVOKE: &str = "/settings/team/invitations/{id}/revoke";
pub const TEAM_MEMBER_ROLE: &str = "/settings/team/members/{id}/role";
pub const TEAM_MEMBER_REMOVE: &str = "/settings/team/members/{id}/remove";
pub const TEAM_TWO_FACTOR: &str = "/settings/team/two-factor";

pub const API_KEYS: &str = "/integration/api-keys";
pub const API_KEYS_ROTATION_CANCEL: &str = "/integration/api-keys/rotation/cancel";
pub const API_KEYS_ROTATE: &str = "/integration/api-keys/rotate";
pub const NOTIFICATIONS: &str = "/integration/notifications";
pub const NOTIFICATION: &str = "/integration/notifications/{id}";
pub const NOTIFICATION_RESEND: &str = "/integration/notifications/{id}/resend";
pub const NOTIFICATIONS_RECOVER: &str = "/integration/notifications/recover";
pub const NOTIFICATIONS_HEALTH: &str = "/integration/notifications/health";
pub const NOTIFICATIONS_CSV: &str = "/integration/notifications.csv";

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
/// Paths a user who must set up two-factor may still use: setting it up, signing out.
pub const OPEN_TO_ENROLMENT: [&str; 4] = [TWO_FACTOR, TWO_FACTOR_SETUP, TWO_FACTOR_CONFIRM, LOGOUT];

/// `pattern` with its `{name}` segments replaced, in order, by `values`: a path built this way
/// is the route pattern's own shape.
fn fill(pattern: &str, values: &[&str]) -> String {
    let mut path = String::with_capacity(pattern.len() + 16);
    let mut values = values.iter();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        path.push_str(values.next().copied().unwrap_or_default());
        let close = rest[open..]
            .find('}')
            .map_or(rest.len(), |end| open + end + 1);
        rest = &rest[close..];
    }
    path.push_str(rest);
    path
}

/// A static file.
pub fn static_file(name: &str) -> String {
    fill(STATIC_FILE, &[name])
}

/// A section's channel table.
pub fn section(section: &str) -> String {
    fill(SECTION, &[section])
}

/// Where one URL pair for every channel of a section is reviewed.
pub fn section_apply(section: &str) -> String {
    fill(SECTION_APPLY, &[section])
}

/// Where a reviewed URL pair is saved to every channel of a section.
pub fn section_apply_confirm(section: &str) -> String {
    fill(SECTION_APPLY_CONFIRM, &[section])
}

/// A channel's CONFIGURE form.
pub fn channel(section: &str, channel: &str) -> String {
    fill(CHANNEL, &[section, channel])
}

/// Where a channel's test notification is sent from.
pub fn channel_test(section: &str, channel: &str) -> String {
    fill(CHANNEL_TEST, &[section, channel])
}

/// A channel's change history.
pub fn channel_history(section: &str, channel: &str) -> String {
    fill(CHANNEL_HISTORY, &[section, channel])
}

/// One delivery of the notification log.
pub fn notification(id: &i64) -> String {
    fill(NOTIFICATION, &[&id.to_string()])
}

/// The notification log filtered to one channel and environment (where a failure leads).
pub fn channel_log(section: &str, channel: &str, environment: &str) -> String {
    format!("{NOTIFICATIONS}?section={section}&channel={channel}&environment={environment}")
}

/// Where one delivery is resent from.
pub fn notification_resend(id: &i64) -> String {
    fill(NOTIFICATION_RESEND, &[&id.to_string()])
}

/// One merchant's read-only settings in the admin area.
pub fn admin_merchant<Code: AsRef<str> + ?Sized>(code: &Code) -> String {
    fill(ADMIN_MERCHANT, &[code.as_ref()])
}

/// A change to one user in the admin area (`enable`, `disable`, `reset-password`).
pub fn admin_user_change(id: &i64, change: &str) -> String {
    fill(ADMIN_USER_CHANGE, &[&id.to_string(), change])
}

/// Where an owner changes a member's role.
pub fn team_member_role(id: &i64) -> String {
    fill(TEAM_MEMBER_ROLE, &[&id.to_string()])
}

/// Where an owner removes a member.
pub fn team_member_remove(id: &i64) -> String {
    fill(TEAM_MEMBER_REMOVE, &[&id.to_string()])
}

/// Where an owner revokes an invitation.
pub fn team_invitation_revoke(id: &i64) -> String {
    fill(TEAM_INVITATION_REVOKE, &[&id.to_string()])
}

/// An invitation link's page.
pub fn invitation(token: &str) -> String {
    fill(INVITATION, &[token])
}

/// A password-reset link's page.
pub fn password_reset(token: &str) -> String {
    fill(PASSWORD_RESET, &[token])
}

/// The language switch to `code`.
pub fn language(code: &str) -> String {
    fill(LANGUAGE, &[code])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_paths_fill_their_route_patterns() {
        assert_eq!(section("va"), "/settings/payment/va");
        assert_eq!(channel("va", "bca"), "/settings/payment/va/bca");
        assert_eq!(section_apply("va"), "/settings/payment/va/apply");
        assert_eq!(
            section_apply_confirm("va"),
            "/settings/payment/va/apply/confirm"
        );
        assert_eq!(channel_test("va", "bca"), "/settings/payment/va/bca/test");
        assert_eq!(
            channel_history("va", "bca"),
            "/settings/payment/va/bca/history"
        );
        assert_eq!(notification(&7), "/integration/notifications/7");
        assert_eq!(
            notification_resend(&7),
            "/integration/notifications/7/resend"
        );
        assert_eq!(admin_merchant("acme"), "/admin/merchants/acme");
        assert_eq!(admin_user_change(&3, "enable"), "/admin/users/3/enable");
        assert_eq!(language("id"), "/language/id");
        assert_eq!(password_reset("abc"), "/password/reset/abc");
        assert_eq!(invitation("abc"), "/invitations/abc");
        assert_eq!(team_member_role(&4), "/settings/team/members/4/role");
        assert_eq!(team_member_remove(&4), "/settings/team/members/4/remove");
        assert_eq!(
            team_invitation_revoke(&5),
            "/settings/team/invitations/5/revoke"
        );
        assert!(PASSWORD_WAS_RESET.starts_with(LOGIN));
        assert!(SIGNED_OUT.starts_with(LOGIN));
    }
}
