//! The Python-compatible cores of Vera's `"vera"` host import families,
//! without wasmtime: what Vera 0.2.3's Python host computes, byte for byte,
//! over plain text and over a guest heap seen through `vera_layout::Heap`.
//!
//! Each module owns one family's semantics: [`json`] (`json.loads` /
//! Vera's canonical `json_stringify`), [`decimal`] (Python's `decimal` at
//! Vera's context), [`regex`] (Python's `re` on `fancy-regex`), [`md`]
//! and [`html`] (Vera's Markdown and `html.parser` trees and queries),
//! [`format`] (`repr(float)`), [`pyrepr`] (`repr(str)`) and [`utf8`]
//! (Python's UTF-8 decoding errors); [`http`] holds urllib's URL rules and
//! texts (the fetching stays with each embedder). [`bounds`]
//! holds what limits their work (`--max-host-memory`, `--timeout`).
//!
//! The wasmtime glue that binds them to imports is `vera-host`'s
//! `families`; the browser runtime builds the same code for wasm32
//! (`vera-browser-core`). A result that ends the run instead of returning
//! to the guest is a [`Stop`].
//!
//! The cargo feature `regex` (on by default) builds [`regex`], [`md`] and
//! [`html`], the families that need a regex engine (fancy-regex, regex).

pub mod bounds;
pub mod decimal;
pub mod format;
#[cfg(feature = "regex")]
pub mod html;
pub mod http;
pub mod json;
#[cfg(feature = "regex")]
pub mod md;
pub mod pyrepr;
#[cfg(feature = "regex")]
pub mod regex;
#[cfg(feature = "regex")]
mod regex_classes;
pub mod utf8;

/// Host work that ends the run rather than answering the guest: the
/// embedder turns it into its trap (`vera-host`'s `HostTrap`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// Python raised what the import does not catch (a RecursionError, an
    /// overflow), with the message `vera run` prints.
    #[error("{0}")]
    Refused(String),
    /// A resource limit of vera-rt was exceeded.
    #[error("{0}")]
    Limit(String),
}
