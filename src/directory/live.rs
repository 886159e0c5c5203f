//! The directory in force: a whole [`Directory`] version, swapped atomically when the
//! configuration file is reloaded (SIGHUP, or the file changed). A request reads one version
//! for all it does ([`LiveDirectory::load`]): it never sees half a change.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::Directory;

/// See the module.
#[derive(Debug)]
pub struct LiveDirectory(ArcSwap<Directory>);

impl LiveDirectory {
    /// `directory` in force.
    pub fn new(directory: Directory) -> Self {
        LiveDirectory(ArcSwap::from_pointee(directory))
    }

    /// The version in force now.
    pub fn load(&self) -> Arc<Directory> {
        self.0.load_full()
    }

    /// Put `directory` in force; its [`Directory::version`] when that differs from the version
    /// it replaced (what downstream verifiers are told), `None` when it is the same.
    pub fn replace(&self, directory: Directory) -> Option<String> {
        let version = directory.version().to_owned();
        let before = self.0.swap(Arc::new(directory));
        (before.version() != version).then_some(version)
    }
}
