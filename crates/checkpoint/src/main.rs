//! `checkpoint`: the thin binary. It builds the process's [`Context`]
//! (streams, environment, signals) and hands the command line to the
//! library; everything else lives in `checkpoint` (lib) and the crates below.

use std::process::ExitCode;

use checkpoint::Context;

fn main() -> ExitCode {
    ExitCode::from(checkpoint::main_with(&Context::from_process(), std::env::args_os()))
}
