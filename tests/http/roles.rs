//! Every role against every route that changes something, walked from the route table itself:
//! a role the route's rule admits gets the change made and audited; any other gets 403 (a team
//! member asking for the gateway's area, 404), with nothing changed and no audit event. A
//! viewer's and an auditor's pages carry no secret and no form that changes anything.

use reqwest::StatusCode;

use crate::payments::{Api, order, spawn};
use payhook::auth::Access;
use payhook::cli::RoleArg;
use payhook::domain::Role;
use payhook::paths;
use payhook::startup::{ROUTES, RouteRule};
use payhook_testing::on_both_backends;
use payhook_testing::{
    Backend, Browser, PASSWORD, Receiver, Reply, TestApp, csrf_token, enrol, reveal_secret,
};

on_both_backends!(
    every_changing_route_admits_exactly_the_roles_of_its_rule,
    a_viewer_and_an_auditor_read_their_pages_without_a_secret_or_a_changing_form,
);

/// Changing routes open to anyone (signed in or not), each guarded by what it asks for
/// instead of a role: the sign-in forms, a token in a link, one's own account, the API's
/// credentials. A new changing route must be added here or given a case below.
const OPEN: &[&str] = &[
    paths::LOGIN,
    paths::LOGOUT,
    paths::LOGIN_TWO_FACTOR,
    paths::PASSWORD_FORGOT,
    paths::PASSWORD_RESET,
    paths::INVITATION,
    paths::ACCOUNT_PASSWORD,
    paths::TWO_FACTOR_SETUP,
    paths::TWO_FACTOR_CONFIRM,
    paths::TWO_FACTOR_DISABLE,
    paths::TWO_FACTOR_RECOVERY_CODES,
    paths::API_PAYMENTS,
    paths::API_SIMULATE,
    paths::LANGUAGE,
];

/// Everyone who tries: the refused first, so the allowed change is what each case ends on.
const ROLES: [Role; 5] = [
    Role::Viewer,
    Role::Auditor,
    Role::Developer,
    Role::Admin,
    Role::Owner,
];

/// A merchant's team, the gateway's staff, each signed in, and what the cases act on.
struct World {
    app: TestApp,
    merchant_id: i64,
    receiver: Receiver,
    /// Delivered notifications to resend, one per role.
    deliveries: Vec<i64>,
    users: Vec<(Role, String, Browser)>,
}

impl World {
    fn browser(&self, role: Role) -> &Browser {
        &self.users.iter().find(|(r, ..)| *r == role).unwrap().2
    }

    async fn count(&self, sql: &str) -> i64 {
        self.app.scalar::<i64>(sql).await
    }

    async fn audit_events(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM audit_events").await
    }

    /// A new member of the team, to be changed by a case.
    async fn new_member(&self) -> i64 {
        let email = self.app.create_member("acme", RoleArg::Developer).await;
        let sql = format!("SELECT id FROM users WHERE email = '{email}'");
        self.count(&sql).await
    }

    /// A new invitation of the team, sent by its owner.
    async fn new_invitation(&self, n: usize) -> i64 {
        let email = format!("revoke-{n}@elsewhere.example.com");
        let sent = self
            .browser(Role::Owner)
            .submit(
                paths::TEAM,
                paths::TEAM_INVITATIONS,
                &[("email", &email), ("role", "viewer")],
            )
            .await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        self.count("SELECT MAX(id) FROM invitations").await
    }
}

