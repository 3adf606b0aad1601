//! End-to-end tests over real HTTP, each on SQLite and on Postgres.

mod harness;
mod support;

mod access;
mod api_keys;
mod auth;
mod notify;
mod settings;
