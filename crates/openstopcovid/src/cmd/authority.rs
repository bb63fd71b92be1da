//! `openstopcovid authority …`: API keys and accounts of the health authority.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};

#[derive(clap::Subcommand, Debug)]
pub enum AuthorityCommand {
    /// Authority API keys (for test centres' and laboratories' systems).
    #[command(name = "api-key", subcommand)]
    ApiKey(ApiKeyCommand),
    /// Accounts of physicians and administrators of the web pages at /authority.
    #[command(subcommand)]
    User(UserCommand),
    /// Signing keys of export files, responses and upload tokens.
    #[command(subcommand)]
    Keys(SigningKeysCommand),
    /// Private analytics: the DAP tasks to provision, and collecting the daily metrics
    /// opted-in phones send (docs/analytics.md).
    #[command(subcommand)]
    Analytics(super::analytics::AnalyticsCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Creates an API key and prints it alone on stdout (it is stored only as a hash).
    ///
    /// Example: openstopcovid authority api-key create --data-dir data --name "lab A"
    Create {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// Who the key is for, shown in the audit log.
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Adds an account; the password is read from standard input.
    ///
    /// Example: printf '%s' "$PASSWORD" | openstopcovid authority user add --data-dir data
    ///          --email dr.martin@example.org --role physician --password-stdin
    Add {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        #[arg(long)]
        email: String,
        /// physician or admin.
        #[arg(long, value_parser = ["physician", "admin"])]
        role: String,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum SigningKeysCommand {
    /// Makes new signing keys; the old ones keep verifying during the overlap. Restart the
    /// servers afterwards.
    Rotate {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// How long the old keys keep verifying, in seconds.
        #[arg(long, default_value_t = server::config::DEFAULT_KEY_OVERLAP_SECONDS)]
        overlap_seconds: u64,
    },
}

fn now() -> i64 {
    server::Clock::now_unix_seconds(&server::RealClock)
}

fn open_store(
    config: Option<&std::path::Path>,
    data_dir: PathBuf,
) -> anyhow::Result<(tokio::runtime::Runtime, server::datastore::Store)> {
    let config = super::serve::load_config(config, Some(data_dir))?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    let store = runtime
        .block_on(server::datastore::Store::connect(
            &config.effective_database_url(),
        ))
        .context("cannot open the database")?;
    Ok((runtime, store))
}

pub fn run(command: AuthorityCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuthorityCommand::Analytics(command) => return super::analytics::run(command),
        AuthorityCommand::ApiKey(ApiKeyCommand::Create {
            data_dir,
            name,
            config,
        }) => {
            let (runtime, store) = open_store(config.as_deref(), data_dir)?;
            let key = runtime
                .block_on(server::codes::create_api_key(&store, &name, now()))
                .context("cannot store the API key")?;
            runtime.block_on(store.close());
            println!("{key}");
        }
        AuthorityCommand::User(UserCommand::Add {
            data_dir,
            email,
            role,
            password_stdin: _,
            config,
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let role = server::authority_ui::Role::parse(&role)
                .ok_or_else(|| anyhow!("the role must be physician or admin"))?;
            let (runtime, store) = open_store(config.as_deref(), data_dir)?;
            let id = runtime
                .block_on(server::authority_ui::add_user(
                    &store,
                    &email,
                    role,
                    password,
                    now(),
                ))
                .map_err(|error| anyhow!("cannot add {email}: {error}"))?;
            runtime.block_on(store.close());
            eprintln!("added {email} ({id})");
        }
        AuthorityCommand::Keys(SigningKeysCommand::Rotate {
            data_dir,
            overlap_seconds,
        }) => {
            let overlap = i64::try_from(overlap_seconds).unwrap_or(i64::MAX);
            let created = server::signing::rotate(&data_dir, now(), overlap)?;
            for path in created {
                println!("{}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