async fn world(backend: Backend) -> World {
    let app = spawn(backend, "1h").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    // The owner is `app` itself: it made the merchant and holds its API credentials.
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let mut deliveries = Vec::new();
    for n in 0..ROLES.len() {
        let header = [("X-Override-Notification", target.as_str())];
        let (status, payment) = api.create(order(&format!("INV-{n}")), &header).await;
        assert_eq!(status, StatusCode::CREATED, "{payment}");
        let id = payment["id"].as_str().unwrap().to_owned();
        assert_eq!(api.simulate(&id, "SUCCESS").await.0, StatusCode::OK);
        let (_, payment) = api.get(&id).await;
        deliveries.push(payment["deliveries"][0]["id"].as_i64().unwrap());
    }
    // A channel to send test notifications from.
    let saved = app.save("va", "bca", &target, "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let merchant_id = app
        .scalar::<i64>("SELECT id FROM merchants WHERE code = 'acme'")
        .await;
    let owner = app
        .scalar::<String>("SELECT email FROM users WHERE role = 'owner'")
        .await;
    let mut users = Vec::new();
    for role in ROLES {
        let email = match role {
            Role::Owner => owner.clone(),
            Role::Developer => app.create_member("acme", RoleArg::Developer).await,
            Role::Viewer => app.create_member("acme", RoleArg::Viewer).await,
            Role::Admin => app.create_admin().await,
            Role::Auditor => app.create_auditor().await,
        };
        let browser = app.signed_in_browser(&email).await;
        users.push((role, email, browser));
    }
    World {
        app,
        merchant_id,
        receiver,
        deliveries,
        users,
    }
}

/// One changing route's request as `role` makes it, and what shows that it worked.
struct Attempt {
    path: String,
    form: Vec<(String, String)>,
    /// A query whose answer the change moves, and only the change.
    changed: String,
}

async fn attempt(world: &World, rule: &RouteRule, n: usize) -> Attempt {
    let merchant = world.merchant_id;
    let audited =
        |action: &str| format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}'");
    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let (path, form, changed) = match rule.path {
        paths::CHANNEL => {
            // A channel of its own per role, never saved before.
            let channel = ["bni", "bri", "mandiri", "permata", "cimb"][n];
            let url = format!("http://127.0.0.1:{}/{channel}", world.receiver.port());
            (
                paths::channel("va", channel),
                form(&[
                    ("sandbox_url", &url),
                    ("production_url", ""),
                    ("version", "0"),
                ]),
                format!("SELECT COUNT(*) FROM channel_settings WHERE merchant_id = {merchant}"),
            )
        }
        // Reviewing a pair changes nothing: what it leaves is its review page.
        paths::SECTION_APPLY => (
            paths::section_apply("cstore"),
            form(&[
                ("sandbox_url", &apply_url(world, n)),
                ("production_url", ""),
            ]),
            String::new(),
        ),
        paths::SECTION_APPLY_CONFIRM => {
            // A pair of its own per role, on the versions stored now.
            let version = |channel: &str| {
                format!(
                    "SELECT COALESCE(MAX(version), 0) FROM channel_settings WHERE \
                     merchant_id = {merchant} AND section = 'cstore' AND channel = '{channel}'"
                )
            };
            let versions = format!(
                "alfa:{},indomaret:{}",
                world.count(&version("alfa")).await,
                world.count(&version("indomaret")).await
            );
            (
                paths::section_apply_confirm("cstore"),
                form(&[
                    ("sandbox_url", &apply_url(world, n)),
                    ("production_url", ""),
                    ("versions", &versions),
                ]),
                format!(
                    "SELECT COALESCE(MAX(version), 0) FROM channel_settings \
                     WHERE merchant_id = {merchant} AND section = 'cstore'"
                ),
            )
        }
        paths::CHANNEL_TEST => (
            paths::channel_test("va", "bca"),
            form(&[("environment", "sandbox")]),
            audited("test_notification"),
        ),
        paths::API_KEYS => (
            paths::API_KEYS.to_owned(),
            form(&[("environment", "sandbox"), ("password", PASSWORD)]),
            audited("api_key_reveal"),
        ),
        paths::API_KEYS_ROTATE => (
            paths::API_KEYS_ROTATE.to_owned(),
            form(&[("environment", "production"), ("password", PASSWORD)]),
            audited("api_key_rotate"),
        ),
        paths::NOTIFICATION_RESEND => (
            paths::notification_resend(&world.deliveries[n]),
            form(&[("to", "sent")]),
            audited("notification_resend"),
        ),
        paths::TEAM_INVITATIONS => (
            paths::TEAM_INVITATIONS.to_owned(),
            form(&[
                ("email", &format!("invited-{n}@elsewhere.example.com")),
                ("role", "viewer"),
            ]),
            "SELECT COUNT(*) FROM invitations".to_owned(),
        ),
        paths::TEAM_INVITATION_REVOKE => (
            paths::team_invitation_revoke(&world.new_invitation(n).await),
            Vec::new(),
            "SELECT COUNT(*) FROM invitations WHERE revoked_at IS NOT NULL".to_owned(),
        ),
        paths::TEAM_MEMBER_ROLE => (
            paths::team_member_role(&world.new_member().await),
            form(&[("role", "viewer")]),
            "SELECT COUNT(*) FROM users WHERE role = 'viewer'".to_owned(),
        ),
        paths::TEAM_MEMBER_REMOVE => (
            paths::team_member_remove(&world.new_member().await),
            Vec::new(),
            "SELECT COUNT(*) FROM users WHERE removed_at IS NOT NULL".to_owned(),
        ),
        paths::TEAM_TWO_FACTOR => (
            paths::TEAM_TWO_FACTOR.to_owned(),
            form(&[("required", "on")]),
            format!("SELECT COUNT(*) FROM merchants WHERE id = {merchant} AND require_two_factor"),
        ),
        paths::ADMIN_MERCHANTS => (
            paths::ADMIN_MERCHANTS.to_owned(),
            form(&[("code", &format!("shop{n}")), ("name", "Shop")]),
            "SELECT COUNT(*) FROM merchants".to_owned(),
        ),
        paths::ADMIN_USERS => (
            paths::ADMIN_USERS.to_owned(),
            form(&[
                ("email", &format!("made-{n}@acme.example.com")),
                ("role", "viewer"),
                ("merchant", "acme"),
            ]),
            "SELECT COUNT(*) FROM users".to_owned(),
        ),
        paths::ADMIN_USER_CHANGE => (
            paths::admin_user_change(&world.new_member().await, "disable"),
            form(&[("confirmed", "yes")]),
            "SELECT COUNT(*) FROM users WHERE disabled".to_owned(),
        ),
        paths::ACCOUNT_ALERTS => (
            paths::ACCOUNT_ALERTS.to_owned(),
            Vec::new(),
            "SELECT COUNT(*) FROM users WHERE NOT failure_alerts".to_owned(),
        ),
        paths::ACCOUNT_TIME_ZONE => (
            paths::ACCOUNT_TIME_ZONE.to_owned(),
            form(&[("time_zone", "WITA")]),
            "SELECT COUNT(*) FROM users WHERE time_zone = 'WITA'".to_owned(),
        ),
        paths::NOTIFICATIONS_RECOVER => {
            // A failed notification of its own to recover (the others' resends stay theirs).
            let failed = format!(
                "INSERT INTO deliveries (merchant_id, section, channel, environment, kind, url, \
                 request_id, request_body, status, attempts, created_at) SELECT merchant_id, \
                 section, channel, environment, kind, url, request_id, request_body, 'failed', \
                 1, created_at FROM deliveries WHERE id = {}",
                world.deliveries[n]
            );
            crate::rotation::run(&world.app, &failed).await;
            (
                paths::NOTIFICATIONS_RECOVER.to_owned(),
                Vec::new(),
                audited("notifications_recovered"),
            )
        }
        paths::API_KEYS_ROTATION_CANCEL => {
            // A rotation to cancel (409 when the last one is still scheduled: as good).
            let owner = world.browser(Role::Owner);
            let form = [
                ("environment", "production"),
                ("password", PASSWORD),
                ("when", "1"),
            ];
            owner
                .submit(paths::API_KEYS, paths::API_KEYS_ROTATE, &form)
                .await;
            (
                paths::API_KEYS_ROTATION_CANCEL.to_owned(),
                vec![("environment".to_owned(), "production".to_owned())],
                audited("api_key_rotation_cancelled"),
            )
        }
        // Walks the chain and changes nothing: what it leaves is the audit page's report.
        paths::ADMIN_AUDIT_VERIFY => (
            paths::ADMIN_AUDIT_VERIFY.to_owned(),
            Vec::new(),
            String::new(),
        ),
        other => panic!(
            "{} {other} changes something but has no case in the role matrix: add one here, \
             or list it in OPEN if no role is needed",
            rule.method
        ),
    };
    Attempt {
        path,
        form,
        changed,
    }
}

