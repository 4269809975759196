//! `sip`: the command-line SIP client of sipsimple-rs.
//!
//! Owns the commands and their output for people: `sip parse` (read SIP
//! messages from files or stdin, as datagrams or as a TCP-like stream, and
//! explain them), `sip demo` (alice and bob exchange MESSAGEs on
//! loopback; `--samples`: the parse printer on embedded samples),
//! `sip lookup` (RFC 3263 routes for a URI, with the DNS queries made) and
//! `sip account` / `sip settings` (the configuration file),
//! `sip register` (stay registered until Ctrl-C), and `sip call` /
//! `sip listen` (calls with audio from and to WAV files), `sip chat`
//! (chat over MSRP; `sip listen` takes chat sessions too), `sip
//! send-file` / `sip get-file` (RFC 5547 file transfer; `sip listen
//! --accept-files DIR` takes files), `sip share-desktop` / `sip
//! view-desktop` (VNC over MSRP; `sip listen --view-desktop` or
//! `--share-desktop HOST:PORT` takes such offers), `sip message` (pager-mode MESSAGE,
//! CPIM with a delivery notification asked for), `sip presence
//! publish|watch|watchers` and `sip mwi` (presence and voicemail).
//! Depends on the `sipsimple` crate only; protocol work stays in its crates.
//!
//! Exit codes: 0 all messages valid, 1 a message was refused, 2 usage or
//! I/O error.
#![forbid(unsafe_code)]

