//! Headless Chromium through chromedriver, one driver process (group) per browser.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// At most two journeys at once: the machine has two cores.
static RUNNING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());
const MAX_JOURNEYS: usize = 2;

/// A place among the journeys running at once, held until dropped.
pub struct Slot;

impl Slot {
    pub fn take() -> Self {
        let (count, freed) = &RUNNING;
        let mut running = count.lock().unwrap();
        while *running >= MAX_JOURNEYS {
            running = freed.wait(running).unwrap();
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (count, freed) = &RUNNING;
        *count.lock().unwrap() -= 1;
        freed.notify_one();
    }
}
const WAIT: Duration = Duration::from_secs(10);

pub struct Chrome {
    pub client: Client,
    pub javascript: bool,
    base: String,
    driver: Child,
    shots: PathBuf,
    step: usize,
}

impl Chrome {
    /// Starts chromedriver and a headless Chromium session; screenshots go under
    /// `target/screenshots/{journey}/`. Fails loudly when the browser cannot start.
    pub async fn start(base: &str, javascript: bool, journey: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver must be installed (scripts/test.sh installs chromium and chromium-driver)");
        let mut options = json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                "--lang=en-US", "--disable-dev-shm-usage",
            ],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let webdriver = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(capabilities.clone())
                .connect(&webdriver)
                .await
            {
                Ok(connected) => {
                    client = Some(connected);
                    break;
                }
                Err(error) => last_error = Some(error.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mode = if javascript { "js" } else { "nojs" };
        let chrome = Self {
            client: client.unwrap_or_else(|| {
                panic!("Chromium did not start through chromedriver: {last_error:?}")
            }),
            javascript,
            base: base.to_owned(),
            driver,
            shots: PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join("../screenshots")
                .join(format!("{journey}-{mode}")),
            step: 0,
        };
        std::fs::create_dir_all(&chrome.shots).unwrap();
        chrome
    }

    pub async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The current path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The element `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => {
                let source = self.client.source().await.unwrap_or_default();
                panic!("no {css} on {}: {error}\n{source}", self.path().await)
            }
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Replaces the value of the input `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Sends keys to whatever has the focus, as a keyboard user would.
    pub async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// An attribute of the focused element (empty when it has none).
    pub async fn focused_attr(&self, attribute: &str) -> String {
        let element = self.client.active_element().await.unwrap();
        element.attr(attribute).await.unwrap().unwrap_or_default()
    }

    /// Waits until `css` holds text containing `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        for _ in 0..100 {
            let texts = self.client.find_all(Locator::Css(css)).await.unwrap();
            for element in texts {
                if element.text().await.unwrap_or_default().contains(expected) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let source = self.client.source().await.unwrap_or_default();
        panic!(
            "{css} never showed {expected:?} on {}:\n{source}",
            self.path().await
        );
    }

    /// Waits until the browser is on `path`.
    pub async fn wait_for_path(&self, path: &str) {
        self.wait_for_url(path, |current| current == path).await;
    }

    /// Waits until the browser's path and query start with `prefix`.
    pub async fn wait_for_path_starting(&self, prefix: &str) {
        self.wait_for_url(prefix, |current| current.starts_with(prefix))
            .await;
    }

    async fn wait_for_url(&self, wanted: &str, reached: impl Fn(&str) -> bool) {
        for _ in 0..100 {
            if reached(&self.path().await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {wanted}; on {}", self.path().await);
    }

    /// Writes a numbered screenshot of the current page.
    pub async fn shot(&mut self, name: &str) {
        self.step += 1;
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.step)), png).unwrap();
    }

    /// Shows `html` (an email as received) in the browser and writes a numbered screenshot of
    /// it beside the journey's pages, as a reader's mail program would show it.
    pub async fn shot_of_email(&mut self, name: &str, html: &str) {
        let file = self.shots.join(format!("{name}.html"));
        std::fs::write(&file, html).unwrap();
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.client.goto(&url).await.unwrap();
        self.shot(name).await;
    }

