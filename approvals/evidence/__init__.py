"""Evidence that the audit trail is intact, for auditors who trust nothing in the database:
a Merkle tree over the trail, signed checkpoints kept outside the database, verification runs,
inclusion proofs and the database grants that keep the application itself from rewriting it."""