mod call;
mod chat;
mod conference;
mod config;
mod demo;
mod demo_agents;
mod desktop;
mod file;
mod lookup;
mod message;
mod presence;
mod register;
mod render;
mod signals;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "sip", version, about = "SIP SIMPLE client (sipsimple-rs)")]
struct Cli {
    /// Configuration file (default: $SIP_CONFIG, else
    /// ~/.config/sipsimple-rs/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write every SIP message sent and received to standard error
    /// (passwords, digest responses and SRTP keys masked).
    #[arg(long, global = true)]
    trace: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse SIP messages and explain them: start line, typed headers, body,
    /// and why a message is refused.
    #[command(
        after_help = "Exit status: 0 every message valid, 1 a message refused, 2 usage or I/O error."
    )]
    Parse {
        /// Files to read; none or `-` reads stdin. Each file is one message
        /// (a datagram) unless --stream is given.
        files: Vec<PathBuf>,
        /// Frame the input as a TCP/TLS byte stream (Content-Length
        /// required, CRLF keep-alives), printing every frame.
        #[arg(long)]
        stream: bool,
    },
    /// Two user agents in this process exchange MESSAGEs on loopback (no
    /// server, no set-up); with --samples, explain embedded sample messages.
    Demo {
        /// Parse and explain embedded sample messages instead.
        #[arg(long)]
        samples: bool,
    },
    /// Where requests for a SIP URI go (RFC 3263: NAPTR, SRV, A/AAAA), or
    /// a domain's MSRP relay / STUN server with --service.
    #[command(after_help = "Exit status: 0 routes found, 1 none, 2 usage or I/O error.")]
    Lookup {
        /// A sip: or sips: URI, or a domain with --service.
        target: String,
        /// Transports this client supports, in order of preference.
        #[arg(long, default_value = "udp,tcp,tls")]
        transports: String,
        /// Name servers to ask (IP:PORT); default: the system's.
        #[arg(long = "nameserver")]
        nameservers: Vec<std::net::SocketAddr>,
        /// Look up a service of a domain instead: msrprelay or stun.
        #[arg(long)]
        service: Option<String>,
        /// Seconds per DNS query.
        #[arg(long, default_value_t = 3.0)]
        timeout: f64,
    },
    /// Add, list, show, change and delete SIP accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Show and change the global settings (docs/CONFIGURATION.md).
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Register the enabled accounts (or one) and stay registered, printing
    /// what happens; Ctrl-C unregisters and exits.
    Register {
        /// Only show this account (user@domain); it must be enabled.
        account: Option<String>,
    },
    /// Call a SIP URI with audio. While the call is up, type hangup, hold,
    /// unhold, dtmf DIGITS, record [FILE], mute or unmute; Ctrl-C hangs up.
    #[command(
        after_help = "Exit status: 0 the call ended normally, 1 it failed, 2 usage or I/O error."
    )]
    Call {
        uri: String,
        /// Call from this account (default: the default account).
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        audio: AudioArgs,
        /// Hang up after this many seconds.
        #[arg(long, value_name = "SECS")]
        hangup_after: Option<f64>,
    },
    /// Call every URI and join the calls in an audio conference with the
    /// local audio. While it runs, type hold, unhold or hangup; Ctrl-C
    /// hangs up all.
    #[command(
        after_help = "--output records the whole conference. Exit status: 0 a call started, 1 none did, 2 usage or I/O error."
    )]
    Conference {
        #[arg(required = true, num_args = 1..)]
        uris: Vec<String>,
        /// Call from this account (default: the default account).
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        audio: AudioArgs,
        /// Hang up all after this many seconds.
        #[arg(long, value_name = "SECS")]
        hangup_after: Option<f64>,
    },
    /// Wait for calls to the enabled accounts and answer them (asking, or
    /// at once with --auto-answer).
    Listen {
        #[arg(long)]
        auto_answer: bool,
        #[command(flatten)]
        audio: AudioArgs,
        /// Stop after this many calls.
        #[arg(long, value_name = "N")]
        max_calls: Option<u32>,
        /// Send every chat message that arrives back to its sender.
        #[arg(long)]
        echo: bool,
        /// Accept every file offered and save it in this directory
        /// (without it, files are asked about and go to
        /// file_transfer.directory).
        #[arg(long, value_name = "DIR")]
        accept_files: Option<PathBuf>,
        /// Accept desktops shared with us and print the local port a VNC
        /// viewer connects to (default 127.0.0.1 and any free port).
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
        view_desktop: Option<std::net::SocketAddr>,
        /// Let peers that ask to view our desktop see this VNC server.
        #[arg(long, value_name = "HOST:PORT")]
        share_desktop: Option<String>,
    },
    /// Share the desktop of a running VNC server with a SIP URI (RFB
    /// over MSRP); the peer views it. Ctrl-C or the peer hanging up ends it.
    #[command(
        name = "share-desktop",
        after_help = "Exit status: 0 the session ended normally, 1 it failed (the call, or the VNC server), 2 usage or I/O error."
    )]
    ShareDesktop {
        uri: String,
        /// The VNC server whose desktop is shared.
        #[arg(long, value_name = "HOST:PORT")]
        vnc: String,
        #[arg(long)]
        account: Option<String>,
    },
    /// Ask a SIP URI to share its desktop and print the local port any
    /// VNC viewer connects to in order to see it.
    #[command(
        name = "view-desktop",
        after_help = "Exit status: 0 the session ended normally (or the VNC viewer left), 1 it failed, 2 usage or I/O error."
    )]
    ViewDesktop {
        uri: String,
        /// Where the VNC viewer connects (default: 127.0.0.1, any free port).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        #[arg(long)]
        account: Option<String>,
    },
    /// Send a file over MSRP (RFC 5547) with a progress line; exit 0 only
    /// when the peer confirmed the whole file (its SHA-1 checked).
    #[command(
        name = "send-file",
        after_help = "Exit status: 0 the peer confirmed the whole file, 1 the transfer failed, 2 usage or I/O error."
    )]
    SendFile {
        uri: String,
        file: PathBuf,
        /// Send from this account (default: the default account).
        #[arg(long)]
        account: Option<String>,
        /// Send only what the peer did not confirm the last time this file
        /// was sent and cut.
        #[arg(long)]
        resume: bool,
    },
    /// Ask a peer for a file it has (RFC 5547 pull) and save it.
    #[command(
        name = "get-file",
        after_help = "Exit status: 0 the file was saved with a matching hash, 1 the transfer failed, 2 usage or I/O error."
    )]
    GetFile {
        uri: String,
        name: String,
        #[arg(long)]
        account: Option<String>,
        /// Save here (default: file_transfer.directory).
        #[arg(long, value_name = "DIR")]
        directory: Option<PathBuf>,
    },
    /// Chat with a SIP URI over MSRP: lines typed are sent, what arrives
    /// is printed with its time and sender, and each message's delivery
    /// report is shown. End of input, Ctrl-C or the peer hanging up ends
    /// the chat. With --message, send one message and wait for its report.
    #[command(
        after_help = "Exit status: 0 the chat ended normally (with --message: the message was delivered), 1 it failed or was not delivered, 2 usage or I/O error."
    )]
    Chat {
        uri: String,
        /// Chat from this account (default: the default account).
        #[arg(long)]
        account: Option<String>,
        /// Send this one message, wait for its delivery report and exit.
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
        /// Seconds to wait for the report of --message (or, at the end of
        /// input, for the reports still missing).
        #[arg(long, value_name = "SECS", default_value_t = 30.0)]
        timeout: f64,
    },
    /// Send one instant message (pager-mode MESSAGE, RFC 3428).
    #[command(
        after_help = "Exit status: 0 delivered (with --cpim: the recipient's delivery notification said so), 1 not delivered, 2 usage or I/O error."
    )]
    Message {
        uri: String,
        text: String,
        /// Send from this account (default: the default account).
        #[arg(long)]
        account: Option<String>,
        /// Wrap in CPIM and ask for a delivery notification (RFC 5438);
        /// wait for it instead of trusting the 200.
        #[arg(long)]
        cpim: bool,
        /// Seconds to wait for the delivery notification of --cpim.
        #[arg(long, value_name = "SECS", default_value_t = 30.0)]
        timeout: f64,
    },
    /// Publish our presence, watch contacts' or see who watches ours
    /// (until Ctrl-C, which removes what was published).
    #[command(subcommand)]
    Presence(PresenceCommand),
    /// Watch the voicemail summary (RFC 3842 message waiting indication)
    /// until Ctrl-C.
    Mwi {
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Subcommand)]
enum PresenceCommand {
    /// Publish a status (RFC 3903 PIDF/RPID) and keep it up until Ctrl-C.
    Publish {
        #[arg(long, value_enum, default_value = "available")]
        status: presence::Status,
        #[arg(long)]
        note: Option<String>,
        /// Publish to no server: only watchers who subscribe to this
        /// client directly see the status.
        #[arg(long)]
        direct: bool,
        /// Ask (y/n) before a watcher who subscribes directly may see
        /// the status; refused ones get a rejection.
        #[arg(long)]
        ask: bool,
        #[arg(long)]
        account: Option<String>,
    },
    /// Watch the presence of contacts; a line each time one changes.
    Watch {
        #[arg(required = true)]
        uris: Vec<String>,
        #[arg(long)]
        account: Option<String>,
    },
    /// Show who subscribes to our presence (watcher info), as it changes;
    /// decide who may (the account's pres-rules on its XCAP server,
    /// `xcap.xcap_root`: the presence server follows them).
    Watchers {
        /// Let this watcher see our presence (pres-rules `allow`).
        #[arg(long, value_name = "URI")]
        allow: Vec<String>,
        /// Refuse this watcher politely (`polite-block`: its
        /// subscription stays, it sees us unavailable).
        #[arg(long, value_name = "URI")]
        deny: Vec<String>,
        /// Reject this watcher (`block`: its subscription ends).
        #[arg(long, value_name = "URI")]
        block: Vec<String>,
        /// Ask (y/n) for each pending watcher: y allows, n denies.
        #[arg(long)]
        ask: bool,
        #[arg(long)]
        account: Option<String>,
    },
}

