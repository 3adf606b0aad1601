//! The payment API's JSON bodies, read as the handlers read them: never a panic, and a body
//! that passes has a catalog channel, a plain invoice number and a positive amount.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payhook::payments::InvoiceNumber;
use payhook::routes::api::body::{CreatePaymentBody, SimulateBody};

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = CreatePaymentBody::read(body) {
        assert!(request.amount > 0);
        let invoice = request.invoice.as_str();
        assert_eq!(InvoiceNumber::parse(invoice), Some(request.invoice.clone()));
    }
    let _ = SimulateBody::read(body);
});
