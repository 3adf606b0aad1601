//! Merchant teams: an invitation from email to a signed-in member, role changes and removal that
//! bind at once, the rules no owner can break (own role, last owner), links that stop working,
//! other teams' ids, the limits, and the gateway's read-only view of a team.

use reqwest::StatusCode;

use payhook::cli::RoleArg;
use payhook::paths;
use payhook_testing::on_both_backends;
use payhook_testing::{
    Backend, Browser, PASSWORD, Probe, ReceivedMail, SmtpServer, TestApp, csrf_token, location,
    path_of, spawn_app, spawn_with_smtp,
};

on_both_backends!(
    an_invited_developer_joins_saves_is_demoted_then_removed_and_signed_out,
    nobody_changes_their_own_role_and_the_last_owner_stays,
    two_owners_demoting_each_other_at_once_leave_one_owner,
    used_revoked_replaced_and_expired_links_stop_working,
    another_teams_members_and_invitations_are_not_found,
    an_address_on_another_team_is_refused_without_naming_it,
    invitations_are_limited_per_team_and_per_address,
    admins_create_a_merchant_with_its_owner_by_invitation_and_read_its_team,
    without_a_relay_the_first_owner_gets_a_one_time_password,
);

const NEW: &str = "dewi@acme-dev.example.com";

/// Invites `email` as `role` from the team page of `owner`.
async fn invite(owner: &Browser, email: &str, role: &str) -> reqwest::Response {
    owner
        .submit(
            paths::TEAM,
            paths::TEAM_INVITATIONS,
            &[("email", email), ("role", role)],
        )
        .await
}

