-- Sandbox payments created through the payment API. `id` is public (`pay_…`), unique per site.
CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    section TEXT NOT NULL,
    channel TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCESS', 'FAILED', 'EXPIRED')),
    -- JSON array of the URLs this payment notifies, in order.
    notification_urls TEXT NOT NULL,
    -- SHA-256 of the create request as understood: an identical repeat is the same payment.
    request_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (merchant_id, invoice_number)
);
