//! The command line: serve (default), migrate, merchant and user management, check-url.

use std::io::Read;
use std::process::ExitCode;

use crate::accounts;
use crate::auth::two_factor::{self, Asker, TurnOff};
use crate::config::Settings;
use crate::dns::Resolver;
use crate::domain::Environment;
use crate::domain::{EmailAddress, Role};
use crate::password;
use crate::startup::Application;
use crate::store::{Actor, ChainReport, Db};
use crate::url_policy::UrlPolicy;
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "payhook",
    version,
    about = "Payment notification URL back office"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the dashboard (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage merchants.
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Judge a notification URL with the same policy as the dashboard.
    CheckUrl {
        url: String,
        #[arg(long, value_enum, default_value_t = EnvironmentArg::Production)]
        environment: EnvironmentArg,
        /// Skip the DNS check (offline use).
        #[arg(long)]
        no_dns: bool,
    },
}

#[derive(Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant.
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The merchant's code (owners, developers and viewers).
        #[arg(long)]
        merchant: Option<String>,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Turn off a user's two-factor sign-in (a lost authenticator and no recovery code left):
    /// their sessions end, it is audited, and they are told by email. Needs the server's
    /// environment (the secret key seals the email).
    ResetTwoFactor {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain: exit 0 when intact, 1 naming the first broken event.
    Verify,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum EnvironmentArg {
    Sandbox,
    Production,
}

/// A role on the command line; `merchant` (the one merchant role before teams) means `owner`.
#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    #[value(alias = "merchant")]
    Owner,
    Developer,
    Viewer,
    Admin,
    Auditor,
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => {
            let db = open_db().await?;
            println!("migrations applied ({})", db.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Merchant {
            command: MerchantCommand::Add { code, name },
        } => {
            let db = open_db().await?;
            let (_, code) = accounts::create_merchant(&db, &code, &name, None)
                .await
                .with_context(|| format!("creating merchant {code}"))?;
            println!("merchant {code} created");
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    role,
                    merchant,
                    ..
                },
        } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let db = open_db().await?;
            add_user(&db, &email, role, merchant.as_deref(), password).await?;
            println!("user {email} created");
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command: UserCommand::ResetTwoFactor { email },
        } => reset_two_factor(&email).await,
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let db = open_db().await?;
            let report = db.verify_audit_chain().await?;
            println!("{report}");
            Ok(match report {
                ChainReport::Intact { .. } => ExitCode::SUCCESS,
                ChainReport::Broken { checked, .. } => {
                    println!("{checked} events before it verified");
                    ExitCode::FAILURE
                }
            })
        }
        Command::CheckUrl {
            url,
            environment,
            no_dns,
        } => {
            let policy = crate::config::url_policy_from_env()?;
            let resolver = Resolver::system()?;
            let dns = (!no_dns && crate::config::dns_check_from_env()?).then_some(&resolver);
            let (code, report) = check_url(&url, environment.into(), &policy, dns).await;
            print!("{report}");
            Ok(code)
        }
    }
}

/// The database alone: tools need no session or secret keys.
/// Turns off the two-factor sign-in of the user `email`, as an admin's reset on the users page
/// does: the way back in for the last admin, who has no other admin to ask.
async fn reset_two_factor(email: &str) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    let address = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{email}: {e}"))?;
    let Some(account) = db.find_account_contact(&address).await? else {
        anyhow::bail!("no user {address}");
    };
    let actor = Actor {
        email: "command line".to_owned(),
        ..Actor::default()
    };
    let asker = Asker {
        account: &account,
        actor: &actor,
        client_ip: None,
    };
    if two_factor::turn_off_in(&db, &settings, &asker, TurnOff::ByAdmin).await? {
        println!(
            "two-factor sign-in of {address} is off; their sessions ended, and the email telling them waits for the server to send it"
        );
    } else {
        println!("two-factor sign-in of {address} was not on");
    }
    Ok(ExitCode::SUCCESS)
}

async fn open_db() -> anyhow::Result<Db> {
    let db = Db::connect(&crate::config::database_url_from_env()).await?;
    db.migrate().await?;
    Ok(db)
}

