//! TLS to PostgreSQL with rustls, in node-postgres's and libpq's terms: the `ssl` option and
//! `sslmode` (disable, prefer, require, verify-ca, verify-full).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypt only (libpq `require`, pg `rejectUnauthorized: false`).
    Nothing,
    /// The chain up to a trusted CA, not the host name (libpq `verify-ca`).
    Chain,
    /// The chain and the host name (libpq `verify-full`, pg `ssl: true`).
    Full,
}

/// A node's TLS settings, from its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub verify: Verify,
    /// PEM CA certificates to trust instead of the Mozilla roots.
    pub ca: Option<String>,
    /// PEM client certificate chain and key, for certificate authentication.
    pub cert: Option<String>,
    pub key: Option<String>,
}

impl TlsSettings {
    /// No TLS at all: node-postgres's default.
    pub fn disabled() -> TlsSettings {
        TlsSettings {
            mode: SslMode::Disable,
            verify: Verify::Full,
            ca: None,
            cert: None,
            key: None,
        }
    }

    /// The settings for a libpq `sslmode`, or `None` for an unknown one.
    pub fn from_sslmode(mode: &str) -> Option<TlsSettings> {
        let (mode, verify) = match mode {
            "disable" => (SslMode::Disable, Verify::Full),
            "prefer" | "allow" => (SslMode::Prefer, Verify::Nothing),
            "require" => (SslMode::Require, Verify::Nothing),
            "verify-ca" => (SslMode::Require, Verify::Chain),
            "verify-full" => (SslMode::Require, Verify::Full),
            _ => return None,
        };
        Some(TlsSettings {
            mode,
            verify,
            ..TlsSettings::disabled()
        })
    }

    /// The connector for these settings. Fails on unreadable PEM, naming what is wrong.
    pub fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match &self.ca {
            Some(pem) => {
                let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| "ssl.ca is not a PEM certificate".to_string())?;
                if certs.is_empty() {
                    return Err("ssl.ca holds no PEM certificate".into());
                }
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| format!("ssl.ca holds a certificate rustls rejects: {e}"))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("the TLS trust store could not be built: {e}"))?;
        let verifier = Arc::new(Verifier {
            inner,
            verify: self.verify,
            provider: provider.clone(),
        });
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS is not available: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| "ssl.cert is not a PEM certificate".to_string())?;
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                    .map_err(|_| "ssl.key is not a PEM private key".to_string())?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    format!("ssl.cert and ssl.key do not make a client identity: {e}")
                })?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("ssl.cert and ssl.key go together: give both or neither".into()),
        };
        Ok(MakeRustlsConnect::new(config))
    }
}

/// Checks as much of the server's certificate as the settings ask for; handshake signatures
/// are always verified.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    verify: Verify,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.verify == Verify::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.verify == Verify::Chain => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Takes `sslmode` (and `sslrootcert`) out of a connection string, which tokio-postgres does
/// not accept in full, returning the rest and the values found.
pub fn split_sslmode(url: &str) -> (String, Option<String>, Option<String>) {
    let mut mode = None;
    let mut rootcert = None;
    let mut take = |key: &str, value: &str| match key {
        "sslmode" => {
            mode = Some(value.to_string());
            true
        }
        "sslrootcert" => {
            rootcert = Some(value.to_string());
            true
        }
        _ => false,
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), None, None);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                !take(k, v)
            })
            .collect();
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        (rest, mode, rootcert)
    } else {
        let kept: Vec<&str> = url
            .split_whitespace()
            .filter(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                !take(k.trim(), v.trim().trim_matches('\''))
            })
            .collect();
        (kept.join(" "), mode, rootcert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sslmode and sslrootcert come out of both connection-string forms; the rest stays.
    #[test]
    fn splits_sslmode() {
        let (rest, mode, root) =
            split_sslmode("postgres://u:p@h:5432/db?sslmode=verify-full&application_name=x");
        assert_eq!(rest, "postgres://u:p@h:5432/db?application_name=x");
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root, None);
        let (rest, mode, root) =
            split_sslmode("host=h sslmode=require sslrootcert=/ca.pem dbname=d");
        assert_eq!(rest, "host=h dbname=d");
        assert_eq!(mode.as_deref(), Some("require"));
        assert_eq!(root.as_deref(), Some("/ca.pem"));
        let (rest, mode, _) = split_sslmode("postgres://h/db?sslmode=disable");
        assert_eq!(rest, "postgres://h/db");
        assert_eq!(mode.as_deref(), Some("disable"));
    }

    /// Each sslmode maps to libpq's meaning.
    #[test]
    fn sslmodes() {
        assert_eq!(
            TlsSettings::from_sslmode("require").unwrap().verify,
            Verify::Nothing
        );
        assert_eq!(
            TlsSettings::from_sslmode("verify-ca").unwrap().verify,
            Verify::Chain
        );
        assert_eq!(
            TlsSettings::from_sslmode("verify-full").unwrap().verify,
            Verify::Full
        );
        assert_eq!(
            TlsSettings::from_sslmode("disable").unwrap().mode,
            SslMode::Disable
        );
        assert!(TlsSettings::from_sslmode("sometimes").is_none());
    }

    /// Bad PEM is named, never panics.
    #[test]
    fn bad_pem_is_named() {
        let settings = TlsSettings {
            ca: Some("not a certificate".into()),
            ..TlsSettings::from_sslmode("verify-full").unwrap()
        };
        let e = settings.connector().err().unwrap();
        assert!(e.contains("ssl.ca"), "{e}");
    }
}
