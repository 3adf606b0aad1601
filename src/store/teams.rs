//! A merchant's team: its members, their roles and the invitations out. Every change commits
//! with its audit event and the email it sends; changes to one team queue behind each other
//! (the merchant's row is locked), so two owners demoting each other cannot leave none.

use super::audit::{Actor, AuditAction, AuditRecord, append_events};
use super::outbox::{QueuedEmail, enqueue};
use super::users::move_session_epoch;
use super::{Db, now_ms, on_pool};
use crate::domain::{EmailAddress, Role};

/// A member of a team, as its page lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamMember {
    pub id: i64,
    pub email: EmailAddress,
    pub role: Role,
    pub disabled: bool,
    pub two_factor: bool,
    pub last_sign_in_at: Option<i64>,
    pub language: Option<String>,
}

/// An invitation not yet accepted, revoked or expired.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingInvitation {
    pub id: i64,
    pub email: EmailAddress,
    pub role: Role,
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A working invitation as its link's page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationView {
    pub id: i64,
    pub merchant_id: i64,
    pub merchant_name: String,
    pub email: EmailAddress,
    pub role: Role,
    pub invited_by: Option<String>,
}

/// An account already holding an invited address.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExistingAccount {
    pub id: i64,
    pub merchant_id: Option<i64>,
    pub removed: bool,
}

/// A new invitation and the email that carries its link.
#[derive(Debug)]
pub struct NewInvitation<'a> {
    pub merchant_id: i64,
    pub email: &'a EmailAddress,
    pub role: Role,
    pub token_hash: &'a str,
    pub expires_at: i64,
    pub message: &'a QueuedEmail,
}

/// Accepting an invitation: the link's token and the password its holder chose.
#[derive(Debug)]
pub struct Acceptance<'a> {
    pub token_hash: &'a str,
    pub password_hash: &'a str,
    pub client_ip: Option<String>,
}

/// What accepting an invitation came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Joined: the account's id and session epoch, to sign it in.
    Joined { user_id: i64, epoch: i64 },
    /// The link no longer works (used, revoked, replaced, expired, never issued).
    Gone,
    /// The address belongs to an active account: one user, one merchant.
    AddressTaken,
}

/// What a change to a member came to.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// The member already holds that role.
    Unchanged,
    /// They are the team's last active owner.
    LastOwner,
    /// No such member in this team.
    NotFound,
}

/// What revoking an invitation came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    Done,
    /// Already accepted, revoked or expired.
    NotPending,
    /// No such invitation in this team.
    NotFound,
}

/// The audit log's words for a member: `ana@toko.co.id (developer)`.
fn member_label(email: &str, role: Role) -> String {
    format!("{email} ({role})")
}

/// A pending invitation's condition, over `invitations i` with the time in `$now`.
macro_rules! pending {
    ($now:literal) => {
        concat!(
            "i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ",
            $now
        )
    };
}

