//! `openstopcovid authority …`: API keys, accounts and app settings of the health authority.

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
    /// The app configuration phones fetch from /v1/config: risk parameters, venue rules,
    /// and texts in French and English (the same settings as the page /authority/config).
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum ConfigCommand {
    /// Prints the settings in force as JSON (a file to edit and give to `set`); which
    /// version they are goes to standard error.
    ///
    /// Example: openstopcovid authority config show --data-dir data > settings.json
    Show {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Checks the settings in FILE (standard input without FILE) and saves them as a new
    /// version; prints its number. Every problem is named by its field; nothing is saved
    /// then (exit status 2). Running servers serve the new version at once.
    ///
    /// Example: openstopcovid authority config set settings.json --data-dir data
    Set {
        /// The settings as JSON, every member present (see `show`).
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// Who makes the change, for the history and the audit log.
        #[arg(long, default_value = "command line")]
        author: String,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Largest settings file `config set` reads (the texts' limits keep real ones far smaller).
const MAX_SETTINGS_FILE_BYTES: u64 = 1024 * 1024;

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

fn read_settings_file(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    let mut text = String::new();
    let read = match file {
        Some(path) => std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?
            .take(MAX_SETTINGS_FILE_BYTES + 1)
            .read_to_string(&mut text),
        None => std::io::stdin()
            .take(MAX_SETTINGS_FILE_BYTES + 1)
            .read_to_string(&mut text),
    };
    read.context("cannot read the settings (UTF-8 JSON expected)")?;
    if text.len() as u64 > MAX_SETTINGS_FILE_BYTES {
        return Err(anyhow!(
            "the settings file is larger than {MAX_SETTINGS_FILE_BYTES} bytes"
        ));
    }
    Ok(text)
}

fn run_config(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Show { data_dir, config } => {
            let (runtime, store) = open_store(config.as_deref(), data_dir)?;
            let latest = runtime
                .block_on(store.latest_app_configuration())
                .context("cannot read the settings")?;
            let (_, settings) = runtime
                .block_on(server::app_config::current_settings(&store))
                .context("cannot read the settings")?;
            runtime.block_on(store.close());
            match latest {
                Some(row) => eprintln!(
                    "version {} saved {} by {}",
                    row.version,
                    time::OffsetDateTime::from_unix_timestamp(row.saved_at)
                        .ok()
                        .and_then(|saved| saved
                            .format(&time::format_description::well_known::Rfc3339)
                            .ok())
                        .unwrap_or_default(),
                    row.author
                ),
                None => eprintln!("the built-in defaults (no version saved yet)"),
            }
            println!("{}", serde_json::to_string_pretty(&settings)?);
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Set {
            file,
            data_dir,
            author,
            config,
        } => {
            let text = read_settings_file(file.as_deref())?;
            let settings = match messages::app_settings::AppSettings::from_json(&text) {
                Ok(settings) => settings,
                Err(errors) => {
                    eprintln!("the settings were not saved:");
                    for error in &errors.0 {
                        eprintln!("  {error}");
                    }
                    return Ok(ExitCode::from(2));
                }
            };
            let (runtime, store) = open_store(config.as_deref(), data_dir)?;
            let saved = runtime.block_on(server::app_config::save(
                &store,
                now(),
                author.trim(),
                &settings,
            ));
            runtime.block_on(store.close());
            let version = saved.context("cannot save the settings")?;
            println!("{version}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn run(command: AuthorityCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuthorityCommand::Analytics(command) => return super::analytics::run(command),
        AuthorityCommand::Config(command) => return run_config(command),
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
