//! The command line: what each command and flag means, in `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0  the checkpoint passed its criteria
  1  the checkpoint failed its criteria (a must gate failed, or should gates / pass rate below threshold)
  2  usage or definition error: nothing was run
  3  infrastructure error: no Docker engine, compose failed before any gate ran, reports not writable
  130  interrupted (Ctrl-C / SIGTERM): reports of what ran written, stack torn down

Examples:
  checkpoint run 1                          bring up the stack, run checkpoint 1, tear down
  checkpoint run 1 --waves wave1,wave2      only the gates of these waves (and what they need)
  checkpoint run 1 --no-up --project demo   against a compose project that is already up
  checkpoint validate                       check every checkpoint file, run nothing
  checkpoint list 1                         the gates and checks of checkpoint 1
  checkpoint run 1 --shard 2/3 -o shard-2   the second of three CI shards
  checkpoint report merge shard-*/results.json   one report of every shard
  checkpoint init --compose docker-compose.yml    a starting checkpoints/0.yaml for a stack
  checkpoint contract diff openapi.json http://localhost:8000/openapi.json   breaking API changes";

/// Integration checkpoints for docker-compose stacks: brings the stack up,
/// waits until it is really ready, runs the plan's gates, and writes
/// JUnit XML, a Markdown report and JSON.
#[derive(Debug, Parser)]
#[command(name = "checkpoint", version = env!("CHECKPOINT_LONG_VERSION"), about, after_help = AFTER_HELP, max_term_width = 110)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Directory holding the checkpoint files (`0.yaml`, `1.yaml`, …, `final.yaml`).
    /// Paths inside them are relative to its parent, the project root. Env: `CHECKPOINT_DIR`.
    #[arg(long, global = true, default_value = "checkpoints", value_name = "DIR")]
    pub dir: PathBuf,

    /// When to colour the console output (never in report files). `NO_COLOR` is honoured.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Which compose runs the stack: `v2` (`docker compose`, or a standalone
    /// `docker-compose` 2.x), `v1` (the Python `docker-compose` 1.x), or `auto`
    /// (v2 when `docker compose` answers, else `docker-compose`). Env: `CHECKPOINT_COMPOSE_TOOL`.
    #[arg(long, global = true, value_enum, default_value_t = ComposeToolArg::Auto, value_name = "TOOL")]
    pub compose_tool: ComposeToolArg,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ComposeToolArg {
    Auto,
    V1,
    V2,
}