impl Db {
    /// The team's members (not those removed), by address.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn team_members(&self, merchant_id: i64) -> sqlx::Result<Vec<TeamMember>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.email, u.role, u.disabled, u.last_sign_in_at, u.language, \
                 EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id \
                 AND t.enabled_at IS NOT NULL) AS two_factor \
                 FROM users u WHERE u.merchant_id = $1 AND u.removed_at IS NULL \
                 ORDER BY u.email LIMIT 500",
            )
            .bind(merchant_id)
            .fetch_all(pool)
            .await
        })
    }

    /// One member of the team (not removed).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn team_member(
        &self,
        merchant_id: i64,
        user_id: i64,
    ) -> sqlx::Result<Option<TeamMember>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.email, u.role, u.disabled, u.last_sign_in_at, u.language, \
                 FALSE AS two_factor FROM users u \
                 WHERE u.id = $1 AND u.merchant_id = $2 AND u.removed_at IS NULL",
            )
            .bind(user_id)
            .bind(merchant_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// The team's invitations still waiting at `now`, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn pending_invitations(
        &self,
        merchant_id: i64,
        now: i64,
    ) -> sqlx::Result<Vec<PendingInvitation>> {
        const SQL: &str = concat!(
            "SELECT i.id, i.email, i.role, u.email AS invited_by, i.created_at, i.expires_at \
             FROM invitations i LEFT JOIN users u ON u.id = i.invited_by \
             WHERE i.merchant_id = $1 AND ",
            pending!("$2"),
            " ORDER BY i.created_at DESC LIMIT 200"
        );
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(merchant_id)
                .bind(now)
                .fetch_all(pool)
                .await
        })
    }

    /// How many invitations the team sent since `since`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn invitations_sent_since(&self, merchant_id: i64, since: i64) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM invitations WHERE merchant_id = $1 AND created_at >= $2",
            )
            .bind(merchant_id)
            .bind(since)
            .fetch_one(pool)
            .await
        })
    }

    /// The account that holds `email`, if any.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn existing_account(
        &self,
        email: &EmailAddress,
    ) -> sqlx::Result<Option<ExistingAccount>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, merchant_id, removed_at IS NOT NULL AS removed FROM users \
                 WHERE email = $1",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    /// The invitation whose token hashes to `token_hash`, while it works at `now`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn working_invitation(
        &self,
        token_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<InvitationView>> {
        const SQL: &str = concat!(
            "SELECT i.id, i.merchant_id, m.name AS merchant_name, i.email, i.role, \
             u.email AS invited_by FROM invitations i \
             JOIN merchants m ON m.id = i.merchant_id \
             LEFT JOIN users u ON u.id = i.invited_by \
             WHERE i.token_hash = $1 AND ",
            pending!("$2")
        );
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
    }

    /// Stores an invitation (an earlier one still out for the same address stops working), its
    /// email and the `member_invited` event, in one transaction; returns its id.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_invitation(
        &self,
        invitation: &NewInvitation<'_>,
        actor: &Actor,
    ) -> sqlx::Result<i64> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            sqlx::query(
                "UPDATE invitations SET revoked_at = $3 WHERE merchant_id = $1 AND email = $2 \
                 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(invitation.merchant_id)
            .bind(invitation.email)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO invitations (merchant_id, email, role, token_hash, invited_by, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(invitation.merchant_id)
            .bind(invitation.email)
            .bind(invitation.role)
            .bind(invitation.token_hash)
            .bind(actor.user_id)
            .bind(now)
            .bind(invitation.expires_at)
            .fetch_one(&mut *tx)
            .await?;
            enqueue(&mut tx, invitation.message, now).await?;
            let label = member_label(invitation.email.as_str(), invitation.role);
            let record = AuditRecord {
                merchant_id: Some(invitation.merchant_id),
                field: Some("member"),
                new_value: Some(&label),
                ..AuditRecord::of(AuditAction::MemberInvited)
            };
            append_events(&mut tx, dialect, [(now, actor, &record)]).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Revokes a pending invitation of the team, with its `invitation_revoked` event.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_invitation(
        &self,
        merchant_id: i64,
        invitation_id: i64,
        actor: &Actor,
    ) -> sqlx::Result<Revoked> {
        let now = now_ms();
        const SQL: &str = "UPDATE invitations SET revoked_at = $3 WHERE id = $1 AND merchant_id = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 \
             RETURNING email, role";
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let revoked: Option<(String, Role)> = sqlx::query_as(SQL)
                .bind(invitation_id)
                .bind(merchant_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((email, role)) = revoked else {
                let exists: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM invitations WHERE id = $1 AND merchant_id = $2",
                )
                .bind(invitation_id)
                .bind(merchant_id)
                .fetch_optional(&mut *tx)
                .await?;
                return Ok(match exists {
                    Some(_) => Revoked::NotPending,
                    None => Revoked::NotFound,
                });
            };
            let label = member_label(&email, role);
            let record = AuditRecord {
                merchant_id: Some(merchant_id),
                field: Some("member"),
                old_value: Some(&label),
                ..AuditRecord::of(AuditAction::InvitationRevoked)
            };
            append_events(&mut tx, dialect, [(now, actor, &record)]).await?;
            tx.commit().await?;
            Ok(Revoked::Done)
        })
    }

    /// Accepts the invitation of `token_hash` if it still works: creates its account (or gives a
    /// removed one back, with the new password and without its old second factor) in the
    /// invitation's team and role, uses the link up, with the `member_joined` event by the new
    /// member, in one transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn accept_invitation(&self, acceptance: &Acceptance<'_>) -> sqlx::Result<Accepted> {
        let now = now_ms();
        // The conditions on the row itself, so a concurrent revoke or accept that locked it first
        // is seen when the lock is let go (Postgres re-checks only these).
        const USE_UP: &str = "UPDATE invitations SET accepted_at = $2 WHERE token_hash = $1 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING merchant_id, email, role";
        // In a block of its own, so a failed insert is answered below, not passed up at once.
        let accepted = async {
            on_pool!(self, |pool, dialect| {
                let mut tx = pool.begin_with(dialect.begin).await?;
                let used: Option<(i64, EmailAddress, Role)> = sqlx::query_as(USE_UP)
                    .bind(acceptance.token_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((merchant_id, email, role)) = used else {
                    return Ok(Accepted::Gone);
                };
                let existing: Option<(i64, bool)> =
                    sqlx::query_as("SELECT id, removed_at IS NOT NULL FROM users WHERE email = $1")
                        .bind(&email)
                        .fetch_optional(&mut *tx)
                        .await?;
                let user_id: i64 = match existing {
                    Some((_, false)) => return Ok(Accepted::AddressTaken),
                    Some((id, true)) => {
                        sqlx::query(
                            "UPDATE users SET role = $2, merchant_id = $3, password_hash = $4, \
                         removed_at = NULL, disabled = FALSE, must_change_password = FALSE, \
                         last_sign_in_at = $5 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(role)
                        .bind(merchant_id)
                        .bind(acceptance.password_hash)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        for sql in [
                            "DELETE FROM recovery_codes WHERE user_id = $1",
                            "DELETE FROM two_factor WHERE user_id = $1",
                            "DELETE FROM password_resets WHERE user_id = $1",
                        ] {
                            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
                        }
                        id
                    }
                    None => sqlx::query_scalar(
                        "INSERT INTO users (email, password_hash, role, merchant_id, created_at, \
                         last_sign_in_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                    )
                    .bind(&email)
                    .bind(acceptance.password_hash)
                    .bind(role)
                    .bind(merchant_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?,
                };
                let epoch = move_session_epoch(&mut tx, user_id).await?;
                let actor = Actor {
                    user_id: Some(user_id),
                    email: email.to_string(),
                    role: Some(role),
                    client_ip: acceptance.client_ip.clone(),
                };
                let label = member_label(email.as_str(), role);
                let record = AuditRecord {
                    merchant_id: Some(merchant_id),
                    field: Some("member"),
                    new_value: Some(&label),
                    ..AuditRecord::of(AuditAction::MemberJoined)
                };
                append_events(&mut tx, dialect, [(now, &actor, &record)]).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(Accepted::Joined { user_id, epoch })
            })
        }
        .await;
        match accepted {
            // Two invitations to one new address accepted at once: the second finds it taken.
            Err(error)
                if error
                    .as_database_error()
                    .is_some_and(sqlx::error::DatabaseError::is_unique_violation) =>
            {
                Ok(Accepted::AddressTaken)
            }
            other => other,
        }
    }

    /// Gives a member of the team `role` (never leaving the team without an active owner), with
    /// its `member_role_changed` event and the member's `notice`, in one transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change_member_role(
        &self,
        merchant_id: i64,
        member_id: i64,
        role: Role,
        notice: &QueuedEmail,
        actor: &Actor,
    ) -> sqlx::Result<MemberChange> {
        self.change_member(merchant_id, member_id, Some(role), notice, actor)
            .await
    }

    /// Removes a member from the team (never its last active owner): the account is kept for
    /// the history that names it but disabled, and every session of it ends; with its
    /// `member_removed` event and the member's `notice`, in one transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn remove_member(
        &self,
        merchant_id: i64,
        member_id: i64,
        notice: &QueuedEmail,
        actor: &Actor,
    ) -> sqlx::Result<MemberChange> {
        let removed = self
            .change_member(merchant_id, member_id, None, notice, actor)
            .await?;
        if removed == MemberChange::Done {
            self.forget_sessions(member_id).await;
        }
        Ok(removed)
    }

    /// A new role for a member, or (`None`) their removal.
    async fn change_member(
        &self,
        merchant_id: i64,
        member_id: i64,
        new_role: Option<Role>,
        notice: &QueuedEmail,
        actor: &Actor,
    ) -> sqlx::Result<MemberChange> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            // Queues this change behind any other to the same team (Postgres; SQLite's
            // `BEGIN IMMEDIATE` already holds the only write lock).
            let lock = format!(
                "SELECT id FROM merchants WHERE id = $1{}",
                dialect.for_update
            );
            sqlx::query(sqlx::AssertSqlSafe(lock))
                .bind(merchant_id)
                .execute(&mut *tx)
                .await?;
            let member: Option<(EmailAddress, Role)> = sqlx::query_as(
                "SELECT email, role FROM users \
                 WHERE id = $1 AND merchant_id = $2 AND removed_at IS NULL",
            )
            .bind(member_id)
            .bind(merchant_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((email, old_role)) = member else {
                return Ok(MemberChange::NotFound);
            };
            if new_role == Some(old_role) {
                return Ok(MemberChange::Unchanged);
            }
            if old_role == Role::Owner {
                let other_owners: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE merchant_id = $1 AND role = 'owner' \
                     AND id <> $2 AND removed_at IS NULL AND NOT disabled",
                )
                .bind(merchant_id)
                .bind(member_id)
                .fetch_one(&mut *tx)
                .await?;
                if other_owners == 0 {
                    return Ok(MemberChange::LastOwner);
                }
            }
            let (action, new_label) = match new_role {
                Some(role) => {
                    sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
                        .bind(member_id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                    let label = member_label(email.as_str(), role);
                    (AuditAction::MemberRoleChanged, Some(label))
                }
                None => {
                    sqlx::query(
                        "UPDATE users SET removed_at = $2, disabled = TRUE, \
                         session_epoch = session_epoch + 1 WHERE id = $1",
                    )
                    .bind(member_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
                        .bind(member_id)
                        .execute(&mut *tx)
                        .await?;
                    (AuditAction::MemberRemoved, None)
                }
            };
            enqueue(&mut tx, notice, now).await?;
            let old_label = member_label(email.as_str(), old_role);
            let record = AuditRecord {
                merchant_id: Some(merchant_id),
                field: Some("member"),
                old_value: Some(&old_label),
                new_value: new_label.as_deref(),
                ..AuditRecord::of(action)
            };
            append_events(&mut tx, dialect, [(now, actor, &record)]).await?;
            tx.commit().await?;
            Ok(MemberChange::Done)
        })
    }
}
