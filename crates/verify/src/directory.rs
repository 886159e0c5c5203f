//! Where the verifier finds the policy documents a session refers to: the role's (or user's)
//! identity policies and permissions boundary, and managed policies by ARN. The server's
//! directory can feed one; each document is compiled once, when it is added.

use std::collections::HashMap;
use std::sync::Arc;

use idbroker_policy::{Policy, PolicyKind};

use crate::error::DirectoryError;

#[derive(Debug, Default, Clone)]
struct PrincipalPolicies {
    /// Inline policies by name, and attached managed policies, in the order added.
    identity: Vec<(String, Arc<Policy>)>,
    boundary: Option<Arc<Policy>>,
}

/// Compiled policy documents, by managed-policy ARN and by principal (a role ARN with its
/// path, or an IAM user ARN).
#[derive(Debug, Default, Clone)]
pub struct PolicyDirectory {
    managed: HashMap<String, Arc<Policy>>,
    principals: HashMap<String, PrincipalPolicies>,
}

fn compile(id: &str, text: &str, kind: PolicyKind) -> Result<Arc<Policy>, DirectoryError> {
    Policy::parse(text, kind)
        .map(|p| Arc::new(p.with_id(id.to_owned())))
        .map_err(|source| DirectoryError::Policy {
            id: id.to_owned(),
            source,
        })
}

impl PolicyDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a managed policy document under its ARN.
    pub fn add_managed_policy(&mut self, arn: &str, document: &str) -> Result<(), DirectoryError> {
        let p = compile(arn, document, PolicyKind::Identity)?;
        self.managed.insert(arn.to_owned(), p);
        Ok(())
    }

    /// Add an inline identity policy of a principal (role ARN with path, or user ARN).
    pub fn add_inline_policy(
        &mut self,
        principal_arn: &str,
        name: &str,
        document: &str,
    ) -> Result<(), DirectoryError> {
        let p = compile(name, document, PolicyKind::Identity)?;
        self.principal(principal_arn)
            .identity
            .push((name.to_owned(), p));
        Ok(())
    }

    /// Attach an already added managed policy to a principal.
    pub fn attach_managed_policy(
        &mut self,
        principal_arn: &str,
        policy_arn: &str,
    ) -> Result<(), DirectoryError> {
        let p = self.managed_policy(policy_arn)?;
        self.principal(principal_arn)
            .identity
            .push((policy_arn.to_owned(), p));
        Ok(())
    }

    /// Set a principal's permissions boundary (an already added managed policy).
    pub fn set_permissions_boundary(
        &mut self,
        principal_arn: &str,
        policy_arn: &str,
    ) -> Result<(), DirectoryError> {
        let p = self.managed_policy(policy_arn)?;
        self.principal(principal_arn).boundary = Some(p);
        Ok(())
    }

    /// Add (or replace) an already compiled managed policy under its ARN (a server that has
    /// compiled its own directory feeds it this way, without parsing the documents again).
    pub fn insert_managed_policy(&mut self, arn: &str, policy: Arc<Policy>) {
        self.managed.insert(arn.to_owned(), policy);
    }

    /// Add an already compiled identity policy of a principal, under `name` (an inline
    /// policy's name or a managed policy's ARN).
    pub fn insert_identity_policy(&mut self, principal_arn: &str, name: &str, policy: Arc<Policy>) {
        self.principal(principal_arn)
            .identity
            .push((name.to_owned(), policy));
    }

    /// Set a principal's permissions boundary to an already compiled policy.
    pub fn insert_permissions_boundary(&mut self, principal_arn: &str, policy: Arc<Policy>) {
        self.principal(principal_arn).boundary = Some(policy);
    }

    /// Set a principal's identity policies and permissions boundary from already compiled ones
    /// (a role's or user's, from the server's directory), replacing what it had. Each identity
    /// policy is known by its id ([`Policy::id`]).
    pub fn set_compiled_principal(
        &mut self,
        principal_arn: &str,
        identity: impl IntoIterator<Item = Arc<Policy>>,
        boundary: Option<Arc<Policy>>,
    ) {
        let identity = identity
            .into_iter()
            .map(|p| (p.id().to_string(), p))
            .collect();
        self.principals.insert(
            principal_arn.to_owned(),
            PrincipalPolicies { identity, boundary },
        );
    }

    fn principal(&mut self, principal_arn: &str) -> &mut PrincipalPolicies {
        self.principals.entry(principal_arn.to_owned()).or_default()
    }

    /// A managed policy by ARN.
    pub fn managed_policy(&self, arn: &str) -> Result<Arc<Policy>, DirectoryError> {
        self.managed
            .get(arn)
            .cloned()
            .ok_or_else(|| DirectoryError::UnknownPolicy(arn.to_owned()))
    }

    /// The identity policies of a principal (all of them when `only` is empty, else the named
    /// inline ones).
    pub(crate) fn identity_of(
        &self,
        principal_arn: &str,
        only: &[String],
    ) -> Option<Vec<Arc<Policy>>> {
        let pp = self.principals.get(principal_arn);
        if only.is_empty() {
            return Some(
                pp.map(|p| p.identity.iter().map(|(_, p)| p.clone()).collect())
                    .unwrap_or_default(),
            );
        }
        // Named ids must all resolve, or the session's policies cannot be known: fail closed.
        let pp = pp?;
        only.iter()
            .map(|id| {
                pp.identity
                    .iter()
                    .find(|(n, _)| n == id)
                    .map(|(_, p)| p.clone())
            })
            .collect()
    }

    /// The permissions boundary of a principal.
    pub(crate) fn boundary_of(&self, principal_arn: &str) -> Option<Arc<Policy>> {
        self.principals
            .get(principal_arn)
            .and_then(|p| p.boundary.clone())
    }
}
