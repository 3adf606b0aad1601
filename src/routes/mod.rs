//! Request handlers, one file per area; the route table that maps paths to them is in
//! `startup.rs`. No handler module imports another: what two areas share lives below them
//! (`pages`, `auth`, `notify`, `store`).

pub mod account;
pub mod admin;
pub mod api;
pub mod apply_section;
pub mod assets;
pub mod health;
pub mod integration;
pub mod invitations;
pub mod language;
pub mod log_export;
pub mod login;
pub mod metrics;
pub mod notifications;
pub mod password;
pub mod recover;
pub mod settings;
pub mod team;
pub mod test_notification;
pub mod two_factor;
