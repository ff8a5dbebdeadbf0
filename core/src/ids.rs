//! Identifiers. Names (SKUs, zones, apps, tenants, labels) are validated,
//! shared strings (cloning one is a reference-count increment); hosts and
//! instances are numbered.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// What is wrong with a name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("{kind} name is empty")]
    Empty {
        /// Which kind of name (`sku`, `zone`, ...).
        kind: &'static str,
    },
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("{kind} name is {len} bytes long; the maximum is {MAX_NAME_LEN}")]
    TooLong {
        /// Which kind of name.
        kind: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds a character outside `[A-Za-z0-9._:/-]`.
    #[error("{kind} name {name:?} holds {ch:?}; allowed are ASCII letters, digits and . _ : / -")]
    BadChar {
        /// Which kind of name.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The first character not allowed.
        ch: char,
    },
}

fn check_name(kind: &'static str, name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            kind,
            len: name.len(),
        });
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-')))
    {
        return Err(NameError::BadChar {
            kind,
            name: name.to_owned(),
            ch,
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Validate and build the name.
            pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
                let name = name.into();
                check_name($kind, &name)?;
                Ok(Self(std::sync::Arc::from(name)))
            }

            /// The name as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = NameError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// A SKU (host instance type) name, e.g. `ecs.g7.4xlarge`.
    SkuId,
    "sku"
);
name_type!(
    /// An availability zone name, e.g. `cn-hangzhou-h`.
    ZoneId,
    "zone"
);
name_type!(
    /// An application name.
    AppId,
    "app"
);
name_type!(
    /// A tenant (customer) name.
    TenantId,
    "tenant"
);
name_type!(
    /// A container image digest, e.g. `sha256:4f1c...` (see
    /// [`coldstart`](crate::coldstart)).
    ImageDigest,
    "image"
);
name_type!(
    /// The source of metering events: the scheduler or region that emits
    /// them (see [`Event::source`](crate::metering::Event::source)). Two
    /// sources may use the same instance ids; the meter keeps them apart.
    SourceId,
    "source"
);
name_type!(
    /// A free-form label: a SKU family, CPU vendor, feature tag (`gpu:a10`,
    /// `rdma`, `local-nvme`), accelerator model or disk class.
    Label,
    "label"
);

macro_rules! number_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub u64);
    };
}

number_type!(
    /// A host, numbered by the embedder (its machine inventory id).
    HostId
);

/// `host-7`; a planned host (see [`PLANNED_HOST_BIT`]) prints as
/// `planned-N`, N its number without the bit. Serialized, a host id is the
/// number, bit included.
impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_planned() {
            write!(f, "planned-{}", self.0 & !PLANNED_HOST_BIT)
        } else {
            write!(f, "host-{}", self.0)
        }
    }
}

/// Host ids with this bit set name planned hosts (numbered by the scheduler
/// while they are provisioned); embedders' ids must not use it.
pub const PLANNED_HOST_BIT: u64 = 1 << 63;

impl HostId {
    /// Whether this id names a planned host.
    pub const fn is_planned(self) -> bool {
        self.0 & PLANNED_HOST_BIT != 0
    }
}

number_type!(
    /// An instance, numbered by the scheduler in creation order from 1.
    InstanceId
);

/// `i-3`.
impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i-{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(SkuId::new("ecs.g7.4xlarge").is_ok());
        assert!(Label::new("gpu:a10").is_ok());
        assert_eq!(ZoneId::new(""), Err(NameError::Empty { kind: "zone" }));
        let err = AppId::new("my app").unwrap_err();
        assert_eq!(
            err,
            NameError::BadChar {
                kind: "app",
                name: "my app".into(),
                ch: ' '
            }
        );
        assert!(matches!(
            TenantId::new("x".repeat(200)),
            Err(NameError::TooLong { len: 200, .. })
        ));
    }

    #[test]
    fn names_serialize_as_strings_and_validate_on_load() {
        let id = SkuId::new("g7").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"g7\"");
        assert!(serde_json::from_str::<SkuId>("\"bad name\"").is_err());
        assert_eq!(HostId(7).to_string(), "host-7");
        assert_eq!(serde_json::to_string(&InstanceId(3)).unwrap(), "3");
    }

    #[test]
    fn planned_hosts_print_as_planned() {
        let planned = HostId(PLANNED_HOST_BIT | 1);
        assert_eq!(planned.to_string(), "planned-1");
        assert_eq!(HostId(PLANNED_HOST_BIT).to_string(), "planned-0");
        assert_eq!(
            HostId(u64::MAX >> 1).to_string(),
            format!("host-{}", u64::MAX >> 1)
        );
        // The serialized form stays the number, bit included.
        assert_eq!(
            serde_json::to_string(&planned).unwrap(),
            "9223372036854775809"
        );
        let back: HostId = serde_json::from_str("9223372036854775809").unwrap();
        assert_eq!(back, planned);
    }
}
