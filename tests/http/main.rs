//! End-to-end tests over real HTTP, each on SQLite and on Postgres.

mod support;

mod access;
mod admin;
mod audit;
mod auth;
mod settings;