/// The invitation link's path in the newest invitation email to `email`.
async fn invitation_path(smtp: &SmtpServer, email: &str, count: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mails: Vec<ReceivedMail> = loop {
        let mails = smtp.mails_to(email);
        if mails.len() >= count {
            break mails;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} emails to {email}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let link = mails[count - 1]
        .link_starting(&format!("{}/invitations/", payhook_testing::PUBLIC_URL))
        .expect("an invitation link");
    path_of(&link).to_owned()
}

/// Joins through `path` in a new browser, choosing [`PASSWORD`]. The form's token comes from
/// the sign-in page (one signed cookie serves every anonymous form), so a link that no longer
/// works can be tried too.
async fn join(app: &TestApp, path: &str) -> (Browser, reqwest::Response) {
    let browser = app.new_browser();
    let answer = browser
        .submit(
            paths::LOGIN,
            path,
            &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await;
    (browser, answer)
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
}

async fn events(app: &TestApp, action: &str) -> Vec<payhook::store::ChainedEvent> {
    app.db.audit_events_by_action(action).await.unwrap()
}

async fn an_invited_developer_joins_saves_is_demoted_then_removed_and_signed_out(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let owner = app.sign_in_new_merchant("acme").await;
    let invited = invite(&app, NEW, "developer").await;
    assert_eq!(location(&invited), paths::TEAM);
    let team = app.get_text(paths::TEAM).await;
    assert!(team.contains(&format!("data-email=\"{NEW}\"")), "{team}");
    assert!(team.contains("Invitation sent to dewi@acme-dev.example.com."));

    let mail = smtp.mail_to(NEW).await;
    assert_eq!(mail.subject, "You are invited to Merchant acme on payhook");
    assert!(
        mail.text.contains(&owner) && mail.text.contains("as Developer"),
        "{}",
        mail.text
    );
    let path = invitation_path(&smtp, NEW, 1).await;
    let token = path.rsplit('/').next().unwrap();
    // Only the token's hash is kept.
    assert_eq!(
        app.count_rows("invitations").await,
        app.scalar::<i64>(&format!(
            "SELECT COUNT(*) FROM invitations WHERE token_hash <> '{token}'"
        ))
        .await
    );
    let invited_events = events(&app, "member_invited").await;
    assert_eq!(invited_events.len(), 1);
    assert_eq!(
        invited_events[0].actor_email.as_deref(),
        Some(owner.as_str())
    );
    assert_eq!(
        invited_events[0].new_value.as_deref(),
        Some("dewi@acme-dev.example.com (developer)")
    );

    // The page names the team, the role and who invited, and keeps the address out of Referer.
    let visitor = app.new_browser();
    let page = visitor.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["referrer-policy"], "strict-origin");
    let page = page.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "{owner} invites you to the team of Merchant acme as Developer."
        )),
        "{page}"
    );
    // A refused password joins nobody.
    let refused = visitor
        .submit(
            &path,
            &path,
            &[
                ("new_password", PASSWORD),
                ("confirm_password", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("differ"));
    let none: i64 = app
        .scalar(&format!("SELECT COUNT(*) FROM users WHERE email = '{NEW}'"))
        .await;
    assert_eq!(none, 0);

    let (member, joined) = join(&app, &path).await;
    assert_eq!(location(&joined), paths::PAYMENT_SETTINGS);
    let settings = member.get_text(paths::PAYMENT_SETTINGS).await;
    assert!(settings.contains("id=\"my-role\">Developer<"), "{settings}");
    let joined_events = events(&app, "member_joined").await;
    assert_eq!(joined_events[0].actor_email.as_deref(), Some(NEW));
    assert_eq!(joined_events[0].actor_role.as_deref(), Some("developer"));
    // Used once.
    assert_eq!(
        app.new_browser().get(&path).await.status(),
        StatusCode::GONE
    );
    let (_, again) = join(&app, &path).await;
    assert_eq!(again.status(), StatusCode::GONE);

    let saved = member
        .save("va", "bca", "https://dewi.acme-dev.example.com/notify", "")
        .await;
    assert_eq!(location(&saved), "/settings/payment/va");

    // Demoted to viewer: the next save is refused, and nothing of it is kept.
    let member_id = user_id(&app, NEW).await;
    let demoted = app
        .submit(
            paths::TEAM,
            &paths::team_member_role(&member_id),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(location(&demoted), paths::TEAM);
    let notice = smtp
        .mail_with_subject(NEW, "Your role on the Merchant acme team changed")
        .await;
    assert!(notice.text.contains("to Viewer"), "{}", notice.text);
    let changed = events(&app, "member_role_changed").await;
    assert_eq!(changed[0].actor_email.as_deref(), Some(owner.as_str()));
    assert_eq!(
        (
            changed[0].old_value.as_deref(),
            changed[0].new_value.as_deref()
        ),
        (
            Some("dewi@acme-dev.example.com (developer)"),
            Some("dewi@acme-dev.example.com (viewer)")
        )
    );
    let audit_before = app.count_rows("audit_events").await;
    let version_before: i64 = app
        .scalar("SELECT version FROM channel_settings WHERE channel = 'bca'")
        .await;
    let page = member.get_text("/settings/payment/va/bca").await;
    assert!(
        !page.contains("name=\"version\""),
        "a viewer gets no save form"
    );
    let token = csrf_token(&page);
    let forbidden = member
        .post(
            "/settings/payment/va/bca",
            &[
                ("sandbox_url", "https://other.acme-dev.example.com/n"),
                ("production_url", ""),
                ("version", &version_before.to_string()),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(forbidden.text().await.unwrap().contains("viewer"));
    assert_eq!(app.count_rows("audit_events").await, audit_before);
    let version_after: i64 = app
        .scalar("SELECT version FROM channel_settings WHERE channel = 'bca'")
        .await;
    assert_eq!(version_after, version_before);

    // Removed: the open session ends at once, and the account no longer signs in.
    let removed = app
        .submit(paths::TEAM, &paths::team_member_remove(&member_id), &[])
        .await;
    assert_eq!(location(&removed), paths::TEAM);
    assert_eq!(
        location(&member.get(paths::PAYMENT_SETTINGS).await),
        paths::LOGIN
    );
    let notice = smtp
        .mail_with_subject(NEW, "You were removed from the Merchant acme team")
        .await;
    assert!(notice.text.contains(&owner), "{}", notice.text);
    let removed_events = events(&app, "member_removed").await;
    assert_eq!(
        removed_events[0].old_value.as_deref(),
        Some("dewi@acme-dev.example.com (viewer)")
    );
    let team = app.get_text(paths::TEAM).await;
    assert!(
        team.contains("was removed from the team and signed out."),
        "{team}"
    );
    assert!(!team.contains(&format!("data-email=\"{NEW}\"")), "{team}");
    assert_eq!(
        app.new_browser().login(NEW, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The admin's audit log lists every team change under its own filter.
    let admin = app.create_admin().await;
    let admin = app.signed_in_browser(&admin).await;
    let audit = admin.get_text("/admin/audit").await;
    for action in [
        "member_invited",
        "member_joined",
        "member_role_changed",
        "member_removed",
        "invitation_revoked",
    ] {
        assert!(
            audit.contains(&format!("<option value=\"{action}\"")),
            "{action}"
        );
    }
    let filtered = admin.get_text("/admin/audit?action=member_removed").await;
    assert!(
        filtered.contains("data-action=\"member_removed\""),
        "{filtered}"
    );
    assert!(
        !filtered.contains("data-action=\"member_invited\""),
        "{filtered}"
    );
}

async fn nobody_changes_their_own_role_and_the_last_owner_stays(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.sign_in_new_merchant("acme").await;
    let owner_id = user_id(&app, &owner).await;
    let own_role = app
        .submit(
            paths::TEAM,
            &paths::team_member_role(&owner_id),
            &[("role", "developer")],
        )
        .await;
    assert_eq!(own_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(own_role.text().await.unwrap().contains("your own role"));
    // The only owner cannot leave either.
    let leave = app
        .submit(paths::TEAM, &paths::team_member_remove(&owner_id), &[])
        .await;
    assert_eq!(leave.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        leave
            .text()
            .await
            .unwrap()
            .contains("at least one active owner")
    );
    assert_eq!(
        app.get(paths::TEAM).await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let team_events: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'member_%'")
        .await;
    assert_eq!(team_events, 0, "nothing changed, nothing audited");

    // With a second owner, the first may leave: their own session ends with it.
    let second = app.create_member("acme", RoleArg::Owner).await;
    let left = app
        .submit(paths::TEAM, &paths::team_member_remove(&owner_id), &[])
        .await;
    assert_eq!(location(&left), paths::SIGNED_OUT);
    assert_eq!(
        location(&app.get(paths::TEAM).await),
        "/login?next=%2Fsettings%2Fteam"
    );
    // Now the second is the last owner: a disabled owner does not count as another.
    let second = app.signed_in_browser(&second).await;
    let team = second.get_text(paths::TEAM).await;
    assert!(!team.contains(&owner), "{team}");
    let owners: i64 = app
        .scalar("SELECT COUNT(*) FROM users WHERE role = 'owner' AND removed_at IS NULL")
        .await;
    assert_eq!(owners, 1);
}

async fn two_owners_demoting_each_other_at_once_leave_one_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.create_member("acme", RoleArg::Owner).await;
    let second = app.create_member("acme", RoleArg::Owner).await;
    let (first_id, second_id) = (user_id(&app, &first).await, user_id(&app, &second).await);
    let a = app.signed_in_browser(&first).await;
    let b = app.signed_in_browser(&second).await;
    let (token_a, token_b) = (
        csrf_token(&a.get_text(paths::TEAM).await),
        csrf_token(&b.get_text(paths::TEAM).await),
    );
    let (path_a, path_b) = (
        paths::team_member_role(&second_id),
        paths::team_member_role(&first_id),
    );
    let form_a = [("role", "viewer"), ("csrf_token", token_a.as_str())];
    let form_b = [("role", "viewer"), ("csrf_token", token_b.as_str())];
    let (one, other) = tokio::join!(a.post(&path_a, &form_a), b.post(&path_b, &form_b));
    let statuses = [one.status(), other.status()];
    let done = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(done, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [
            StatusCode::SEE_OTHER,
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::FORBIDDEN
        ]
        .contains(s)),
        "{statuses:?}"
    );
    let owners: i64 = app
        .scalar("SELECT COUNT(*) FROM users WHERE role = 'owner'")
        .await;
    assert_eq!(owners, 1);
    assert_eq!(events(&app, "member_role_changed").await.len(), 1);
}

async fn used_revoked_replaced_and_expired_links_stop_working(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    app.sign_in_new_merchant("acme").await;

    // Revoked.
    invite(&app, "rina@acme-dev.example.com", "viewer").await;
    let revoked_path = invitation_path(&smtp, "rina@acme-dev.example.com", 1).await;
    let id: i64 = app.scalar("SELECT MAX(id) FROM invitations").await;
    let revoked = app
        .submit(paths::TEAM, &paths::team_invitation_revoke(&id), &[])
        .await;
    assert_eq!(location(&revoked), paths::TEAM);
    assert_eq!(
        app.new_browser().get(&revoked_path).await.status(),
        StatusCode::GONE
    );
    assert_eq!(join(&app, &revoked_path).await.1.status(), StatusCode::GONE);
    assert_eq!(events(&app, "invitation_revoked").await.len(), 1);
    // Revoking it again changes nothing more.
    let again = app
        .submit(paths::TEAM, &paths::team_invitation_revoke(&id), &[])
        .await;
    assert_eq!(location(&again), paths::TEAM);
    assert_eq!(events(&app, "invitation_revoked").await.len(), 1);

    // Replaced by a newer invitation to the same address.
    invite(&app, "budi@acme-dev.example.com", "viewer").await;
    let first = invitation_path(&smtp, "budi@acme-dev.example.com", 1).await;
    invite(&app, "budi@acme-dev.example.com", "developer").await;
    let second = invitation_path(&smtp, "budi@acme-dev.example.com", 2).await;
    assert_eq!(
        app.new_browser().get(&first).await.status(),
        StatusCode::GONE
    );
    let page = app.new_browser().get_text(&second).await;
    assert!(page.contains("as Developer"), "{page}");

    // Expired: seven days on.
    invite(&app, "sari@acme-dev.example.com", "viewer").await;
    let expiring = invitation_path(&smtp, "sari@acme-dev.example.com", 1).await;
    assert_eq!(
        app.new_browser().get(&expiring).await.status(),
        StatusCode::OK
    );
    app.execute_sql(
        "UPDATE invitations SET expires_at = created_at - 1 \
         WHERE email = 'sari@acme-dev.example.com'",
    )
    .await
    .unwrap();
    assert_eq!(
        app.new_browser().get(&expiring).await.status(),
        StatusCode::GONE
    );
    assert_eq!(join(&app, &expiring).await.1.status(), StatusCode::GONE);
    // A made-up token is no invitation either.
    let made_up = format!("/invitations/{}", "A".repeat(43));
    assert_eq!(
        app.new_browser().get(&made_up).await.status(),
        StatusCode::GONE
    );
    let users: i64 = app
        .scalar("SELECT COUNT(*) FROM users WHERE email LIKE '%@acme-dev.example.com'")
        .await;
    assert_eq!(users, 0, "no link that stopped working made an account");
}

async fn another_teams_members_and_invitations_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    invite(&app, "rina@acme-dev.example.com", "viewer").await;
    let invitation: i64 = app.scalar("SELECT MAX(id) FROM invitations").await;
    let member = app.create_member("acme", RoleArg::Developer).await;
    let member_id = user_id(&app, &member).await;

    let outsider = app.create_member("other", RoleArg::Owner).await;
    let outsider = app.signed_in_browser(&outsider).await;
    let before = app.count_rows("audit_events").await;
    for (path, form) in [
        (
            paths::team_member_role(&member_id),
            vec![("role", "viewer")],
        ),
        (paths::team_member_remove(&member_id), vec![]),
        (paths::team_invitation_revoke(&invitation), vec![]),
        (paths::team_member_role(&999_999), vec![("role", "viewer")]),
        ("/settings/team/members/abc/remove".to_owned(), vec![]),
    ] {
        let answer = outsider.submit(paths::TEAM, &path, &form).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(app.count_rows("audit_events").await, before);
    let role: String = app
        .scalar(&format!("SELECT role FROM users WHERE id = {member_id}"))
        .await;
    assert_eq!(role, "developer");
    let pending: i64 = app
        .scalar("SELECT COUNT(*) FROM invitations WHERE revoked_at IS NULL")
        .await;
    assert_eq!(pending, 1);
    let team = outsider.get_text(paths::TEAM).await;
    assert!(!team.contains(&member) && !team.contains("rina@"), "{team}");
}

async fn an_address_on_another_team_is_refused_without_naming_it(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    app.sign_in_new_merchant("acme").await;
    let elsewhere = app.create_member("rahasia", RoleArg::Owner).await;
    // The owner cannot tell from the answer that the address has an account.
    let invited = invite(&app, &elsewhere, "developer").await;
    assert_eq!(location(&invited), paths::TEAM);
    let path = invitation_path(&smtp, &elsewhere, 1).await;
    let page = app.new_browser().get(&path).await;
    assert_eq!(page.status(), StatusCode::CONFLICT);
    let page = page.text().await.unwrap();
    assert!(page.contains("one merchant only"), "{page}");
    assert!(
        !page.contains("Merchant rahasia"),
        "names no merchant: {page}"
    );
    assert!(!page.contains("name=\"new_password\""), "{page}");
    let (_, refused) = join(&app, &path).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let merchant: String = app
        .scalar(&format!(
            "SELECT m.code FROM users u JOIN merchants m ON m.id = u.merchant_id \
             WHERE u.email = '{elsewhere}'"
        ))
        .await;
    assert_eq!(merchant, "rahasia");
    assert!(events(&app, "member_joined").await.is_empty());

    // A current member is told so at once.
    let member = app.create_member("acme", RoleArg::Viewer).await;
    let already = invite(&app, &member, "developer").await;
    assert_eq!(already.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = already.text().await.unwrap();
    assert!(page.contains("already on the team"), "{page}");
    assert!(
        page.contains(&format!("value=\"{member}\"")),
        "the typed address is kept"
    );
}

async fn invitations_are_limited_per_team_and_per_address(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    // One address, asked for again and again.
    for n in 0..5 {
        let sent = invite(&app, "rina@acme-dev.example.com", "viewer").await;
        assert_eq!(location(&sent), paths::TEAM, "invitation {n}");
    }
    let limited = invite(&app, "rina@acme-dev.example.com", "viewer").await;
    assert_eq!(limited.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(limited.text().await.unwrap().contains("invited too often"));
    // The team, over a day: 20 in all.
    for n in 5..20 {
        let sent = invite(&app, &format!("p{n}@acme-dev.example.com"), "viewer").await;
        assert_eq!(location(&sent), paths::TEAM, "invitation {n}");
    }
    let over = invite(&app, "one-more@acme-dev.example.com", "viewer").await;
    assert_eq!(over.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(over.text().await.unwrap().contains("20 invitations"));
    assert_eq!(app.count_rows("invitations").await, 20);
    assert_eq!(events(&app, "member_invited").await.len(), 20);
    // Another team has its own allowance.
    let other = app.create_member("other", RoleArg::Owner).await;
    let other = app.signed_in_browser(&other).await;
    let sent = invite(&other, "one-more@acme-dev.example.com", "viewer").await;
    assert_eq!(location(&sent), paths::TEAM);
}

async fn admins_create_a_merchant_with_its_owner_by_invitation_and_read_its_team(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let admin = app.create_admin().await;
    let admin = app.signed_in_browser(&admin).await;
    let page = admin.get_text(paths::ADMIN_MERCHANTS).await;
    assert!(page.contains("gets an invitation by email"), "{page}");
    let owner = "pemilik@tokobaru.example.com";
    let created = admin
        .submit(
            paths::ADMIN_MERCHANTS,
            paths::ADMIN_MERCHANTS,
            &[
                ("code", "tokobaru"),
                ("name", "Toko Baru"),
                ("owner_email", owner),
            ],
        )
        .await;
    assert_eq!(location(&created), "/admin/merchants/tokobaru");
    let path = invitation_path(&smtp, owner, 1).await;
    let merchant_page = admin.get_text("/admin/merchants/tokobaru").await;
    assert!(
        merchant_page.contains(&format!("data-email=\"{owner}\"")),
        "pending invitation"
    );
    let (member, joined) = join(&app, &path).await;
    assert_eq!(location(&joined), paths::PAYMENT_SETTINGS);
    let team = member.get_text(paths::TEAM).await;
    assert!(
        team.contains("id=\"invite\""),
        "the first owner manages the team"
    );

    // The admin reads the team: who, which role, no form.
    let merchant_page = admin.get_text("/admin/merchants/tokobaru").await;
    assert!(merchant_page.contains(&format!("data-email=\"{owner}\"><td>{owner}")));
    assert!(
        merchant_page.contains("class=\"member-role\">Owner<"),
        "{merchant_page}"
    );
    assert!(!merchant_page.contains("/settings/team/"), "read-only");
    // The team page itself is the team's own.
    assert_eq!(admin.get(paths::TEAM).await.status(), StatusCode::FORBIDDEN);

    // A refused owner address leaves no merchant behind.
    let refused = admin
        .submit(
            paths::ADMIN_MERCHANTS,
            paths::ADMIN_MERCHANTS,
            &[
                ("code", "tokolain"),
                ("name", "Toko Lain"),
                ("owner_email", "not an address"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("value=\"Toko Lain\""),
        "what was typed is kept"
    );
    let none: i64 = app
        .scalar("SELECT COUNT(*) FROM merchants WHERE code = 'tokolain'")
        .await;
    assert_eq!(none, 0);
}

async fn without_a_relay_the_first_owner_gets_a_one_time_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.create_admin().await;
    let admin = app.signed_in_browser(&admin).await;
    let owner = "pemilik@tokobaru.example.com";
    let created = admin
        .submit(
            paths::ADMIN_MERCHANTS,
            paths::ADMIN_MERCHANTS,
            &[
                ("code", "tokobaru"),
                ("name", "Toko Baru"),
                ("owner_email", owner),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = created.text().await.unwrap();
    let password = payhook_testing::element_text(&page, "one-time-password").expect("shown once");
    assert_eq!(app.count_rows("invitations").await, 0);
    let browser = app.new_browser();
    let signed_in = browser.login(owner, &password).await;
    assert_eq!(location(&signed_in), paths::PAYMENT_SETTINGS);
    assert_eq!(
        location(&browser.get(paths::TEAM).await),
        paths::ACCOUNT_PASSWORD,
        "the one-time password is replaced first"
    );
    let role: String = app
        .scalar(&format!("SELECT role FROM users WHERE email = '{owner}'"))
        .await;
    assert_eq!(role, "owner");
}
