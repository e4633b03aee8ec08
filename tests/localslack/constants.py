"""Names shared by the stand-in's tests."""

SECRET = "test-signing-secret"
ALICE, BOB, GENERAL = "UALICE", "UBOB", "CGENERAL"
