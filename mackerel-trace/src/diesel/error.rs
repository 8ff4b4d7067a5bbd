//! `error.type` for the failures diesel reports to the hook: the kind of database error
//! (`UniqueViolation`), else the kind of diesel error.
//!
//! The names are read from `Debug` and looked up here rather than matched variant by variant,
//! so that every diesel 2.x release compiles against this file whatever variants it has; an
//! unknown name falls back to the enum's.

use diesel::result::{ConnectionError, DatabaseErrorKind, Error};

/// `DatabaseErrorKind`'s variants in diesel 2.2 to 2.4.
const DATABASE_ERROR_KINDS: &[&str] = &[
    "UniqueViolation",
    "ForeignKeyViolation",
    "UnableToSendCommand",
    "SerializationFailure",
    "ReadOnlyTransaction",
    "RestrictViolation",
    "NotNullViolation",
    "CheckViolation",
    "ExclusionViolation",
    "ClosedConnection",
];

/// `diesel::result::Error`'s variants other than `DatabaseError` and `NotFound`.
const ERRORS: &[&str] = &[
    "InvalidCString",
    "QueryBuilderError",
    "DeserializationError",
    "SerializationError",
    "RollbackErrorOnCommit",
    "RollbackTransaction",
    "AlreadyInTransaction",
    "NotInTransaction",
    "BrokenTransactionManager",
    "IntegerConversion",
];

/// The `error.type` of a failed query, or `None` when the error is no failure of the query:
/// `NotFound` means the query ran and found no row.
pub(super) fn query_error_type(error: &Error) -> Option<&'static str> {
    match error {
        Error::NotFound => None,
        Error::DatabaseError(kind, _) => Some(database_error_kind(kind)),
        other => Some(known(&format!("{other:?}"), ERRORS).unwrap_or("diesel::result::Error")),
    }
}

/// `UniqueViolation`, `ForeignKeyViolation`, …; `DatabaseError` for a kind diesel does not
/// name (its `Unknown`).
fn database_error_kind(kind: &DatabaseErrorKind) -> &'static str {
    known(&format!("{kind:?}"), DATABASE_ERROR_KINDS).unwrap_or("DatabaseError")
}

/// The `error.type` of a connection that could not be established.
pub(super) fn connection_error_type(error: &ConnectionError) -> &'static str {
    match error {
        ConnectionError::InvalidCString(_) => "InvalidCString",
        ConnectionError::BadConnection(_) => "BadConnection",
        ConnectionError::InvalidConnectionUrl(_) => "InvalidConnectionUrl",
        ConnectionError::CouldntSetupConfiguration(_) => "CouldntSetupConfiguration",
        _ => "diesel::result::ConnectionError",
    }
}

/// The static name among `names` that `debug` (a `Debug` rendering) starts with, as a whole
/// word.
fn known(debug: &str, names: &[&'static str]) -> Option<&'static str> {
    let name = debug
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()?;
    names.iter().copied().find(|known| *known == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_are_named_by_their_kind() {
        let error = Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key value violates unique constraint".to_owned()),
        );
        assert_eq!(query_error_type(&error), Some("UniqueViolation"));
        let error = Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(String::new()));
        assert_eq!(query_error_type(&error), Some("DatabaseError"));
    }

    #[test]
    fn other_errors_are_named_by_their_variant_and_not_found_is_no_failure() {
        assert_eq!(query_error_type(&Error::NotFound), None);
        assert_eq!(
            query_error_type(&Error::RollbackTransaction),
            Some("RollbackTransaction")
        );
        let error = Error::DeserializationError("bad row".into());
        assert_eq!(query_error_type(&error), Some("DeserializationError"));
    }

    #[test]
    fn connection_errors_are_named_by_their_variant() {
        let error = ConnectionError::BadConnection("refused".to_owned());
        assert_eq!(connection_error_type(&error), "BadConnection");
    }
}