async fn serve() -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    tracing::info!(?settings, "starting payhook");
    if !settings.cookie_secure && !settings.bind.starts_with("127.") {
        tracing::warn!("PAYHOOK_COOKIE_SECURE is off: serve payhook over https and turn it on");
    }
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    seed_demo(&db).await?;
    let app = Application::build_with_db(settings.clone(), db.clone()).await?;
    // The port bound, which differs from the one asked for when that was 0.
    let host = settings
        .bind
        .rsplit_once(':')
        .map_or("127.0.0.1", |(host, _)| host);
    println!("payhook listening on http://{host}:{}", app.port());
    tokio::spawn(prune_expired(db.clone()));
    app.run_until_stopped().await?;
    // Closing lets SQLite fold its write-ahead log back into the database file.
    db.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Forgets expired sessions and sign-in failures no window counts any more, once an hour
/// (in Redis they expire by themselves).
async fn prune_expired(db: Db) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    let window = i64::try_from(crate::throttle::WINDOW.as_millis()).unwrap_or(i64::MAX);
    loop {
        every_hour.tick().await;
        let now = crate::store::now_ms();
        if let Err(error) = db.purge_expired_sessions(now).await {
            tracing::warn!(%error, "pruning sessions");
        }
        if let Err(error) = db.prune_auth_failures(now - window).await {
            tracing::warn!(%error, "pruning sign-in failures");
        }
    }
}

/// On an empty SQLite database, the one-command start: a demo merchant, one merchant user
/// and one admin, with one-time passwords printed once (the first sign-in must replace them).
/// A shared Postgres database gets no known accounts: its operator adds the first admin.
async fn seed_demo(db: &Db) -> anyhow::Result<()> {
    if db.count_users().await? > 0 {
        return Ok(());
    }
    if let Db::Postgres(_) = db {
        println!(
            "No users yet. Create the first admin with:\n  \
             payhook user add --email EMAIL --role admin --password-stdin"
        );
        return Ok(());
    }
    let merchant_password = password::generate();
    let admin_password = password::generate();
    accounts::create_merchant(db, "demo", "Demo Merchant", None).await?;
    let merchant = Some("demo");
    create_user(
        db,
        "merchant@demo.test",
        RoleArg::Owner,
        merchant,
        merchant_password.clone(),
        true,
    )
    .await?;
    create_user(
        db,
        "admin@payhook.test",
        RoleArg::Admin,
        None,
        admin_password.clone(),
        true,
    )
    .await?;
    println!("Created demo accounts with one-time passwords (shown only now; the first sign-in");
    println!("must choose a new password):");
    println!("  owner     merchant@demo.test  {merchant_password}");
    println!("  admin     admin@payhook.test  {admin_password}");
    Ok(())
}

/// Creates a user from the command line, with a password of its own.
pub async fn add_user(
    db: &Db,
    email: &str,
    role: RoleArg,
    merchant: Option<&str>,
    password: String,
) -> anyhow::Result<i64> {
    create_user(db, email, role, merchant, password, false).await
}

async fn create_user(
    db: &Db,
    email: &str,
    role: RoleArg,
    merchant: Option<&str>,
    password: String,
    one_time: bool,
) -> anyhow::Result<i64> {
    let role = match role {
        RoleArg::Owner => Role::Owner,
        RoleArg::Developer => Role::Developer,
        RoleArg::Viewer => Role::Viewer,
        RoleArg::Admin => Role::Admin,
        RoleArg::Auditor => Role::Auditor,
    };
    let (id, _) = accounts::create_user(db, email, role, merchant, password, one_time, None)
        .await
        .with_context(|| format!("creating user {email}"))?;
    Ok(id)
}

impl From<EnvironmentArg> for Environment {
    fn from(arg: EnvironmentArg) -> Self {
        match arg {
            EnvironmentArg::Sandbox => Environment::Sandbox,
            EnvironmentArg::Production => Environment::Production,
        }
    }
}

/// `check-url`: the exit code and the report to print (the normalised URL and warnings, or
/// every broken rule). Rule 9 runs when `dns` is given.
pub async fn check_url(
    url: &str,
    environment: Environment,
    policy: &UrlPolicy,
    dns: Option<&Resolver>,
) -> (ExitCode, String) {
    let mut report = String::new();
    let code = match crate::dns::vet(url, environment, policy, dns).await {
        Ok(vetted) => {
            report.push_str(&format!("{}\n", vetted.url));
            for warning in vetted.warnings {
                report.push_str(&format!(
                    "warning: {} ({})\n",
                    warning.code.message(),
                    warning.code.as_str()
                ));
            }
            ExitCode::SUCCESS
        }
        Err(violations) => {
            for violation in violations {
                let (code, message) = (violation.code.as_str(), violation.code.message());
                report.push_str(&format!("refused ({code}): {message}\n"));
            }
            ExitCode::FAILURE
        }
    };
    (code, report)
}
