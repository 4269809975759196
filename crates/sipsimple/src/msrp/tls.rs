//! TLS for MSRP connections between endpoints.
//!
//! Direct MSRP peers (RFC 4975 §14.1) present self-signed certificates in
//! practice, as the original SDK and its clients do, so the client side
//! of a direct connection accepts any certificate (the handshake is still
//! checked) and the server side uses a certificate made when the
//! application first listens for MSRP. Relays are a different matter:
//! their certificate is checked against their name with the
//! application's TLS trust (`MsrpEndpoint::relay_tls`).

use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::engine::tls::{client_config, server_config};
use crate::engine::TlsSettings;

/// A server configuration with a fresh self-signed certificate.
pub(crate) fn self_signed_server_config() -> Result<Arc<rustls::ServerConfig>, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let params = rcgen::CertificateParams::new(vec!["sipsimple-rs.invalid".to_owned()])
        .map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    let settings = TlsSettings {
        identity: Some((
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )),
        ..TlsSettings::default()
    };
    server_config(&settings)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no TLS identity".to_owned())
}

/// A client configuration that accepts any server certificate.
pub(crate) fn accept_any_client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    client_config(&TlsSettings::default()).map_err(|e| e.to_string())
}