async fn every_changing_route_admits_exactly_the_roles_of_its_rule(backend: Backend) {
    let world = world(backend).await;
    // The team rule binds every member once set: it goes last.
    let mut rules: Vec<&RouteRule> = ROUTES.iter().filter(|r| r.method == "post").collect();
    rules.sort_by_key(|rule| rule.path == paths::TEAM_TWO_FACTOR);
    enrol(world.browser(Role::Owner)).await;
    let mut walked = 0;
    for rule in rules {
        if OPEN.contains(&rule.path) {
            assert!(
                matches!(
                    rule.access,
                    Access::Anyone | Access::SignedIn | Access::ApiClient
                ),
                "{} is listed as open but its rule is {:?}",
                rule.path,
                rule.access
            );
            continue;
        }
        for (n, role) in ROLES.iter().copied().enumerate() {
            let attempt = attempt(&world, rule, n).await;
            let browser = world.browser(role);
            let token = csrf_token(&browser.get_text(paths::ACCOUNT_PASSWORD).await);
            let mut form: Vec<(&str, &str)> = attempt
                .form
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            form.push(("csrf_token", &token));
            let before = (
                world.audit_events().await,
                state(&world, &attempt.changed).await,
            );
            let answer = browser.post(&attempt.path, &form).await;
            let status = answer.status();
            let body = answer.text().await.unwrap();
            let after = (
                world.audit_events().await,
                state(&world, &attempt.changed).await,
            );
            let what = format!("{role} POST {} ({:?}): {status}", attempt.path, rule.access);
            if rule.access.allows(role) {
                assert!(
                    status == StatusCode::SEE_OTHER || status == StatusCode::OK,
                    "{what}\n{body}"
                );
                if attempt.changed.is_empty() {
                    assert_eq!(after.0, before.0, "{what}: writes nothing");
                } else {
                    assert!(after.0 > before.0, "{what}: audited");
                    assert_ne!(after.1, before.1, "{what}: changed");
                }
            } else {
                let refused = rule.access.refusal_status(role);
                assert_eq!(status.as_u16(), refused, "{what}\n{body}");
                assert_eq!(after, before, "{what}: nothing changed, nothing audited");
            }
            walked += 1;
        }
    }
    assert_eq!(
        walked,
        20 * ROLES.len(),
        "every guarded changing route was walked"
    );
}

