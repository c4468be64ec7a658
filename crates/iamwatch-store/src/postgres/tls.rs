//! TLS to the server, when the URL asks for it (`sslmode=require`, `verify-ca`, `verify-full`):
//! rustls, the server's certificate checked against the CA file given (`sslrootcert`, or
//! libpq's `PGSSLROOTCERT`) or else the system's CAs, and its name against the host's.

use crate::StoreError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connector for [`deadpool_postgres::Manager`], trusting the certificates in `root_file` only,
/// or the system's when there is none.
pub fn connector(root_file: Option<&Path>) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(path) => {
            let unreadable = |message: String| {
                StoreError::Invalid(format!("sslrootcert {}: {message}", path.display()))
            };
            let pem = std::fs::read(path).map_err(|error| unreadable(error.to_string()))?;
            for certificate in CertificateDer::pem_slice_iter(&pem) {
                let certificate = certificate.map_err(|error| unreadable(error.to_string()))?;
                roots
                    .add(certificate)
                    .map_err(|error| unreadable(error.to_string()))?;
            }
            if roots.is_empty() {
                return Err(unreadable("holds no PEM certificate".into()));
            }
        }
        None => {
            // Certificates the system store holds but rustls cannot read are passed over, as
            // the other TLS clients here do.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            if roots.is_empty() {
                return Err(StoreError::Invalid(
                    "sslmode asks for TLS, and the system has no CA certificates: name the server's CA with sslrootcert".into(),
                ));
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| StoreError::backend("cannot set up TLS", error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The process's crypto provider if one was installed, else *ring*, the one every TLS client
/// here is built with (the HTTP clients' `rustls-ring`): `ClientConfig::builder()` would panic
/// were a second provider ever linked in.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| {
            // Deprecated from rustls 0.23.48 (no post-quantum key exchange); aws-lc-rs would
            // need cmake and a C toolchain's long build for every build of iamwatch.
            #[allow(deprecated)]
            let ring = rustls::crypto::ring::default_provider();
            Arc::new(ring)
        })
}
