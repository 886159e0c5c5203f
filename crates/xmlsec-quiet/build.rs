//! Link libxmlsec1 (found with pkg-config, as samael's build does).
fn main() {
    if let Err(e) = pkg_config::Config::new().probe("xmlsec1") {
        println!("cargo:warning=pkg-config could not find xmlsec1 ({e}); linking -lxmlsec1");
        println!("cargo:rustc-link-lib=xmlsec1");
    }
}
