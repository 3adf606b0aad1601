//! A merchant's team in the browser: the owner invites a developer, who joins from the email
//! and saves a URL; the owner makes them a viewer, and their next save is refused; the owner
//! removes them, and their open session is signed out.

use crate::Run;
use payhook_testing::{PASSWORD, PUBLIC_URL, path_of};

const DEVELOPER: &str = "dewi@acme.co.id";
const CHOSEN: &str = "dewi chose this one 2026";

pub async fn an_owner_invites_a_developer_then_demotes_and_removes_them(run: Run) {
    let owner_email = run.app.create_merchant_user("acme").await;
    let mut owner = run.browser("team-owner").await;
    owner.sign_in(&owner_email, PASSWORD).await;
    owner.click("nav.sidenav a[href='/settings/team']").await;
    owner.wait_for_path("/settings/team").await;
    owner.fill("#invite-email", DEVELOPER).await;
    owner
        .find("#invite-role")
        .await
        .select_by_value("developer")
        .await
        .unwrap();
    owner.shot("team-invite").await;
    owner.click("#invite button[type=submit]").await;
    owner
        .wait_for_text(".flash", "Invitation sent to dewi@acme.co.id")
        .await;
    assert!(owner.text("#invitations").await.contains(DEVELOPER));
    owner.shot("team-invited").await;

    // The invitation arrives by email; its link opens in the developer's own browser.
    let mail = run.smtp.mail_to(DEVELOPER).await;
    let link = mail
        .link_starting(&format!("{PUBLIC_URL}/invitations/"))
        .expect("the email carries the link");
    let mut developer = run.browser("team-developer").await;
    developer
        .shot_of_email("email-invitation", &mail.html)
        .await;
    developer.go(path_of(&link)).await;
    let offer = developer.text("#invitation-offer").await;
    assert!(
        offer.contains(&owner_email)
            && offer.contains("Merchant acme")
            && offer.contains("Developer"),
        "{offer}"
    );
    developer.fill("#new_password", CHOSEN).await;
    developer.fill("#confirm_password", CHOSEN).await;
    developer.shot("invitation").await;
    developer.click("main form button[type=submit]").await;
    developer.wait_for_path("/settings/payment").await;
    developer.wait_for_text("#my-role", "Developer").await;

    developer.go("/settings/payment/va/bca").await;
    developer
        .fill("form.configure #sandbox_url", "https://acme.co.id/bca")
        .await;
    developer.click("form.configure button[type=submit]").await;
    developer.wait_for_path("/settings/payment/va").await;
    developer
        .wait_for_text("#channel-bca", "https://acme.co.id/bca")
        .await;
    developer.shot("developer-saved").await;

    // The developer has the form open again when the owner makes them a viewer.
    developer.go("/settings/payment/va/bca").await;
    developer
        .fill(
            "form.configure #sandbox_url",
            "https://acme.co.id/bca-later",
        )
        .await;
    let id: i64 = run
        .app
        .scalar(&format!("SELECT id FROM users WHERE email = '{DEVELOPER}'"))
        .await;
    owner.go("/settings/team").await;
    owner
        .find(&format!("#role-{id}"))
        .await
        .select_by_value("viewer")
        .await
        .unwrap();
    owner
        .click(&format!("#member-{id} form[action$='/role'] button"))
        .await;
    owner.wait_for_text(".flash", "now has the new role").await;
    assert!(
        owner
            .text(&format!("#member-{id} .member-role"))
            .await
            .contains("Viewer")
    );
    owner.shot("team-demoted").await;

    developer.click("form.configure button[type=submit]").await;
    developer
        .wait_for_text("main", "Your role on this team is viewer")
        .await;
    developer.shot("viewer-refused").await;
    let kept: String = run
        .app
        .scalar("SELECT sandbox_url FROM channel_settings WHERE channel = 'bca'")
        .await;
    assert_eq!(
        kept, "https://acme.co.id/bca",
        "the refused save changed nothing"
    );
    // Reloaded, the page is read-only.
    developer.go("/settings/payment/va/bca").await;
    developer.wait_for_text("#my-role", "Viewer").await;
    assert!(!developer.exists("form.configure").await);

    // Removed: the developer's open session ends at once.
    owner
        .click(&format!("#member-{id} form[action$='/remove'] button"))
        .await;
    owner
        .wait_for_text(".flash", "was removed from the team and signed out")
        .await;
    assert!(!owner.exists(&format!("#member-{id}")).await);
    owner.shot("team-removed").await;
    developer.go("/settings/payment").await;
    developer.wait_for_path_starting("/login").await;
    developer.shot("signed-out").await;
    developer.close().await;
    owner.close().await;
}