impl From<ComposeToolArg> for checkpoint_stack::ToolChoice {
    fn from(a: ComposeToolArg) -> Self {
        match a {
            ComposeToolArg::Auto => Self::Auto,
            ComposeToolArg::V1 => Self::V1,
            ComposeToolArg::V2 => Self::V2,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run checkpoints: stack up, wait until ready, run the gates, report, tear down.
    Run(RunArgs),
    /// List checkpoints, or the gates, waves and checks of some.
    List(ListArgs),
    /// Check checkpoint files (all of them by default) without running anything.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the checkpoint file format (for editors).
    Schema,
    /// Re-render the Markdown and JUnit reports from results.json; `report merge` joins shards.
    Report(ReportArgs),
    /// Drive a checkpoint's compose stack by hand: up, down, status, logs.
    #[command(subcommand)]
    Stack(StackCommand),
    /// Keep a Markdown plan in step with the results: `plan sync` ticks the boxes of passed gates.
    #[command(subcommand)]
    Plan(crate::plan_sync::PlanCommand),
    /// Write a starting checkpoint for an existing compose file (services, ports, health endpoints).
    Init(InitArgs),
    /// OpenAPI contracts: `contract diff OLD NEW` lists the changes and says which break clients.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Print a shell completion script: `checkpoint completions bash > /etc/bash_completion.d/checkpoint`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `checkpoint man | man -l -`.
    Man,
}

#[derive(Debug, Args, Clone)]
pub struct VarArgs {
    /// Set a variable: `--var API_URL=http://staging:8000`. Beats `vars:`, env files and the environment.
    /// `--var service.api.8000=host:port` points a service endpoint at an external stack.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Read variables from a `KEY=VALUE` file (lower precedence than `vars:`).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools, reason = "clap flags, each its own switch")]
pub struct RunArgs {
    /// Checkpoint ids (`1`, `final`) or paths to checkpoint files.
    #[arg(required = true, value_name = "CHECKPOINT")]
    pub checkpoints: Vec<String>,

    /// Only gates of these waves (comma-separated), plus the gates they need.
    #[arg(long, value_delimiter = ',', value_name = "WAVE,…")]
    pub waves: Vec<String>,

    /// Only this gate (repeatable), plus the gates it needs.
    #[arg(long = "gate", value_name = "ID")]
    pub gates: Vec<String>,

    /// How many gates run at once.
    #[arg(long, short = 'j', default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// Stop starting gates after the first must gate fails; the rest are reported as cancelled.
    #[arg(long)]
    pub fail_fast: bool,

    #[command(flatten)]
    pub vars: VarArgs,

    /// Where the reports go: junit.xml, integration-test-results.md, results.json, logs/.
    #[arg(long, short = 'o', default_value = "checkpoint-results", value_name = "DIR")]
    pub out: PathBuf,

    /// Add a compose file on top of the checkpoint's `stack.compose` (an override, e.g.
    /// `fixtures/broken/db-down.yml`). Repeatable; relative to the current directory.
    #[arg(long = "compose-file", short = 'f', value_name = "FILE")]
    pub compose_files: Vec<PathBuf>,

    /// Do not start the stack: run against the compose project named by `--project`, which is already up.
    #[arg(long, requires = "project")]
    pub no_up: bool,

    /// The compose project name (default: generated per run, so runs never collide).
    #[arg(long, short = 'p', value_name = "NAME")]
    pub project: Option<String>,

    /// Leave the stack running afterwards (prints how to tear it down).
    #[arg(long)]
    pub keep: bool,

    /// Ignore the checkpoint's `stack:` and run against external URLs and DSNs only;
    /// checks that need the Docker engine are skipped with the reason.
    #[arg(long, conflicts_with_all = ["no_up", "keep"])]
    pub external: bool,

    /// A previous results.json: the Markdown leads with what changed since.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Run only shard K of N (1-based) of the selected gates, for a CI matrix. Gates joined
    /// by `needs` stay on one shard; shards are balanced by check count. An empty shard runs
    /// nothing and exits 0. Merge with `checkpoint report merge SHARD.json…`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<checkpoint_runner::shard::Shard>,

    /// With --baseline: when a check counts as slower — a percentage, a duration or both
    /// (`25%`, `500ms`, `50%,100ms`); both must be exceeded.
    #[arg(long, value_name = "PCT,DURATION", default_value = "50%,100ms", requires = "baseline")]
    pub slower_than: checkpoint_report::baseline::SlowerThan,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Checkpoints to detail (default: list all checkpoints).
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoints: Vec<String>,
    /// Only gates of these waves.
    #[arg(long, value_delimiter = ',', value_name = "WAVE,…")]
    pub waves: Vec<String>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Only the gates `run --shard K/N` would run.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<checkpoint_runner::shard::Shard>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Checkpoints to validate (default: every file in the directory).
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoints: Vec<String>,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// One results.json, or several shards to merge; `merge SHARD.json…` says so explicitly.
    #[arg(required = true, value_name = "RESULTS_JSON")]
    pub inputs: Vec<PathBuf>,
    /// Where to write the re-rendered reports.
    #[arg(long, short = 'o', default_value = "checkpoint-results", value_name = "DIR")]
    pub out: PathBuf,
    /// A previous results.json to compare with.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: when a check counts as slower (`25%`, `500ms`, `50%,100ms`).
    #[arg(long, value_name = "PCT,DURATION", default_value = "50%,100ms", requires = "baseline")]
    pub slower_than: checkpoint_report::baseline::SlowerThan,
}

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Start a checkpoint's stack and wait until it is ready; prints the project name.
    Up {
        #[arg(value_name = "CHECKPOINT")]
        checkpoint: String,
        #[arg(long, short = 'p', value_name = "NAME")]
        project: Option<String>,
        /// A compose file on top of the checkpoint's `stack.compose` (repeatable), as with `run -f`.
        #[arg(long = "compose-file", short = 'f', value_name = "FILE")]
        compose_files: Vec<PathBuf>,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Tear a project down: containers, networks, volumes.
    Down(ProjectArgs),
    /// Show the services of a running project.
    Status(ProjectArgs),
    /// Remove stacks whose run is gone (killed before it could tear down); `--dry-run` lists them.
    Prune {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the last lines of every service's log (or one service's).
    Logs {
        #[arg(value_name = "CHECKPOINT")]
        checkpoint: String,
        #[arg(long, short = 'p', value_name = "NAME", required = true)]
        project: String,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        #[arg(long, default_value_t = 100)]
        tail: usize,
        #[command(flatten)]
        vars: VarArgs,
    },
}

// The arguments of `stack down` and `stack status`: a checkpoint and its running project.
// (Not a doc comment: clap would take it for the subcommands' help.)
#[derive(Debug, Args)]
pub struct ProjectArgs {
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoint: String,
    #[arg(long, short = 'p', value_name = "NAME", required = true)]
    pub project: String,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The compose file to read (relative to the current directory). Repeatable: several
    /// files (a base and overrides) are merged by the compose tool (`config`).
    #[arg(long, default_value = "docker-compose.test.yml", value_name = "FILE")]
    pub compose: Vec<PathBuf>,
    /// The checkpoint file to write (default: `0.yaml` in the checkpoints directory, `--dir`).
    /// Its name is the checkpoint id.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Every change from OLD to NEW, breaking ones first; exits 1 if any breaks clients.
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
}

const DIFF_HELP: &str = "\
A change is breaking when a client written against OLD can fail against NEW:
a request it sends may be refused, or a response it gets may not be readable.
  - removed: a path, an operation, a response status (a 2XX range and `default`
    count), a media type, a response header, a parameter or request property
  - requests: a parameter, property or body newly required; a type, enum value or
    oneOf/anyOf alternative no longer accepted; null no longer accepted; a bound
    tightened (maxLength lowered, minimum raised, pattern or format added or changed)
  - responses: a property removed or no longer always present; a type, enum value,
    alternative or null that may now be returned; a bound relaxed
  - security: credentials needed where none were, another scope, a requirement no
    longer accepted, a scheme that sends credentials differently
Additions and request widening are not breaking; descriptions, summaries and
examples are not compared. Every rule, with examples: docs/contract.md.

Exit codes:
  0  no breaking change
  1  at least one breaking change
  2  OLD or NEW cannot be read, fetched, or parsed as OpenAPI 3.0/3.1

Examples:
  checkpoint contract diff openapi.json http://localhost:8000/openapi.json
  checkpoint contract diff old.yaml new.yaml --breaking-only
  checkpoint contract diff old.yaml new.yaml --fail-on may-break
  checkpoint contract diff old.yaml new.yaml --ignore contract-ignore.yaml --format github
  checkpoint contract diff old.yaml new.yaml --format json
  checkpoint contract diff api.yaml https://staging/openapi.json -H 'Authorization: Bearer …'";

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The contract clients were built against: a file (YAML or JSON; `$ref`s to
    /// other files and URLs are followed) or an http(s) URL.
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The contract to check against it: a file or an http(s) URL.
    #[arg(value_name = "NEW")]
    pub new: String,
    /// `text` for people, `json` for machines (`{breaking, may_break, non_breaking, changes: […]}`),
    /// `markdown` for a pull request comment, `junit` for CI test reports, `github` for
    /// GitHub Actions annotations (`::error file=…,line=…::…`).
    #[arg(long, value_enum, default_value_t = DiffFormat::Text, value_name = "FORMAT")]
    pub format: DiffFormat,
    /// List only the changes that break or may break (the summary still counts the others).
    #[arg(long)]
    pub breaking_only: bool,
    /// Exit 1 on `breaking` changes only (the default), or on changes that
    /// `may-break` too (a removed optional response property, a renamed media type, …).
    #[arg(long, value_enum, default_value_t = FailOn::Breaking, value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// An ignore file: a YAML list of `fingerprint`, `reason` and optional `expires: YYYY-MM-DD`.
    /// A listed change is shown as ignored and does not fail; after its date it counts again.
    #[arg(long, value_name = "FILE")]
    pub ignore: Option<std::path::PathBuf>,
    /// A request header for URLs, `'Name: value'` (a token for a protected spec). Repeatable;
    /// sent only to the host of OLD or NEW, not to other hosts their `$ref`s name.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Accept invalid TLS certificates (self-signed staging).
    #[arg(long)]
    pub insecure: bool,
}

/// Which changes make `contract diff` exit 1.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Breaking,
    MayBreak,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    Text,
    Json,
    Markdown,
    Junit,
    Github,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once(':').ok_or_else(|| format!("`{s}` is not `Name: value`"))?;
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
        return Err(format!("`{k}` is not a header name"));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    let k = k.trim();
    let valid = checkpoint_model::load::valid_var_name(k) || checkpoint_model::interp::parse_service_ref(k).is_some();
    if !valid {
        return Err(format!("`{k}` is not a variable name (letters, digits, `_`; or `service.NAME.PORT`)"));
    }
    Ok((k.to_string(), v.to_string()))
}
