//! TLS for the engine (rustls, ring provider). Servers are verified against
//! the SIP domain or configured TLS name passed with the request (SNI and
//! certificate name), never against the address it resolved to, with
//! Mozilla's root store (the webpki-roots crate: the same set on every
//! machine, no system store to find) plus the CAs of `tls.ca_list`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

/// TLS settings of an engine.
#[derive(Debug, Default)]
pub struct TlsSettings {
    /// Our certificate chain and key: needed to listen for TLS.
    pub identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// Trust anchors for servers we connect to (`tls.ca_list`), besides
    /// the public ones when `public_roots`.
    pub roots: Vec<CertificateDer<'static>>,
    /// Trust Mozilla's public root CAs too (what a provider's server
    /// certificate chains to). Off only for tests that must see a
    /// certificate refused.
    pub public_roots: bool,
    /// Verify servers' certificates (the SDK's "TLS verify server" setting).
    /// When false any certificate is accepted: for tests and labs only.
    pub verify_server: bool,
}

impl Clone for TlsSettings {
    fn clone(&self) -> Self {
        TlsSettings {
            identity: self
                .identity
                .as_ref()
                .map(|(c, k)| (c.clone(), k.clone_key())),
            roots: self.roots.clone(),
            public_roots: self.public_roots,
            verify_server: self.verify_server,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("TLS trust anchor: {0}")]
    Root(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn server_config(settings: &TlsSettings) -> Result<Option<Arc<ServerConfig>>, TlsError> {
    let Some((chain, key)) = &settings.identity else {
        return Ok(None);
    };
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key.clone_key())?;
    Ok(Some(Arc::new(cfg)))
}

pub(crate) fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, TlsError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let cfg = if settings.verify_server {
        builder
            .with_root_certificates(root_store(settings)?)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
            .with_no_client_auth()
    };
    Ok(Arc::new(cfg))
}

/// The trust anchors of `settings`: the public roots (if asked) and the
/// configured CAs.
pub(crate) fn root_store(settings: &TlsSettings) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if settings.public_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for c in &settings.roots {
        roots
            .add(c.clone())
            .map_err(|e| TlsError::Root(e.to_string()))?;
    }
    Ok(roots)
}

/// The name to present (SNI) and verify: a DNS name, or an IP literal
/// when the SIP URI had one.
pub(crate) fn server_name(name: &str) -> Option<ServerName<'static>> {
    ServerName::try_from(name.to_owned()).ok()
}

/// Accepts any server certificate (verify_server = false), still checking
/// handshake signatures so the session keys are the peer's.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_roots_are_mozillas_plus_the_configured_cas() {
        let none = TlsSettings::default();
        assert_eq!(root_store(&none).unwrap().len(), 0);
        let public = TlsSettings {
            public_roots: true,
            ..TlsSettings::default()
        };
        let n = root_store(&public).unwrap().len();
        assert!(n > 100, "{n} public roots");
        let bad = TlsSettings {
            roots: vec![CertificateDer::from(vec![1, 2, 3])],
            ..public
        };
        assert!(matches!(root_store(&bad), Err(TlsError::Root(_))));
    }
}
