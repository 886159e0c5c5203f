//! HTTPS: rustls with the aws-lc-rs provider, and a certificate that can be replaced while the
//! server runs (SIGHUP, or the files changing on disk).
//!
//! The certificate and key are read and checked against each other by [`load`], at config load
//! (so `check-config` and a refused start name the file) and again at every reload. A reload that
//! fails keeps serving the previous certificate: a half-written file during a rotation must not
//! take the listener down.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// What can go wrong reading a certificate and its key.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file could not be read or holds no PEM certificate.
    #[error("{path}: {problem}")]
    Certificate { path: PathBuf, problem: String },
    /// The key file could not be read or holds no usable private key.
    #[error("{path}: {problem}")]
    Key { path: PathBuf, problem: String },
    /// The key does not belong to the certificate, or rustls refused the pair.
    #[error("{cert} and {key} do not make a usable pair: {problem}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        problem: String,
    },
}

/// The crypto provider idbroker uses for TLS: aws-lc-rs, always named explicitly (ring is in the
/// dependency graph too, and rustls refuses to guess between two).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Make aws-lc-rs the process-wide default provider, for any rustls user that does not take one
/// explicitly (HTTP clients fetching IdP metadata or JWKS). Call once at start; a second call is
/// harmless.
pub fn install_default_provider() {
    // Err means a provider is already installed: by an earlier call of ours, which is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Read a PEM certificate chain and private key and check that they belong together.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_err = |problem: String| TlsError::Certificate {
        path: cert.to_owned(),
        problem,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no PEM CERTIFICATE block".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        problem: e.to_string(),
    })?;
    // from_der loads the key with the provider and checks that it matches the leaf certificate.
    CertifiedKey::from_der(chain, private, &provider()).map_err(|e| TlsError::Pair {
        cert: cert.to_owned(),
        key: key.to_owned(),
        problem: e.to_string(),
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The server's certificate, replaceable at run time. rustls asks it for the certificate at every
/// handshake; connections already open keep the one they started with.
pub struct ReloadableCert {
    cert: PathBuf,
    key: PathBuf,
    // INVARIANT: always holds a pair that `load` accepted.
    current: RwLock<Current>,
}

struct Current {
    key: Arc<CertifiedKey>,
    stamps: (Option<SystemTime>, Option<SystemTime>),
}

/// What [`ReloadableCert::reload_if_changed`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    /// The files have not changed since the last load.
    Unchanged,
    /// A new certificate is being served.
    Reloaded,
}

impl fmt::Debug for ReloadableCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableCert")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ReloadableCert {
    /// Load the pair once; fails as [`load`] does.
    pub fn new(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let stamps = (modified(cert), modified(key));
        let loaded = load(cert, key)?;
        Ok(ReloadableCert {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Current {
                key: Arc::new(loaded),
                stamps,
            }),
        })
    }

    /// Read the files again and serve the new pair. On error the previous pair stays in service.
    pub fn reload(&self) -> Result<(), TlsError> {
        let stamps = (modified(&self.cert), modified(&self.key));
        let loaded = Arc::new(load(&self.cert, &self.key)?);
        match self.current.write() {
            Ok(mut cur) => {
                *cur = Current {
                    key: loaded,
                    stamps,
                }
            }
            Err(poisoned) => {
                *poisoned.into_inner() = Current {
                    key: loaded,
                    stamps,
                }
            }
        }
        Ok(())
    }

    /// Reload when either file's modification time differs from the last successful load.
    pub fn reload_if_changed(&self) -> Result<Reload, TlsError> {
        let now = (modified(&self.cert), modified(&self.key));
        let last = match self.current.read() {
            Ok(cur) => cur.stamps,
            Err(poisoned) => poisoned.into_inner().stamps,
        };
        if now == last {
            return Ok(Reload::Unchanged);
        }
        self.reload().map(|()| Reload::Reloaded)
    }

    /// The pair in service.
    pub fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(cur) => Arc::clone(&cur.key),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().key),
        }
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A rustls server configuration (TLS 1.2 and 1.3, aws-lc-rs, HTTP/1.1 by ALPN) that asks `cert`
/// for its certificate at each handshake.
pub fn server_config(cert: Arc<ReloadableCert>) -> Result<rustls::ServerConfig, TlsError> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pair {
            cert: cert.cert.clone(),
            key: cert.key.clone(),
            problem: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn dev(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("certs/dev")
            .join(name)
    }

    #[test]
    fn loads_the_dev_pair() {
        let k = load(&dev("server.crt"), &dev("server.key")).unwrap();
        assert_eq!(k.cert.len(), 2, "leaf and the dev CA");
    }

    #[test]
    fn refuses_a_key_of_another_certificate() {
        let err = load(&dev("server.crt"), &dev("ca.key")).unwrap_err();
        assert!(matches!(err, TlsError::Pair { .. }), "{err}");
    }

    #[test]
    fn refuses_missing_and_empty_files() {
        let dir = std::env::temp_dir().join(format!("idbroker-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(matches!(
            load(&empty, &dev("server.key")).unwrap_err(),
            TlsError::Certificate { .. }
        ));
        assert!(matches!(
            load(&dev("server.crt"), &empty).unwrap_err(),
            TlsError::Key { .. }
        ));
        assert!(matches!(
            load(&dir.join("absent.pem"), &dev("server.key")).unwrap_err(),
            TlsError::Certificate { .. }
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn changed_files_are_picked_up() {
        let dir = std::env::temp_dir().join(format!("idbroker-tls-poll-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (c, k) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::copy(dev("server.crt"), &c).unwrap();
        std::fs::copy(dev("server.key"), &k).unwrap();
        let r = ReloadableCert::new(&c, &k).unwrap();
        assert_eq!(r.current().cert.len(), 2);
        // Another valid pair (the dev CA's own certificate and key), with a later mtime.
        std::fs::copy(dev("ca.crt"), &c).unwrap();
        std::fs::copy(dev("ca.key"), &k).unwrap();
        // Later than the copy's own mtime (no clock read: the file system's time is the one).
        let later =
            std::fs::metadata(&c).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
        for f in [&c, &k] {
            std::fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(later)
                .unwrap();
        }
        assert_eq!(r.reload_if_changed().unwrap(), Reload::Reloaded);
        assert_eq!(r.current().cert.len(), 1);
        assert_eq!(r.reload_if_changed().unwrap(), Reload::Unchanged);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_reload_keeps_the_previous_certificate() {
        let dir = std::env::temp_dir().join(format!("idbroker-tls-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (c, k) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::copy(dev("server.crt"), &c).unwrap();
        std::fs::copy(dev("server.key"), &k).unwrap();
        let r = ReloadableCert::new(&c, &k).unwrap();
        let before = r.current();
        assert_eq!(r.reload_if_changed().unwrap(), Reload::Unchanged);
        // A rotation caught half-way: the key file is being rewritten.
        std::fs::write(&k, "-----BEGIN PRIVATE KEY-----\ntrunc").unwrap();
        assert!(r.reload().is_err());
        assert!(Arc::ptr_eq(&before, &r.current()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
