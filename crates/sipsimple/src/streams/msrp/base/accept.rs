//! What a stream takes (`a=accept-types`, `a=accept-wrapped-types`, RFC
//! 4975 §8.6), which the application may change until the stream's SDP
//! is made: a chat that leaves `message/cpim` out gets plain text from a
//! peer that reads these lines, as every sender of ours does.
//!
//! Fixed from `initialize` on: the m-line is made right after it, and a
//! later offer or answer of the same stream (a re-INVITE) must say what
//! the first said, since the session's 415 check goes by it.

use super::MsrpStreamBase;
use crate::streams::interface::StreamError;
use crate::sync::lock;

#[derive(Debug, Clone)]
pub(super) struct AcceptTypes {
    pub(super) types: Vec<String>,
    pub(super) wrapped: Vec<String>,
}

impl MsrpStreamBase {
    /// What we take, sent as `a=accept-types`; a SEND of anything else
    /// gets 415.
    pub fn accept_types(&self) -> Vec<String> {
        lock(&self.accept).types.clone()
    }

    /// What we take inside CPIM, sent as `a=accept-wrapped-types` when
    /// not empty.
    pub fn accept_wrapped_types(&self) -> Vec<String> {
        lock(&self.accept).wrapped.clone()
    }

    /// Replaces [`MsrpStreamBase::accept_types`]; refused once the stream
    /// is initialized, and when empty (the attribute needs a type).
    pub fn set_accept_types(&self, types: Vec<String>) -> Result<(), StreamError> {
        self.check_accept_change(&types)?;
        if types.is_empty() {
            return Err("accept-types needs at least one type".into());
        }
        lock(&self.accept).types = types;
        Ok(())
    }

    /// Replaces [`MsrpStreamBase::accept_wrapped_types`] (empty: none
    /// sent); refused once the stream is initialized.
    pub fn set_accept_wrapped_types(&self, types: Vec<String>) -> Result<(), StreamError> {
        self.check_accept_change(&types)?;
        lock(&self.accept).wrapped = types;
        Ok(())
    }

    fn check_accept_change(&self, types: &[String]) -> Result<(), StreamError> {
        if self.context().is_some() {
            return Err("the stream is initialized: its accept-types are fixed".into());
        }
        // The attribute is a space-separated list: a type is one token.
        match types
            .iter()
            .find(|t| t.is_empty() || t.contains(char::is_whitespace))
        {
            Some(bad) => Err(format!("{bad:?} is not a media type").into()),
            None => Ok(()),
        }
    }
}