/// The sandbox URL role `n` applies to a whole section.
fn apply_url(world: &World, n: usize) -> String {
    format!("http://127.0.0.1:{}/apply-{n}", world.receiver.port())
}

/// The answer of the case's query, or nothing for a case that changes nothing.
async fn state(world: &World, sql: &str) -> i64 {
    if sql.is_empty() {
        return 0;
    }
    world.count(sql).await
}

/// The pages `role` may read, with their path parameters filled.
fn readable(role: Role, delivery: i64) -> Vec<String> {
    ROUTES
        .iter()
        .filter(|r| r.method == "get" && r.access.allows(role))
        .filter(|r| {
            matches!(
                r.access,
                Access::Readers | Access::Members | Access::Staff | Access::Admins
            )
        })
        .map(|r| {
            let path = r
                .path
                .replace("{section}", "va")
                .replace("{channel}", "bca")
                .replace("{id}", &delivery.to_string())
                .replace("{code}", "acme");
            let staff_reads_merchant = role.is_staff() && r.access == Access::Readers;
            if staff_reads_merchant && !path.starts_with("/admin") {
                format!("{path}?merchant=acme")
            } else {
                path
            }
        })
        .collect()
}

/// The `action` of every POST form on the page.
fn post_actions(html: &str) -> Vec<String> {
    html.split("<form method=\"post\" action=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

async fn a_viewer_and_an_auditor_read_their_pages_without_a_secret_or_a_changing_form(
    backend: Backend,
) {
    let world = world(backend).await;
    let secrets = [
        reveal_secret(&world.app, "sandbox").await,
        reveal_secret(&world.app, "production").await,
    ];
    // Forms every signed-in page has: signing out, and the language of one's own pages.
    let own = |action: &str| action == paths::LOGOUT || action.starts_with(paths::LANGUAGE_PREFIX);
    for role in [Role::Viewer, Role::Auditor] {
        let browser = world.browser(role);
        let pages = readable(role, world.deliveries[0]);
        assert!(pages.len() >= 7, "{role}: {pages:?}");
        for path in pages {
            let answer = browser.get(&path).await;
            assert_eq!(answer.status(), StatusCode::OK, "{role} GET {path}");
            let html = answer.text().await.unwrap();
            for secret in &secrets {
                assert!(
                    !html.contains(secret.as_str()),
                    "{role} GET {path} shows a secret"
                );
            }
            let changing: Vec<_> = post_actions(&html)
                .into_iter()
                .filter(|action| !own(action))
                // The auditor's one POST: walking the audit chain, which changes nothing.
                .filter(|action| !(role == Role::Auditor && action == paths::ADMIN_AUDIT_VERIFY))
                .collect();
            assert!(changing.is_empty(), "{role} GET {path} offers {changing:?}");
        }
    }
    // The viewer still sees who is on the team and the Client-Ids, as read-only facts.
    let viewer = world.browser(Role::Viewer);
    let team = viewer.get_text(paths::TEAM).await;
    for (role, email, _) in &world.users {
        let listed = team.contains(&format!("data-email=\"{email}\""));
        assert_eq!(listed, role.is_team(), "{role} {email} on the team page");
    }
    let keys = viewer.get_text(paths::API_KEYS).await;
    assert!(keys.contains("class=\"client-id\""), "{keys}");
}