/// Where call audio comes from and goes to, without a sound card.
#[derive(clap::Args)]
struct AudioArgs {
    /// Send this WAV file (any rate and channels; converted to 8 kHz mono).
    #[arg(long, value_name = "FILE.wav")]
    input: Option<PathBuf>,
    /// Send a tone of this frequency instead.
    #[arg(long, value_name = "HZ", conflicts_with = "input")]
    tone: Option<f64>,
    /// Record what arrives to this WAV file (8 kHz mono).
    #[arg(long, value_name = "FILE.wav")]
    output: Option<PathBuf>,
}

impl AudioArgs {
    fn options(self) -> call::AudioOptions {
        call::AudioOptions {
            input: self.input,
            tone: self.tone,
            output: self.output,
        }
    }
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Add an account, enabled (the first one becomes the default).
    Add {
        /// user@domain
        id: String,
        /// The password (visible to other users in the process list:
        /// prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        display_name: Option<String>,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List the accounts; `*` marks the default.
    List,
    /// Every setting of an account; `*` marks those changed from the default.
    Show {
        id: String,
    },
    /// Change a setting, e.g. `sip account set alice@example.com registration.interval 600`.
    Set {
        id: String,
        setting: String,
        value: String,
    },
    /// Put a setting back to its default (nil for those that may be unset).
    Reset {
        id: String,
        setting: String,
    },
    Delete {
        id: String,
    },
    /// Show the default account, or make ID the default.
    Default {
        id: Option<String>,
    },
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Every global setting; `*` marks those changed from the default.
    Show,
    /// Change a setting; lists are comma-separated (`sip.transport_list tls,tcp`).
    Set { setting: String, value: String },
    /// Put a setting back to its default.
    Reset { setting: String },
}

/// Exit statuses.
const REFUSED: u8 = 1;
const FAILURE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    call::TRACE.store(cli.trace, std::sync::atomic::Ordering::Relaxed);
    let mut out = Output::new();
    let status = match cli.command {
        Command::Parse { files, stream } => parse(&mut out, &files, stream),
        Command::Demo { samples: true } => run_demo(&mut out),
        Command::Demo { samples: false } => demo_agents::run(|text| out.write(text)).map(|()| 0),
        Command::Lookup {
            target,
            transports,
            nameservers,
            service,
            timeout,
        } => run_lookup(&mut out, target, &transports, nameservers, service, timeout),
        Command::Account(cmd) => run_config(&mut out, cli.config, |c| match cmd {
            AccountCommand::Add {
                id,
                password,
                password_stdin,
                display_name,
                disabled,
            } => {
                let password = if password_stdin {
                    Some(config::password_from_stdin()?)
                } else {
                    password
                };
                c.account_add(&id, password, display_name, disabled)
            }
            AccountCommand::List => c.account_list(),
            AccountCommand::Show { id } => c.account_show(&id),
            AccountCommand::Set { id, setting, value } => c.account_set(&id, &setting, &value),
            AccountCommand::Reset { id, setting } => c.account_reset(&id, &setting),
            AccountCommand::Delete { id } => c.account_delete(&id),
            AccountCommand::Default { id } => c.account_default(id.as_deref()),
        }),
        Command::Register { account } => run_register(&mut out, cli.config, account),
        Command::Call {
            uri,
            account,
            audio,
            hangup_after,
        } => config::path(cli.config).and_then(|path| {
            let limit = hangup_after
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(std::time::Duration::from_secs_f64);
            call::call(
                &path,
                &uri,
                account.as_deref(),
                audio.options(),
                limit,
                |l| out.write(l),
            )
        }),
        Command::Conference {
            uris,
            account,
            audio,
            hangup_after,
        } => config::path(cli.config).and_then(|path| {
            let limit = hangup_after
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(std::time::Duration::from_secs_f64);
            conference::conference(
                &path,
                &uris,
                account.as_deref(),
                audio.options(),
                limit,
                |l| out.write(l),
            )
        }),
        Command::Listen {
            auto_answer,
            audio,
            max_calls,
            echo,
            accept_files,
            view_desktop,
            share_desktop,
        } => config::path(cli.config).and_then(|path| {
            let take = call::Take {
                echo,
                accept_files,
                view_desktop,
                share_desktop,
            };
            call::listen(&path, auto_answer, audio.options(), max_calls, take, |l| {
                out.write(l)
            })
        }),
        Command::SendFile {
            uri,
            file,
            account,
            resume,
        } => config::path(cli.config).and_then(|path| {
            file::send_file(&path, &uri, account.as_deref(), &file, resume, |l| {
                out.write(l)
            })
        }),
        Command::ShareDesktop { uri, vnc, account } => config::path(cli.config).and_then(|path| {
            desktop::offer_desktop(
                &path,
                &uri,
                account.as_deref(),
                desktop::Local::Share(vnc),
                |l| out.write(l),
            )
        }),
        Command::ViewDesktop {
            uri,
            listen,
            account,
        } => config::path(cli.config).and_then(|path| {
            desktop::offer_desktop(
                &path,
                &uri,
                account.as_deref(),
                desktop::Local::View(listen),
                |l| out.write(l),
            )
        }),
        Command::GetFile {
            uri,
            name,
            account,
            directory,
        } => config::path(cli.config).and_then(|path| {
            file::get_file(&path, &uri, account.as_deref(), &name, directory, |l| {
                out.write(l)
            })
        }),
        Command::Chat {
            uri,
            account,
            message,
            timeout,
        } => config::path(cli.config).and_then(|path| {
            let timeout = seconds(timeout)?;
            chat::chat(&path, &uri, account.as_deref(), message, timeout, |l| {
                out.write(l)
            })
        }),
        Command::Message {
            uri,
            text,
            account,
            cpim,
            timeout,
        } => config::path(cli.config).and_then(|path| {
            let timeout = seconds(timeout)?;
            message::message(&path, &uri, account.as_deref(), &text, cpim, timeout, |l| {
                out.write(l)
            })
        }),
        Command::Presence(cmd) => config::path(cli.config).and_then(|path| {
            let (account, service) = match cmd {
                PresenceCommand::Publish {
                    status,
                    note,
                    direct,
                    ask,
                    account,
                } => (
                    account,
                    presence::Service::Publish {
                        status,
                        note,
                        direct,
                        ask,
                    },
                ),
                PresenceCommand::Watch { uris, account } => {
                    (account, presence::Service::Watch { contacts: uris })
                }
                PresenceCommand::Watchers {
                    allow,
                    deny,
                    block,
                    ask,
                    account,
                } => {
                    use sipsimple::payloads::pres_rules::SubHandling;
                    let decisions = (allow.into_iter().map(|u| (u, SubHandling::Allow)))
                        .chain(deny.into_iter().map(|u| (u, SubHandling::PoliteBlock)))
                        .chain(block.into_iter().map(|u| (u, SubHandling::Block)))
                        .collect();
                    (account, presence::Service::Watchers { decisions, ask })
                }
            };
            presence::run(&path, account.as_deref(), service, |l| out.write(l))
        }),
        Command::Mwi { account } => config::path(cli.config).and_then(|path| {
            presence::run(&path, account.as_deref(), presence::Service::Mwi, |l| {
                out.write(l)
            })
        }),
        Command::Settings(cmd) => run_config(&mut out, cli.config, |c| match cmd {
            SettingsCommand::Show => c.settings_show(),
            SettingsCommand::Set { setting, value } => c.settings_set(&setting, &value),
            SettingsCommand::Reset { setting } => c.settings_reset(&setting),
        }),
    };
    match status {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`sip demo | head`): nothing left to say.
        Err(_) if out.closed => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sip: {e:#}");
            ExitCode::from(FAILURE)
        }
    }
}

