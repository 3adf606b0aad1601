//! payhook: the back office where merchants configure payment notification URLs.

pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod csv;
pub mod dns;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod notify;
pub mod pages;
pub mod password;
pub mod paths;
pub mod payments;
pub mod random;
pub mod routes;
pub mod secrets;
pub mod startup;
pub mod state;
pub mod store;
pub mod throttle;
pub mod url_policy;
