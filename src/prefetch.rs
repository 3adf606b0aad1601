//! What the session store read beyond the session, for the request it loaded it for: the
//! signed-in user (one query, not a second one in the extractor), and on a merchant's section
//! page that merchant's settings for the section, so the page is answered with one query.
//! Everything is read through the session's own user, so a request is only ever offered its
//! own user's and own merchant's data.
//!
//! [`look_ahead`] opens the slot for a request (noting a section page's section); the store
//! asks [`wanted_section`] and [`offer_user`] / [`offer_settings`] what it read (or [`fail`]s);
//! the extractor and the page [`take_user`] / [`take_settings`] it.

use std::cell::RefCell;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::catalog::Section;
use crate::store::{ChannelSetting, SessionUser};

#[derive(Default)]
struct Slot {
    section: Option<&'static str>,
    user: Option<SessionUser>,
    settings: Option<(i64, Vec<ChannelSetting>)>,
    /// Why the session could not be read, for the extractor to answer with.
    failure: Option<sqlx::Error>,
}

tokio::task_local! {
    static SLOT: RefCell<Slot>;
}

/// The section whose settings the request being served will show, if it is a section page.
pub fn wanted_section() -> Option<&'static str> {
    SLOT.try_with(|slot| slot.borrow().section).ok().flatten()
}

/// Leaves the session's user, read with the session.
pub fn offer_user(user: SessionUser) {
    let _ = SLOT.try_with(|slot| slot.borrow_mut().user = Some(user));
}

/// Leaves the settings read for `merchant_id`'s wanted section.
pub fn offer_settings(merchant_id: i64, settings: Vec<ChannelSetting>) {
    let _ = SLOT.try_with(|slot| slot.borrow_mut().settings = Some((merchant_id, settings)));
}

/// Keeps why the session could not be read, so the page that needs it can answer with its own
/// error page (an error from the session middleware itself would be a bare 500). Returns the
/// error back when there is no slot to keep it in.
pub fn fail(error: sqlx::Error) -> Result<(), sqlx::Error> {
    let mut error = Some(error);
    let _ = SLOT.try_with(|slot| slot.borrow_mut().failure = error.take());
    error.map_or(Ok(()), Err)
}

/// Why the session could not be read, if it could not.
pub fn take_failure() -> Option<sqlx::Error> {
    SLOT.try_with(|slot| slot.borrow_mut().failure.take())
        .ok()
        .flatten()
}

/// The user read with the session, when it is `user_id`.
pub fn take_user(user_id: i64) -> Option<SessionUser> {
    SLOT.try_with(|slot| slot.borrow_mut().user.take())
        .ok()
        .flatten()
        .filter(|user| user.id == user_id)
}

/// The settings read with the session, when they are `merchant_id`'s for `section`.
pub fn take_settings(merchant_id: i64, section: &str) -> Option<Vec<ChannelSetting>> {
    SLOT.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.section != Some(section) {
            return None;
        }
        match slot.settings.take() {
            Some((merchant, settings)) if merchant == merchant_id => Some(settings),
            _ => None,
        }
    })
    .ok()
    .flatten()
}

/// The middleware: opens the slot before the session is loaded.
pub async fn look_ahead(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let section = req
        .path()
        .strip_prefix(crate::paths::PAYMENT_SETTINGS)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(Section::find)
        .map(|section| section.code);
    let slot = RefCell::new(Slot {
        section,
        ..Slot::default()
    });
    SLOT.scope(slot, next.call(req)).await
}
