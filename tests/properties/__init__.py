"""Property-based, metamorphic and fuzz tests of the packer's laws (issue 7, R2)."""