    /// Runs axe-core on the current page and fails, naming each rule, its help and the first
    /// few elements, when axe finds a `serious` or `critical` violation; `what` names the page
    /// in the failure. Works with JavaScript and without it: see `NOJS_TIMERS`.
    ///
    /// axe.min.js comes from `PAYHOOK_AXE_JS`, else `target/axe-core/package/axe.min.js`;
    /// scripts/test.sh fetches it from the npm registry.
    pub async fn assert_accessible(&self, what: &str) {
        let axe = axe_source();
        let timers = if self.javascript {
            "const restoreTimers = () => {};"
        } else {
            NOJS_TIMERS
        };
        // axe's source goes in the WebDriver script itself, not in a <script> element or
        // through eval, so neither the page's policies nor its blocked JavaScript keep it out.
        let script = format!("{timers}\n{axe}\n;\n{AXE_RUN}");
        let outcome = self
            .client
            .execute_async(&script, vec![])
            .await
            .unwrap_or_else(|error| panic!("axe-core did not run on {what}: {error}"));
        if let Some(error) = outcome.get("error") {
            panic!("axe-core failed on {what}: {error}");
        }
        let violations = outcome["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("axe-core answered oddly on {what}: {outcome}"));
        let blocking: Vec<String> = violations
            .iter()
            .filter(|violation| {
                matches!(violation["impact"].as_str(), Some("serious" | "critical"))
            })
            .map(|violation| {
                let targets = violation["targets"].as_array().cloned().unwrap_or_default();
                let mut shown: Vec<String> = targets
                    .iter()
                    .take(3)
                    .map(|target| {
                        target
                            .as_str()
                            .map_or_else(|| target.to_string(), str::to_owned)
                    })
                    .collect();
                if targets.len() > 3 {
                    shown.push(format!("and {} more", targets.len() - 3));
                }
                format!(
                    "  {} ({}): {}\n    at {}",
                    violation["id"].as_str().unwrap_or("?"),
                    violation["impact"].as_str().unwrap_or("?"),
                    violation["help"].as_str().unwrap_or("?"),
                    shown.join(", ")
                )
            })
            .collect();
        if !blocking.is_empty() {
            panic!(
                "axe-core found {} serious or critical accessibility violation(s) on {what} ({}):\n{}",
                blocking.len(),
                self.path().await,
                blocking.join("\n")
            );
        }
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) {
        self.go("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        // A merchant's team lands on Payment Settings, the gateway's staff on the Overview.
        self.wait_for_url("a landing page", |path| {
            path == "/settings/payment" || path == "/admin"
        })
        .await;
    }

    pub async fn close(self) {
        // Drop kills the driver; the session goes with it.
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // Chromium's helpers live in the driver's process group: end them all.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// Without JavaScript (the Chromium pref blocking it), WebDriver scripts still run and so do
/// their promise callbacks, but no task the page queues ever does: `setTimeout`,
/// `requestAnimationFrame` and `MessageChannel` callbacks never fire (tried on Chromium 156).
/// axe.run yields to the event loop with `setTimeout(fn, 0)` (and 1) between its steps, so it
/// would never finish. For the run, those zero-delay timers become promise callbacks, which is
/// what they are for there; longer timers are left alone, so a wait that cannot end (a frame
/// that never answers) still ends in WebDriver's script timeout rather than a false pass.
/// The page's own timers are put back when axe is done.
const NOJS_TIMERS: &str = r#"
const realSetTimeout = window.setTimeout;
const realClearTimeout = window.clearTimeout;
const cancelled = new Set();
let nextTimer = 1e9;
window.setTimeout = function (callback, delay, ...args) {
  if (Number(delay) > 1) return realSetTimeout.apply(window, arguments);
  const id = nextTimer++;
  Promise.resolve().then(() => { if (!cancelled.delete(id)) callback(...args); });
  return id;
};
window.clearTimeout = (id) => (id >= 1e9 ? cancelled.add(id) : realClearTimeout(id));
const restoreTimers = () => {
  window.setTimeout = realSetTimeout;
  window.clearTimeout = realClearTimeout;
};
"#;

/// Runs axe on the whole document for violations only and hands back, for each, its rule,
/// impact, help and the selectors of the elements at fault (joined with `>>>` when the element
/// is inside a frame or a shadow root). An axe failure comes back as `error`.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
window.axe
  .run(document, { resultTypes: ['violations'] })
  .then((results) => {
    restoreTimers();
    done({
      violations: results.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.map((node) => node.target.join(' >>> ')),
      })),
    });
  })
  .catch((error) => {
    restoreTimers();
    done({ error: String((error && error.stack) || error) });
  });
"#;

/// The text of axe.min.js, read once.
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var_os("PAYHOOK_AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe-core/package/axe.min.js")
            });
        std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "cannot read axe-core from {}: {error}; run scripts/test.sh, which fetches it \
                 (or point PAYHOOK_AXE_JS at an axe.min.js)",
                path.display()
            )
        })
    })
}
