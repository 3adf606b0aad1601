//! The server's resolver is hickory's async one: it asks the configured name servers, tells a
//! name that does not exist from a server that does not answer, and a lookup given up at its
//! time limit is over (nothing keeps asking in the background).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata::A};
use payhook::dns::Resolver;
use payhook::url_policy::Resolution;
use payhook_testing::StaticResolver;
use tokio::net::UdpSocket;

/// A name server on 127.0.0.1 (UDP): `hooks.shop.co.id` has an address, `slow.shop.co.id` is
/// never answered, every other name does not exist. It counts the queries it receives and keeps
/// where each came from.
struct FakeNameServer {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    askers: Arc<Mutex<Vec<SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeNameServer {
    async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let askers = Arc::new(Mutex::new(Vec::new()));
        let (counted, seen) = (queries.clone(), askers.clone());
        let task = tokio::spawn(async move {
            let mut buffer = [0u8; 4096];
            while let Ok((len, from)) = socket.recv_from(&mut buffer).await {
                counted.fetch_add(1, Ordering::SeqCst);
                seen.lock().unwrap().push(from);
                let Ok(query) = Message::from_vec(&buffer[..len]) else {
                    continue;
                };
                if let Some(answer) = answer(&query) {
                    let _ = socket.send_to(&answer.to_vec().unwrap(), from).await;
                }
            }
        });
        Self {
            addr,
            queries,
            askers,
            task,
        }
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    /// The addresses the queries came from.
    fn askers(&self) -> Vec<SocketAddr> {
        self.askers.lock().unwrap().clone()
    }
}

impl Drop for FakeNameServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(query: &Message) -> Option<Message> {
    let question = query.queries.first()?;
    let name = question.name().to_ascii().to_lowercase();
    let mut response = Message::response(query.metadata.id, query.metadata.op_code);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.add_query(question.clone());
    match name.trim_end_matches('.') {
        "slow.shop.co.id" => return None,
        "hooks.shop.co.id" => {
            if question.query_type() == RecordType::A {
                let ip = "34.101.2.3".parse().unwrap();
                response.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::A(A(ip)),
                ));
            }
        }
        _ => response.metadata.response_code = ResponseCode::NXDomain,
    }
    Some(response)
}

#[tokio::test]
async fn names_are_resolved_by_the_configured_name_server_and_missing_ones_do_not_exist() {
    let server = FakeNameServer::start().await;
    let resolver = Resolver::with_name_servers(&[server.addr]).unwrap();
    let expected: IpAddr = "34.101.2.3".parse().unwrap();
    assert_eq!(
        resolver.lookup("hooks.shop.co.id.").await,
        Resolution::Addresses(vec![expected])
    );
    assert_eq!(
        resolver.lookup("nowhere.shop.co.id.").await,
        Resolution::NoSuchName
    );
    assert!(server.queries() >= 2, "asked the configured server");
}

#[tokio::test]
async fn a_lookup_given_up_at_its_time_limit_stops_asking() {
    let server = FakeNameServer::start().await;
    let limit = Duration::from_millis(400);
    let resolver = Resolver::with_name_servers(&[server.addr])
        .unwrap()
        .with_timeout(limit);
    let started = std::time::Instant::now();
    assert_eq!(
        resolver.lookup("slow.shop.co.id.").await,
        Resolution::Unanswered
    );
    assert!(started.elapsed() >= limit);
    let asked = server.queries();
    assert!(asked >= 1, "the server was asked");
    // hickory on its own would retry for seconds; the lookup we dropped must not: every socket
    // it asked from gets closed (a lookup still running would keep its socket open for the
    // answer), and by then it has asked nothing more.
    for asker in server.askers() {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !udp_port_closed(asker).await {
            assert!(
                std::time::Instant::now() < deadline,
                "{asker} still listens"
            );
        }
    }
    // A retry would come once hickory's own attempt timed out (its per-attempt timeout, the
    // configuration's bound): past that, still nothing more was asked.
    let retry_due = started + payhook::dns::LOOKUP_TIMEOUT + Duration::from_millis(200);
    tokio::time::sleep_until(retry_due.into()).await;
    assert_eq!(
        server.queries(),
        asked,
        "nothing asked after the time limit"
    );
}

/// Whether nothing listens any more on the UDP address `peer`: a datagram sent there is
/// refused (the kernel's port-unreachable answer, which a connected socket reports as
/// ECONNREFUSED). An open socket would take it in silence.
async fn udp_port_closed(peer: SocketAddr) -> bool {
    let probe = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    probe.connect(peer).await.unwrap();
    probe.send(b"is anyone there").await.unwrap();
    let mut buffer = [0u8; 64];
    let answer = tokio::time::timeout(Duration::from_millis(500), probe.recv(&mut buffer)).await;
    matches!(answer, Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused)
}

#[tokio::test]
async fn the_system_resolver_reads_the_hosts_file() {
    let resolver = Resolver::system().expect("the system's DNS configuration");
    match resolver.lookup("localhost").await {
        Resolution::Addresses(addresses) => {
            assert!(addresses.iter().all(IpAddr::is_loopback), "{addresses:?}");
        }
        other => panic!("localhost resolves from /etc/hosts: {other:?}"),
    }
}

#[tokio::test]
async fn the_test_resolver_answers_from_its_map_case_and_dot_insensitively() {
    let dns = StaticResolver::new([
        ("Hooks.Shop.com", "10.0.0.1"),
        ("hooks.shop.com", "8.8.8.8"),
    ]);
    let resolver = Resolver::new(dns.clone());
    let both = Resolution::Addresses(vec![
        "10.0.0.1".parse().unwrap(),
        "8.8.8.8".parse().unwrap(),
    ]);
    assert_eq!(resolver.lookup("hooks.shop.com.").await, both);
    assert_eq!(
        resolver.lookup("other.shop.com").await,
        Resolution::NoSuchName
    );
    dns.make_silent("hooks.shop.com");
    let quick = resolver.with_timeout(Duration::from_millis(20));
    assert_eq!(quick.lookup("hooks.shop.com").await, Resolution::Unanswered);
    assert_eq!(dns.lookups(), 3);
}
