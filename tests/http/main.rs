//! End-to-end tests over real HTTP, each on SQLite and on Postgres.

mod harness;
mod support;

mod access;
mod auth;
mod notify;
mod settings;
