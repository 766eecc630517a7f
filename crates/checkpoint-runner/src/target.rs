//! The target checks run against: the [`checkpoint_target`] crate, re-exported
//! so the kinds name it as before. It lives in its own small crate so that
//! `checkpoint-stack` implements it without building the check engine.

pub use checkpoint_target::*;