/// A `--timeout` in seconds, within reason.
fn seconds(timeout: f64) -> Result<std::time::Duration> {
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 86_400.0) {
        anyhow::bail!("--timeout must be between 0 and 86400 seconds");
    }
    Ok(std::time::Duration::from_secs_f64(timeout))
}

/// `sip parse`: every input in turn; I/O errors are reported and the rest
/// still read.
fn parse(out: &mut Output, files: &[PathBuf], stream: bool) -> Result<u8> {
    let stdin = [PathBuf::from("-")];
    let inputs = if files.is_empty() { &stdin[..] } else { files };
    let mut status = 0;
    for path in inputs {
        let data = match read_input(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("sip: {e:#}");
                status = FAILURE;
                continue;
            }
        };
        let name = if is_stdin(path) {
            "<stdin>".to_owned()
        } else {
            path.display().to_string()
        };
        let mode = if stream { "stream" } else { "datagram" };
        out.write(&format!("== {name} ({} bytes, {mode})\n", data.len()))?;
        let report = if stream {
            render::stream(&data)
        } else {
            render::datagram(&data)
        };
        out.write(&report.text)?;
        if report.refused > 0 && status == 0 {
            status = REFUSED;
        }
    }
    Ok(status)
}

/// `sip demo --samples`: exits 0 when every sample is judged as expected (the
/// invalid one refused).
fn run_demo(out: &mut Output) -> Result<u8> {
    let total = demo::SAMPLES.len();
    out.write(&format!(
        "sip demo: {total} sample messages through the printer of `sip parse`\n\n"
    ))?;
    let mut surprises = Vec::new();
    for (i, s) in demo::SAMPLES.iter().enumerate() {
        out.write(&format!("=== {}/{total} {}\n", i + 1, s.heading))?;
        out.write(&format!("    ({}, {} bytes)\n", s.source, s.data.len()))?;
        let report = render::datagram(s.data);
        out.write(&report.text)?;
        if (report.refused == 0) != s.expect_valid {
            surprises.push(s.source);
        }
    }
    if surprises.is_empty() {
        out.write("every sample was judged as expected\n")?;
        Ok(0)
    } else {
        out.write(&format!(
            "UNEXPECTED: judged differently than expected: {}\n",
            surprises.join(", ")
        ))?;
        Ok(REFUSED)
    }
}

