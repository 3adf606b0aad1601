//! End-to-end tests over real HTTP, each on SQLite and on Postgres.

mod access;
mod admin;
mod api_keys;
mod audit;
mod auth;
mod bounded;
mod cluster;
mod dns;
mod health;
mod language;
mod limits;
mod metrics;
mod notification_log;
mod notify;
mod observability;
mod outage;
mod outbox;
mod password_reset;
mod payments;
mod reads;
mod sessions;
mod settings;
mod throttle;
mod two_factor;
