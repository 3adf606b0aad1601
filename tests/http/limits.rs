//! Slow clients and floods: a client trickling its headers, oversized heads and a pile of idle
//! connections are cut off, while everyone else is still served.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use payhook_testing::TestApp;
use payhook_testing::on_both_backends;

on_both_backends!(
    app:
    clients_trickling_their_headers_are_cut_off_while_others_are_served,
    oversized_request_heads_get_431_or_a_closed_connection,
    a_flood_of_idle_connections_does_not_stop_service,
);

/// Far longer than any limit the server sets on a connection; a generous bound.
const CUT_OFF_WITHIN: Duration = Duration::from_secs(20);

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connect")
}

/// Reads until the server closes the connection (or resets it); returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return answer,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A normal client's page, answered well within a generous bound. A client of its own, unless
/// the page needs the signed-in one: a kept-alive connection reused just as the server closes
/// it for idleness fails on the client's side whatever the server does.
async fn served_promptly(app: &TestApp, path: &str) {
    let client = if path.starts_with("/settings") {
        app.client.clone()
    } else {
        payhook_testing::new_client()
    };
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(5), client.get(app.url(path)).send())
        .await
        .unwrap_or_else(|_| panic!("{path} not answered within 5 s"))
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

async fn clients_trickling_their_headers_are_cut_off_while_others_are_served(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = connect(&app).await;
        slow.push(tokio::spawn(async move {
            let opened = Instant::now();
            let head = b"GET /healthz HTTP/1.1\r\nHost: payhook\r\nX-Slow: ";
            if stream.write_all(head).await.is_err() {
                return opened.elapsed();
            }
            // One byte a second, never finishing the head: until the server hangs up.
            while opened.elapsed() < CUT_OFF_WITHIN * 2 {
                if stream.write_all(b"a").await.is_err() {
                    break;
                }
                let mut byte = [0u8; 1];
                match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut byte)).await {
                    Ok(Ok(0) | Err(_)) => break,
                    // The 408 the server answers before closing.
                    Ok(Ok(_)) => {}
                    Err(_) => {}
                }
            }
            opened.elapsed()
        }));
    }
    for _ in 0..10 {
        served_promptly(&app, "/settings/payment/va").await;
        served_promptly(&app, "/healthz").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for client in slow {
        let held = client.await.unwrap();
        assert!(
            held < CUT_OFF_WITHIN,
            "a trickling client held on for {held:?}"
        );
    }
    served_promptly(&app, "/healthz").await;
}

async fn oversized_request_heads_get_431_or_a_closed_connection(app: TestApp) {
    let huge_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: payhook\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: payhook\r\n{}\r\n",
        (0..120)
            .map(|n| format!("X-H{n}: v\r\n"))
            .collect::<String>()
    );
    for request in [huge_header, many_headers] {
        let mut stream = connect(&app).await;
        // The server may hang up before it has read everything: a failed write is an answer.
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = tokio::time::timeout(CUT_OFF_WITHIN, until_closed(&mut stream))
            .await
            .expect("the connection is closed");
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
            "{}",
            &answer[..answer.len().min(200)]
        );
        served_promptly(&app, "/healthz").await;
    }
}

async fn a_flood_of_idle_connections_does_not_stop_service(app: TestApp) {
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(connect(&app).await);
    }
    served_promptly(&app, "/healthz").await;
    served_promptly(&app, "/login").await;
    // Each idle connection is closed by the server, at most with a 408, well within the bound.
    let started = Instant::now();
    let closing = idle.into_iter().map(|mut stream| async move {
        tokio::time::timeout(CUT_OFF_WITHIN, until_closed(&mut stream)).await
    });
    for closed in futures_util::future::join_all(closing).await {
        let answer = closed.expect("an idle connection was left open");
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    assert!(started.elapsed() < CUT_OFF_WITHIN);
    served_promptly(&app, "/healthz").await;
}