fn run_lookup(
    out: &mut Output,
    target: String,
    transports: &str,
    nameservers: Vec<std::net::SocketAddr>,
    service: Option<String>,
    timeout: f64,
) -> Result<u8> {
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 60.0) {
        anyhow::bail!("--timeout must be between 0 and 60 seconds");
    }
    let args = lookup::Args {
        target,
        transports: lookup::transports(transports)?,
        nameservers,
        service,
        timeout: std::time::Duration::from_secs_f64(timeout),
    };
    let (text, found) = lookup::run(args)?;
    out.write(&text)?;
    Ok(if found { 0 } else { REFUSED })
}

fn run_config(
    out: &mut Output,
    explicit: Option<PathBuf>,
    command: impl FnOnce(&config::Config) -> Result<String>,
) -> Result<u8> {
    let path = config::path(explicit)?;
    let config = config::Config::open(&path)?;
    let text = command(&config)?;
    out.write(&text)?;
    Ok(0)
}

fn run_register(
    out: &mut Output,
    explicit: Option<PathBuf>,
    account: Option<String>,
) -> Result<u8> {
    let path = config::path(explicit)?;
    register::run(&path, account.as_deref(), |line| out.write(line))?;
    Ok(0)
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    if is_stdin(path) {
        io::stdin()
            .lock()
            .read_to_end(&mut data)
            .context("cannot read standard input")?;
    } else {
        data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(data)
}

/// Standard output that stops quietly when the reader goes away
/// (`sip demo | head`).
struct Output {
    stdout: io::Stdout,
    closed: bool,
}

impl Output {
    fn new() -> Self {
        Output {
            stdout: io::stdout(),
            closed: false,
        }
    }

    fn write(&mut self, text: &str) -> Result<()> {
        let mut lock = self.stdout.lock();
        match lock.write_all(text.as_bytes()).and_then(|()| lock.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Err(e).context("standard output closed")
            }
            other => other.context("cannot write standard output"),
        }
    }
}
